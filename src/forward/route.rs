//! Routing: which upstreams receive a submission, decided by its service identifier, message
//! type or destination.
//!
//! Routes are typed data: the configuration layer (owned by the pipeline) builds them with the
//! plain constructors here, so this module needs no serde. The first route whose every given
//! criterion matches wins; when none matches, the table's default upstreams receive the
//! submission. Every upstream a route names must be declared in the table, which is checked
//! once, in [`RouteTable::new`].

use std::collections::BTreeSet;

use super::upstream::UpstreamSpec;

/// What a submission is routed by. Fields the pipeline does not know are `None`; a criterion on
/// an unknown field never matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteKey<'a> {
    /// The service identifier (`publicService` / leika key or `serviceType` identifier).
    pub service_identifier: Option<&'a str>,
    /// The message type (`message.type` of the envelope, e.g. `baugenehmigung.antrag.0200`).
    pub message_type: Option<&'a str>,
    /// The FIT-Connect destination id.
    pub destination_id: Option<&'a str>,
}

/// A pattern on one routing field: the exact value, or a prefix when it ends with `*`
/// (`urn:de:fim:leika:leistung:99*`). A lone `*` matches any present value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// A pattern from its text form.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Whether `value` matches.
    #[must_use]
    pub fn matches(&self, value: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => value.starts_with(prefix),
            None => value == self.0,
        }
    }
}

/// The criteria of one route; every criterion given must match (an empty match matches
/// everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteMatch {
    /// On the service identifier.
    pub service_identifier: Option<Pattern>,
    /// On the message type.
    pub message_type: Option<Pattern>,
    /// On the destination id.
    pub destination_id: Option<Pattern>,
}

impl RouteMatch {
    fn matches(&self, key: &RouteKey<'_>) -> bool {
        let one = |pattern: &Option<Pattern>, value: Option<&str>| match pattern {
            None => true,
            Some(p) => value.is_some_and(|v| p.matches(v)),
        };
        one(&self.service_identifier, key.service_identifier)
            && one(&self.message_type, key.message_type)
            && one(&self.destination_id, key.destination_id)
    }
}

/// One route: submissions matching `when` go to every upstream in `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The criteria.
    pub when: RouteMatch,
    /// Upstream names (declared in the [`RouteTable`]); at least one.
    pub to: Vec<String>,
}

/// Why a route table is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Two upstreams share a name.
    #[error("upstream {0:?} is declared twice")]
    DuplicateUpstream(String),
    /// A route or the default names an upstream that is not declared.
    #[error("route {route} names the undeclared upstream {name:?}")]
    UnknownUpstream {
        /// The route's position (1-based), or `default`.
        route: String,
        /// The unknown name.
        name: String,
    },
    /// A route sends to no upstream.
    #[error("route {0} has no upstream")]
    EmptyRoute(usize),
    /// An upstream name is empty, longer than 64 bytes or not `[A-Za-z0-9._-]`.
    #[error("upstream name {0:?} must be 1-64 characters of A-Z a-z 0-9 . _ -")]
    BadName(String),
}

/// The upstreams and the routes to them. Immutable once built.
#[derive(Debug, Clone)]
pub struct RouteTable {
    upstreams: Vec<UpstreamSpec>,
    routes: Vec<Route>,
    default: Vec<String>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl RouteTable {
    /// Builds the table, checking that names are unique and well-formed and every route names
    /// declared upstreams. `default` may be empty: unmatched submissions then get no outbox job
    /// (the pipeline decides whether that is an error).
    ///
    /// # Errors
    /// Every [`RouteError`] found, in order.
    pub fn new(
        upstreams: Vec<UpstreamSpec>,
        routes: Vec<Route>,
        default: Vec<String>,
    ) -> Result<Self, Vec<RouteError>> {
        let mut errors = Vec::new();
        let mut names = BTreeSet::new();
        for u in &upstreams {
            if !valid_name(&u.name) {
                errors.push(RouteError::BadName(u.name.clone()));
            } else if !names.insert(u.name.as_str()) {
                errors.push(RouteError::DuplicateUpstream(u.name.clone()));
            }
        }
        let mut check = |route: String, to: &[String]| {
            for name in to {
                if !names.contains(name.as_str()) {
                    errors.push(RouteError::UnknownUpstream {
                        route: route.clone(),
                        name: name.clone(),
                    });
                }
            }
        };
        for (i, r) in routes.iter().enumerate() {
            check((i + 1).to_string(), &r.to);
        }
        check("default".to_owned(), &default);
        for (i, r) in routes.iter().enumerate() {
            if r.to.is_empty() {
                errors.push(RouteError::EmptyRoute(i + 1));
            }
        }
        if errors.is_empty() {
            Ok(Self {
                upstreams,
                routes,
                default,
            })
        } else {
            Err(errors)
        }
    }

    /// A table with one upstream that receives everything.
    #[must_use]
    pub fn single(upstream: UpstreamSpec) -> Self {
        let default = vec![upstream.name.clone()];
        Self {
            upstreams: vec![upstream],
            routes: Vec::new(),
            default,
        }
    }

    /// The upstream names a submission is routed to (for
    /// [`crate::store::NewSubmission::upstreams`]): those of the first matching route, else the
    /// default.
    #[must_use]
    pub fn route(&self, key: &RouteKey<'_>) -> &[String] {
        self.routes
            .iter()
            .find(|r| r.when.matches(key))
            .map_or(&self.default, |r| &r.to)
    }

    /// The declared upstreams.
    #[must_use]
    pub fn upstreams(&self) -> &[UpstreamSpec] {
        &self.upstreams
    }

    /// The declared upstream of this name.
    #[must_use]
    pub fn upstream(&self, name: &str) -> Option<&UpstreamSpec> {
        self.upstreams.iter().find(|u| u.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::upstream::FileDropUpstream;

    fn up(name: &str) -> UpstreamSpec {
        UpstreamSpec::file_drop(name, FileDropUpstream::new("/nonexistent"))
    }

    fn table() -> RouteTable {
        RouteTable::new(
            vec![up("bau"), up("gewerbe"), up("archiv"), up("kreis")],
            vec![
                Route {
                    when: RouteMatch {
                        message_type: Some(Pattern::new("baugenehmigung.*")),
                        ..RouteMatch::default()
                    },
                    to: vec!["bau".to_owned(), "archiv".to_owned()],
                },
                Route {
                    when: RouteMatch {
                        service_identifier: Some(Pattern::new("urn:de:fim:leika:leistung:9905*")),
                        destination_id: Some(Pattern::new("d-1")),
                        ..RouteMatch::default()
                    },
                    to: vec!["gewerbe".to_owned()],
                },
                Route {
                    when: RouteMatch {
                        destination_id: Some(Pattern::new("d-2")),
                        ..RouteMatch::default()
                    },
                    to: vec!["kreis".to_owned()],
                },
            ],
            vec!["archiv".to_owned()],
        )
        .expect("valid table")
    }

    #[test]
    fn first_matching_route_wins_else_default() {
        let t = table();
        let key = |s, m, d| RouteKey {
            service_identifier: s,
            message_type: m,
            destination_id: d,
        };
        assert_eq!(
            t.route(&key(None, Some("baugenehmigung.antrag.0200"), Some("d-2"))),
            ["bau", "archiv"]
        );
        assert_eq!(
            t.route(&key(
                Some("urn:de:fim:leika:leistung:99050012104000"),
                None,
                Some("d-1")
            )),
            ["gewerbe"]
        );
        // All criteria of a route must match: right service, wrong destination.
        assert_eq!(
            t.route(&key(
                Some("urn:de:fim:leika:leistung:99050012104000"),
                None,
                Some("d-3")
            )),
            ["archiv"]
        );
        // A criterion on an absent field does not match.
        assert_eq!(t.route(&key(None, None, None)), ["archiv"]);
        assert_eq!(t.route(&key(None, None, Some("d-2"))), ["kreis"]);
    }

    #[test]
    fn refuses_unknown_duplicate_bad_names_and_empty_routes() {
        let errors = RouteTable::new(
            vec![up("a"), up("a"), up("b/../x")],
            vec![Route {
                when: RouteMatch::default(),
                to: vec![],
            }],
            vec!["nope".to_owned()],
        )
        .expect_err("invalid");
        assert_eq!(
            errors,
            [
                RouteError::DuplicateUpstream("a".to_owned()),
                RouteError::BadName("b/../x".to_owned()),
                RouteError::UnknownUpstream {
                    route: "default".to_owned(),
                    name: "nope".to_owned()
                },
                RouteError::EmptyRoute(1),
            ]
        );
    }
}
