//! How the metadata describe the content, the one place of these rules for a submission
//! (`pipeline::check`) and for a reply (`reply_inbox`): a declared hash names the content's
//! SHA-512, and the attachments listed in `contentStructure` are exactly those downloaded (and
//! those the delivery service announced), each listed once.
//!
//! Attachment ids are UUIDs, compared case-insensitively (in lower case).

use std::collections::BTreeSet;

use super::Hash;
use crate::fitconnect::hash::HASH_TYPE;

/// Whether `declared` names the content whose SHA-512 (lowercase hex) is `actual_hex`: the type
/// is `sha512` and the hex is equal, compared in constant time. No value switches the
/// comparison off.
#[must_use]
pub fn hash_matches(declared: &Hash, actual_hex: &str) -> bool {
    declared.hash_type == HASH_TYPE
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            actual_hex.as_bytes(),
            declared.content.as_bytes(),
        )
        .is_ok()
}

/// What is wrong with the set of attachments ([`attachment_set`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachmentSet {
    /// An attachment listed twice, downloaded twice (ids differing only in case), downloaded
    /// or announced but not listed: `attachments-unexpected`.
    pub unexpected: bool,
    /// An attachment listed but not downloaded: `attachments-missing`.
    pub missing: bool,
}

/// Compares the attachment ids `listed` in the metadata with those `downloaded` and, when the
/// delivery service names them, those `announced` for the submission.
pub fn attachment_set<'a>(
    listed: impl IntoIterator<Item = &'a str>,
    downloaded: impl IntoIterator<Item = &'a str>,
    announced: Option<&[&str]>,
) -> AttachmentSet {
    let lower = |id: &str| id.to_ascii_lowercase();
    let mut twice = false;
    let mut listed_set = BTreeSet::new();
    for id in listed {
        twice |= !listed_set.insert(lower(id));
    }
    let mut got = BTreeSet::new();
    for id in downloaded {
        twice |= !got.insert(lower(id));
    }
    let unlisted = |id: &String| !listed_set.contains(id);
    AttachmentSet {
        unexpected: twice
            || got.iter().any(unlisted)
            || announced.is_some_and(|a| a.iter().map(|id| lower(id)).any(|id| unlisted(&id))),
        missing: listed_set.iter().any(|id| !got.contains(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitconnect::hash::{EMPTY_SHA512_HEX, sha512_hex};

    fn hash(t: &str, c: &str) -> Hash {
        Hash {
            hash_type: t.to_owned(),
            content: c.to_owned(),
        }
    }

    #[test]
    fn a_declared_hash_matches_only_the_content_it_names() {
        let x = sha512_hex(b"x");
        assert!(hash_matches(&hash("sha512", &x), &x));
        assert!(!hash_matches(&hash("sha256", &x), &x), "type");
        assert!(
            !hash_matches(&hash("sha512", &x.to_uppercase()), &x),
            "case"
        );
        // The empty placeholder is a hash like any other here.
        assert!(!hash_matches(&hash("sha512", EMPTY_SHA512_HEX), &x));
    }

    #[test]
    fn the_attachment_set_is_exactly_the_listed_one() {
        let a = "6f1e2c9a-0000-4000-8000-000000000001";
        let b = "6f1e2c9a-0000-4000-8000-000000000002";
        let upper = a.to_ascii_uppercase();
        let ok = AttachmentSet::default();
        assert_eq!(attachment_set([a, b], [b, a], Some(&[a, b])), ok);
        assert_eq!(attachment_set([a], [upper.as_str()], None), ok, "case");
        let unexpected = AttachmentSet {
            unexpected: true,
            missing: false,
        };
        assert_eq!(attachment_set([a], [a, b], None), unexpected);
        assert_eq!(attachment_set([a], [a], Some(&[a, b])), unexpected);
        assert_eq!(
            attachment_set([a, a], [a], None),
            unexpected,
            "listed twice"
        );
        assert_eq!(
            attachment_set([a], [a, upper.as_str()], None),
            unexpected,
            "downloaded twice"
        );
        assert_eq!(
            attachment_set([a, b], [a], None),
            AttachmentSet {
                unexpected: false,
                missing: true
            }
        );
    }
}
