//! Security Event Tokens: `set::verify` against a signing oracle and a reference written from
//! the FIT-Connect rules (protocol notes §3.3), and the event-log check of a capture against
//! the SETs verified one by one.

use serde::Deserialize as _;
use serde_json::{Map, Value, json};

use super::fixtures::{self, DELIVERY_SERVICE_ISS, DESTINATION_ID, NOW, Signer};
use super::input::Input;
use crate::config::JoseLimits;
use crate::fitconnect::set::{self, StaticKeys, VerifiedSet};

/// The first byte of a raw-token input; any other first byte selects the signing oracle.
pub(crate) const RAW: u8 = 0;

const PREFIX: &str = "https://schema.fitko.de/fit-connect/events/";
const SUBMIT: &str = "https://schema.fitko.de/fit-connect/events/submit-submission";
const ACCEPT: &str = "https://schema.fitko.de/fit-connect/events/accept-submission";
const REJECT: &str = "https://schema.fitko.de/fit-connect/events/reject-submission";

/// The keys a gateway would know: the delivery service's under its issuer URL and the
/// destination's under its id.
pub(crate) fn resolver() -> &'static StaticKeys {
    static KEYS: std::sync::OnceLock<StaticKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| StaticKeys {
        delivery_service: vec![(
            DELIVERY_SERVICE_ISS.to_owned(),
            Signer::Delivery.key().kid().to_owned(),
            Signer::Delivery.key().public_key().clone(),
        )],
        destinations: vec![(
            DESTINATION_ID.to_owned(),
            Signer::Destination.key().kid().to_owned(),
            Signer::Destination.key().public_key().clone(),
        )],
    })
}

/// The reference's answer.
#[derive(Debug, PartialEq)]
pub(crate) enum Expect {
    /// Must verify, to exactly these claims.
    Accept(Box<VerifiedSet>),
    /// Must be refused.
    Refuse(&'static str),
    /// The reference cannot tell (a rule it does not model).
    Unknown,
}

/// Top-level member names in order, duplicates kept; `None` unless a JSON object.
fn member_names(json: &[u8]) -> Option<Vec<String>> {
    struct Names(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Names {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Names;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Names, A::Error> {
                    let mut names = Vec::new();
                    while let Some((k, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                        names.push(k);
                    }
                    Ok(Names(names))
                }
            }
            d.deserialize_map(V)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let names = Names::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(names.0)
}

/// Whether an object anywhere in `json` (nested ones too) names a member twice, names compared
/// after unescaping; `false` for text that is not JSON.
fn has_duplicate_member(json: &[u8]) -> bool {
    use serde::de::{DeserializeSeed, Error, MapAccess, SeqAccess, Visitor};
    const DUPLICATE: &str = "duplicate member";
    #[derive(Clone, Copy)]
    struct Check;
    impl<'de> DeserializeSeed<'de> for Check {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Check {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(self)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(name) = map.next_key::<String>()? {
                if !seen.insert(name) {
                    return Err(A::Error::custom(DUPLICATE));
                }
                map.next_value_seed(self)?;
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    Check
        .deserialize(&mut de)
        .is_err_and(|e| e.to_string().starts_with(DUPLICATE))
}

fn has_duplicates(names: &[String]) -> bool {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// RFC 4122 text form, hex digits in either case.
fn uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The `x.y.z` of a set-payload schema URI.
fn version_part(uri: &str) -> Option<&str> {
    uri.strip_prefix("https://schema.fitko.de/fit-connect/set-payload/")?
        .strip_suffix("/set-payload.schema.json")
}

/// `1.<minor>.<patch>` of a set-payload schema URI.
fn schema_minor(uri: &str) -> Option<u64> {
    let v = version_part(uri)?;
    let parts: Vec<&str> = v.split('.').collect();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3 || parts[0] != "1" || !parts.iter().all(|p| digits(p)) {
        return None;
    }
    parts[1]
        .parse()
        .ok()
        .filter(|_| parts[2].parse::<u64>().is_ok())
}

/// A 16-byte tag as 22 strict base64url characters.
fn tag_ok(v: &Value) -> bool {
    v.as_str().is_some_and(|t| {
        t.len() == 22 && crate::jose::base64url::decode(t).is_some_and(|b| b.len() == 16)
    })
}

fn tags_ok(payload: &Value) -> bool {
    let Some(Value::Object(tags)) = payload.get("authenticationTags") else {
        return false;
    };
    tags.keys()
        .all(|k| ["metadata", "data", "attachments"].contains(&k.as_str()))
        && tags.get("metadata").is_some_and(tag_ok)
        && tags.get("data").is_none_or(|d| d.is_null() || tag_ok(d))
        && match tags.get("attachments") {
            None => true,
            Some(Value::Object(a)) => a.iter().all(|(id, t)| uuid(id) && tag_ok(t)),
            Some(_) => false,
        }
}

/// Every problem is `{type, title, detail, instance}`, all strings, nothing else.
fn problems_ok(payload: &Value) -> bool {
    let Some(Value::Array(problems)) = payload.get("problems") else {
        return false;
    };
    !problems.is_empty()
        && problems.iter().all(|p| {
            p.as_object().is_some_and(|o| {
                o.len() == 4
                    && ["type", "title", "detail", "instance"]
                        .iter()
                        .all(|k| o.get(*k).is_some_and(Value::is_string))
            })
        })
}

/// The header rules: a JSON object with unique members, no `crit`, `alg` PS512, none of the
/// members that inject keys or belong to JWE, `kid` a string, `typ` exactly `secevent+jwt`.
/// The `kid` when they hold.
fn header_kid(header: &[u8]) -> Result<String, &'static str> {
    let names = member_names(header).ok_or("header not a JSON object")?;
    if has_duplicates(&names) {
        return Err("duplicate header member");
    }
    let h: Map<String, Value> = serde_json::from_slice(header).map_err(|_| "header")?;
    if h.contains_key("crit") {
        return Err("crit");
    }
    if h.get("alg") != Some(&json!("PS512")) {
        return Err("alg");
    }
    let forbidden = ["jku", "jwk", "x5u", "x5c", "b64", "enc", "zip"];
    if forbidden.iter().any(|m| h.contains_key(*m)) {
        return Err("forbidden header member");
    }
    let kid = h
        .get("kid")
        .and_then(Value::as_str)
        .ok_or("kid")?
        .to_owned();
    for optional in ["typ", "cty"] {
        if h.get(optional).is_some_and(|v| !v.is_string()) {
            return Err("header member type");
        }
    }
    if h.get("typ") != Some(&json!("secevent+jwt")) {
        return Err("typ");
    }
    Ok(kid)
}

/// What a SET signed by `signer` over `header` and `payload` must yield at [`NOW`].
pub(crate) fn reference(header: &[u8], payload: &[u8], signer: Option<Signer>) -> Expect {
    use Expect::{Refuse, Unknown};
    let kid = match header_kid(header) {
        Ok(k) => k,
        Err(why) => return Refuse(why),
    };
    if member_names(payload).is_none() {
        return Refuse("payload not a JSON object");
    }
    if has_duplicate_member(payload) {
        // Issue 19: a member named twice, at any depth, is refused (no "last one wins").
        return Refuse("duplicate member");
    }
    // Member names alone do not check string contents (UTF-8, escapes).
    let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(payload) else {
        return Refuse("payload not JSON");
    };
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return Refuse("iss");
    };
    let issuer = if uuid(iss) {
        set::Issuer::Destination(iss.to_owned())
    } else if iss.starts_with("https://") || iss.starts_with("http://") {
        set::Issuer::DeliveryService(iss.to_owned())
    } else {
        return Refuse("iss");
    };
    let owner = match &issuer {
        set::Issuer::DeliveryService(u) if u == DELIVERY_SERVICE_ISS => Signer::Delivery,
        // Destination ids are UUIDs, compared without regard to case (`set::StaticKeys`).
        set::Issuer::Destination(d) if d.eq_ignore_ascii_case(DESTINATION_ID) => {
            Signer::Destination
        }
        _ => return Refuse("no key for the issuer"),
    };
    if kid != owner.key().kid() {
        return Refuse("no key for the kid");
    }
    if signer != Some(owner) {
        return Refuse("signature");
    }
    let minor = match claims.get("$schema") {
        None => None,
        // Version numbers beyond u32 are the implementation's choice.
        Some(Value::String(s))
            if version_part(s).is_some_and(|v| v.split('.').any(|p| p.len() > 9)) =>
        {
            return Unknown;
        }
        Some(Value::String(s)) => match schema_minor(s) {
            Some(m) => Some(m),
            None => return Refuse("$schema"),
        },
        Some(_) => return Refuse("$schema"),
    };
    let string = |name: &str| claims.get(name).and_then(Value::as_str);
    let Some(jti) = string("jti").filter(|j| uuid(j)) else {
        return Refuse("jti");
    };
    let Some(iat) = claims.get("iat").and_then(Value::as_i64) else {
        return Refuse("iat");
    };
    if !(set::MIN_IAT..=NOW + set::MAX_IAT_SKEW_SECS).contains(&iat) {
        return Refuse("iat range");
    }
    let Some(sub) = string("sub") else {
        return Refuse("sub");
    };
    let replies = minor.is_none_or(|m| m >= 2);
    let sub_ok = sub.strip_prefix("submission:").is_some_and(uuid)
        || replies && sub.strip_prefix("reply:").is_some_and(uuid);
    if !sub_ok {
        return Refuse("sub");
    }
    let Some(txn) = string("txn").filter(|t| t.strip_prefix("case:").is_some_and(uuid)) else {
        return Refuse("txn");
    };
    let Some(Value::Object(events)) = claims.get("events") else {
        return Refuse("events");
    };
    if events.len() != 1 {
        return Refuse("event count");
    }
    let (event, event_payload) = events.iter().next().expect("one event");
    if !event.starts_with(PREFIX) || !event_payload.is_object() {
        return Refuse("event");
    }
    if minor.is_some() {
        if (event == SUBMIT || event == ACCEPT) && !tags_ok(event_payload) {
            return Refuse("authenticationTags");
        }
        if event == REJECT && !problems_ok(event_payload) {
            return Refuse("problems");
        }
    }
    Expect::Accept(Box::new(VerifiedSet {
        // The reference judges header and payload; the token is compared without it.
        token: String::new(),
        kid,
        issuer,
        jti: jti.to_owned(),
        iat,
        sub: sub.to_owned(),
        txn: txn.to_owned(),
        schema: claims
            .get("$schema")
            .and_then(Value::as_str)
            .map(str::to_owned),
        event: event.clone(),
        payload: event_payload.clone(),
    }))
}

/// Header variants of the signing oracle; `KID` becomes a kid chosen by the input.
const HEADERS: &[&str] = &[
    r#"{"alg":"PS512","kid":KID,"typ":"secevent+jwt"}"#,
    r#"{"typ":"secevent+jwt","kid":KID,"alg":"PS512"}"#,
    r#"{"alg":"PS512","kid":KID}"#,
    r#"{"alg":"PS512","kid":KID,"typ":"JWT"}"#,
    r#"{"alg":"RS512","kid":KID,"typ":"secevent+jwt"}"#,
    r#"{"alg":"PS512","typ":"secevent+jwt"}"#,
    r#"{"alg":"PS512","kid":KID,"typ":"secevent+jwt","crit":["exp"]}"#,
    r#"{"alg":"PS512","kid":KID,"typ":"secevent+jwt","jwk":{}}"#,
    r#"{"alg":"PS512","kid":KID,"kid":KID,"typ":"secevent+jwt"}"#,
    r#"{"alg":"PS512","kid":KID,"typ":"secevent+jwt","cty":"json"}"#,
    r#"{"alg":"PS512","kid":[KID],"typ":"secevent+jwt"}"#,
    r#"{"alg":"PS512","kid":KID,"typ":"secevent+jwt","zip":"DEF"}"#,
];

const SIGNERS: &[Signer] = &[Signer::Delivery, Signer::Destination, Signer::Unrelated];

/// `v` with its token left out, as the reference gives it.
fn without_token(v: VerifiedSet) -> VerifiedSet {
    VerifiedSet {
        token: String::new(),
        ..v
    }
}

/// SET property. Raw mode (first byte 0): `set::verify` of arbitrary text at the suite's
/// "now" never panics and accepts only what the reference accepts. Oracle mode: a header
/// variant, a signer and a kid chosen by the input, the rest of the input as the payload,
/// signed with the suite's test key, optionally one byte changed afterwards; `set::verify`
/// accepts exactly when the reference (the header rules, key resolution by `iss` and `kid`,
/// the claim rules of set-payload 1.x and the event payload rules) does, with the same claims,
/// and never a changed token.
pub fn set_verify(data: &[u8]) {
    let limits = JoseLimits::default();
    let mut input = Input::new(data);
    if input.byte() == RAW {
        let Ok(token) = std::str::from_utf8(input.rest()) else {
            return;
        };
        let result = set::verify(token, resolver(), &limits, NOW);
        if let Ok(verified) = result {
            let parts: Vec<&str> = token.split('.').collect();
            let decode = |p: &str| crate::jose::base64url::decode(p).unwrap_or_default();
            let signer = [Signer::Delivery, Signer::Destination]
                .into_iter()
                .find(|s| s.key().kid() == verified.kid);
            let expected = reference(&decode(parts[0]), &decode(parts[1]), signer);
            assert!(
                matches!(&expected, Expect::Accept(e) if **e == without_token(verified))
                    || expected == Expect::Unknown,
                "accepted a SET the reference refuses: {expected:?}"
            );
        }
        return;
    }
    let template = *input.pick(HEADERS);
    let signer = *input.pick(SIGNERS);
    let kid = input.pick(SIGNERS).key().kid();
    let edit = input.flag().then(|| (input.u16(), input.byte()));
    let header = template.replace("KID", &format!("\"{kid}\""));
    let payload = input.rest();
    let token = fixtures::sign_compact(signer, header.as_bytes(), payload);
    let mut bytes = token.clone().into_bytes();
    if let Some((at, x)) = edit
        && x != 0
    {
        let i = usize::from(at) % bytes.len();
        bytes[i] ^= x;
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    let result = set::verify(text, resolver(), &limits, NOW);
    if text != token {
        assert!(result.is_err(), "a changed SET verified");
        return;
    }
    let signer = (signer != Signer::Unrelated).then_some(signer);
    match (reference(header.as_bytes(), payload, signer), result) {
        (Expect::Unknown, _) => {}
        (Expect::Accept(e), Ok(v)) => {
            assert_eq!(v.token, text, "the verified token");
            assert_eq!(*e, without_token(v), "verified to other claims");
        }
        (Expect::Refuse(_), Err(_)) => {}
        (e, r) => panic!("reference {e:?}, set::verify {r:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::fixtures::{CASE_ID, SUBMISSION_ID};

    fn claims() -> Value {
        json!({"$schema": set::PayloadSchema::default().uri(), "jti": "6a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e02",
            "iss": DELIVERY_SERVICE_ISS, "iat": NOW - 60,
            "sub": format!("submission:{SUBMISSION_ID}"), "txn": format!("case:{CASE_ID}"),
            "events": {SUBMIT: {"authenticationTags": {"metadata": "rJzLKF3ApPQN-gUfK-Ahgw"}}}})
    }

    /// Campaign finding (set_verify, 645,667 runs): a destination SET whose `iss` is the
    /// destination id with an upper-case hex digit. `set::verify` resolves destination ids
    /// without regard to case (UUIDs), the reference compared them exactly and demanded a
    /// refusal: the reference was wrong. The input as found: oracle mode, header 0, signed by
    /// the destination with its kid, unchanged, then the payload.
    #[test]
    fn an_upper_case_destination_issuer_finds_the_destination_key() {
        let payload = "{\"$%schema\":\"https://schema.fitko.de/fit-connect/set-payload/1.0.0/set-payload.schema.json\",\"jti\":\"6a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e02\",\"iss\":\"879ee109-a690-4db8-ab32-424284184D7d\",\"iat\":1767225540,\"sub\":\"submission:ce75a6b8-d72f-4b94-b09e-af6be35bc2ae\",\"txn\":\"case:e89e107e-ed79-40e6-ad34-4e770f9df263\",\"events\":{\"https://schema.fitko.de/fit-connect/events/reject-submission\":{\"pr1blems\":[{\"type\":\"https://schema.fitko.de/fit-c-424284184D7d\",\"iat\":1767225540,\"sub\":\"submission:ce75a6b8-dd\",\"instance\":\"data\"}]}}}";
        let mut input = vec![1, 0, 1, 1, 0];
        input.extend_from_slice(payload.as_bytes());
        let kid = Signer::Destination.key().kid();
        let header = format!(r#"{{"alg":"PS512","kid":"{kid}","typ":"secevent+jwt"}}"#);
        assert!(
            matches!(
                reference(header.as_bytes(), payload.as_bytes(), Some(Signer::Destination)),
                Expect::Accept(ref v) if v.issuer == set::Issuer::Destination(
                    "879ee109-a690-4db8-ab32-424284184D7d".into())
            ),
            "the reference finds the key"
        );
        set_verify(&input);
    }

    /// Campaign finding (set_verify, 621,438 runs): the reference looked for duplicate member
    /// names at the top level only and accepted a payload whose problem object names `title`,
    /// `detail` and `instance` twice; `set::verify` refuses it (duplicate member), as issue 19
    /// wants. The verifier was right; the input as found.
    #[test]
    fn a_member_named_twice_in_a_nested_object_is_refused() {
        let payload = concat!(
            r#"{"$yschema":"https://schema.fitko.de/fit-connect/set-payload/1.0.0/set-payload.schema.json","#,
            r#""jti":"7a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e02","iss":"879ee109-a690-4db8-ab32-424284184d7d","#,
            r#""iat":1767225540,"sub":"submission:ce75a6b8-d72f-4b94-b09e-af6be35bc2ae","#,
            r#""txn":"case:e88e107e-ed79-40e6-ad34-4e770f9df263","#,
            r#""eveps://schema.fitko.de/fit-connn":"case:e98e107e-ed79-40e6-ad34-4e770f9df263","#,
            r#""events":{"https://schema.fitko.de/fit-connect/events/reject-submission":{"poblems":["#,
            r#"{"kide":"hvtps://schemait.fo.kde//fit-connect/events/prob)lems/hash-mismatch","#,
            r#""title":"t","detail":"d","instance":"datat-connect/events/prob)lems/hash-mismatch","#,
            r#""title":"t","detail":"d","instance":"data"}]}}}"#
        );
        let kid = Signer::Destination.key().kid();
        let header = format!(r#"{{"alg":"PS512","kid":"{kid}","typ":"secevent+jwt"}}"#);
        assert_eq!(
            reference(
                header.as_bytes(),
                payload.as_bytes(),
                Some(Signer::Destination)
            ),
            Expect::Refuse("duplicate member")
        );
        let mut input = vec![1, 0, 1, 1, 0];
        input.extend_from_slice(payload.as_bytes());
        set_verify(&input);
        // Names compare after unescaping, at any depth; distinct names pass.
        assert!(has_duplicate_member(br#"{"a":[{"b":1,"\u0062":2}]}"#));
        assert!(!has_duplicate_member(br#"{"a":{"b":1},"c":{"b":1}}"#));
        assert!(!has_duplicate_member(b"not json"));
    }

    #[test]
    fn reference_accepts_a_valid_submit_event_and_refuses_its_variants() {
        let header = br#"{"alg":"PS512","kid":"K","typ":"secevent+jwt"}"#;
        let kid = Signer::Delivery.key().kid();
        let header = String::from_utf8_lossy(header).replace("\"K\"", &format!("\"{kid}\""));
        let ok = serde_json::to_vec(&claims()).expect("json");
        assert!(matches!(
            reference(header.as_bytes(), &ok, Some(Signer::Delivery)),
            Expect::Accept(_)
        ));
        assert_eq!(
            reference(header.as_bytes(), &ok, Some(Signer::Destination)),
            Expect::Refuse("signature")
        );
        let mut c = claims();
        c["iat"] = json!(NOW + 301);
        let bad = serde_json::to_vec(&c).expect("json");
        assert_eq!(
            reference(header.as_bytes(), &bad, Some(Signer::Delivery)),
            Expect::Refuse("iat range")
        );
    }
}
