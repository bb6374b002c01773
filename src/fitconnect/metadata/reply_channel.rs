//! `replyChannel`: the one channel on which the applicant wants answers.
//!
//! Every version holds exactly one channel. Which channel names a version declares differs
//! (2.x adds `fitConnect` and `idBundDeMailbox`); a name the document's version does not
//! declare is valid there with any value, so it is kept as [`ReplyChannel::Undeclared`] with
//! its name only, never typed.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::model::Generation;

/// The reply channel chosen in the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyChannel {
    /// `eMail`.
    EMail(EMail),
    /// `deMail`.
    DeMail(DeMail),
    /// `fink` (deprecated in 2.x).
    Fink(Fink),
    /// `elster`.
    Elster(Elster),
    /// `fitConnect` (2.x): answers come back over FIT-Connect, encrypted with the sender's key.
    FitConnect(FitConnect),
    /// `idBundDeMailbox` (2.x): the DeutschlandID mailbox.
    IdBundDeMailbox(IdBundDeMailbox),
    /// A channel name the document's schema version does not declare (its value is not read).
    Undeclared {
        /// The member name as sent.
        name: String,
    },
}

impl ReplyChannel {
    /// The member name on the wire (`eMail`, `deMail`, `fink`, `elster`, `fitConnect`,
    /// `idBundDeMailbox`, or the undeclared name), as destinations list their reply channels.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            ReplyChannel::EMail(_) => "eMail",
            ReplyChannel::DeMail(_) => "deMail",
            ReplyChannel::Fink(_) => "fink",
            ReplyChannel::Elster(_) => "elster",
            ReplyChannel::FitConnect(_) => "fitConnect",
            ReplyChannel::IdBundDeMailbox(_) => "idBundDeMailbox",
            ReplyChannel::Undeclared { name } => name,
        }
    }

    /// Types the `replyChannel` member of a document that `generation`'s schema accepted.
    ///
    /// # Errors
    /// `Err(())` when a declared channel does not fit its type: impossible for a document
    /// the schema accepted (a schema/model mismatch, reported as such by the caller).
    pub(super) fn read(value: &Value, generation: Generation) -> Result<Option<Self>, ()> {
        let Some((name, channel)) = value.as_object().and_then(|o| o.iter().next()) else {
            return Ok(None);
        };
        let v2 = generation == Generation::V2;
        Ok(Some(match name.as_str() {
            "eMail" => ReplyChannel::EMail(typed(channel)?),
            "deMail" => ReplyChannel::DeMail(typed(channel)?),
            "fink" => ReplyChannel::Fink(typed(channel)?),
            "elster" => ReplyChannel::Elster(typed(channel)?),
            "fitConnect" if v2 => ReplyChannel::FitConnect(typed(channel)?),
            "idBundDeMailbox" if v2 => ReplyChannel::IdBundDeMailbox(typed(channel)?),
            _ => ReplyChannel::Undeclared { name: name.clone() },
        }))
    }
}

fn typed<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, ()> {
    T::deserialize(v).map_err(|_| ())
}

/// `replyChannel.eMail`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EMail {
    /// The address.
    pub address: String,
    /// An ASCII-armoured OpenPGP key to encrypt answers with.
    pub pgp_public_key: Option<String>,
}

/// `replyChannel.deMail`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeMail {
    /// The De-Mail address.
    pub address: String,
}

/// `replyChannel.fink`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Fink {
    /// The FINK mailbox reference.
    pub fink_postfach_ref: String,
    /// The service account's URL.
    pub host: Option<String>,
}

/// `replyChannel.elster`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Elster {
    /// The ELSTER account id (ten digits in 1.x; unconstrained in 2.x).
    pub account_id: String,
    /// Delivery ticket.
    pub liefer_ticket: Option<String>,
    /// File reference (at most ten characters).
    pub geschaeftszeichen: Option<String>,
}

/// `replyChannel.fitConnect` (2.x).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FitConnect {
    /// The key answers are encrypted with.
    pub encryption_public_key: ReplyKey,
    /// URIs of the process standards (with version) the dialogue follows; at least one.
    pub process_standards: Vec<String>,
}

/// `replyChannel.fitConnect.encryptionPublicKey`: a public RSA JWK (RSA-OAEP-256, `wrapKey`,
/// `e` AQAB, modulus of at least 683 base64url characters, i.e. 4096 bits). Unlike a
/// destination key the schema requires no `x5c`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "Map<String, Value>")]
#[non_exhaustive]
pub struct ReplyKey {
    /// Its key id.
    pub kid: String,
    /// The JWK as sent (all members, for [`crate::jose::Jwk`] and the key rules).
    pub jwk: Map<String, Value>,
}

impl TryFrom<Map<String, Value>> for ReplyKey {
    type Error = &'static str;

    fn try_from(jwk: Map<String, Value>) -> Result<Self, Self::Error> {
        let kid = jwk
            .get("kid")
            .and_then(Value::as_str)
            .ok_or("kid is not a string")?
            .to_owned();
        Ok(Self { kid, jwk })
    }
}

/// `replyChannel.idBundDeMailbox` (2.x).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IdBundDeMailbox {
    /// The mailbox handle (UUID) from the DeutschlandID login.
    pub mailbox_uuid: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key() -> Value {
        json!({"kty": "RSA", "key_ops": ["wrapKey"], "alg": "RSA-OAEP-256", "kid": "reply-key-1",
               "n": "n".repeat(683), "e": "AQAB", "x5c": ["MIIB"]})
    }

    #[test]
    fn every_declared_channel_is_typed_in_its_generation() {
        let cases = [
            (json!({"eMail": {"address": "a@example.org"}}), "eMail"),
            (
                json!({"deMail": {"address": "a@example.de-mail.de"}}),
                "deMail",
            ),
            (json!({"fink": {"finkPostfachRef": "hh/by/1"}}), "fink"),
            (json!({"elster": {"accountId": "any"}}), "elster"),
            (
                json!({"idBundDeMailbox": {"mailboxUuid": "654bf3b3-7e3a-4d8f-9a55-0c6a8d2e4f11"}}),
                "idBundDeMailbox",
            ),
        ];
        for (value, name) in cases {
            let channel = ReplyChannel::read(&value, Generation::V2)
                .expect("typed")
                .expect("present");
            assert_eq!(channel.name(), name);
            assert!(
                !matches!(channel, ReplyChannel::Undeclared { .. }),
                "{name}"
            );
        }
        // 1.0.0 does not declare idBundDeMailbox: any value is valid there and is not read.
        let undeclared = json!({"idBundDeMailbox": {"mailboxUuid": 7}});
        let v1 = ReplyChannel::read(&undeclared, Generation::V1).expect("read");
        assert_eq!(
            v1,
            Some(ReplyChannel::Undeclared {
                name: "idBundDeMailbox".into()
            })
        );
        assert_eq!(ReplyChannel::read(&json!({}), Generation::V2), Ok(None));
    }

    #[test]
    fn fit_connect_channel_carries_the_reply_key_and_process_standards() {
        let value = json!({"fitConnect": {"encryptionPublicKey": key(),
                           "processStandards": ["urn:xoev-de:bmk:standard:xbau_2.6"]}});
        let Some(ReplyChannel::FitConnect(channel)) =
            ReplyChannel::read(&value, Generation::V2).expect("typed")
        else {
            panic!("not a fitConnect channel");
        };
        assert_eq!(channel.encryption_public_key.kid, "reply-key-1");
        assert_eq!(
            channel.encryption_public_key.jwk,
            *key().as_object().expect("object")
        );
        assert_eq!(
            channel.process_standards,
            ["urn:xoev-de:bmk:standard:xbau_2.6"]
        );
        let jwk = crate::jose::Jwk::from_json(
            &Value::Object(channel.encryption_public_key.jwk).to_string(),
        )
        .expect("a JWK for the key rules");
        assert_eq!(jwk.alg.as_deref(), Some("RSA-OAEP-256"));
        // A declared channel that does not fit its type is a schema/model mismatch.
        let broken =
            json!({"fitConnect": {"encryptionPublicKey": {"kid": 5}, "processStandards": []}});
        assert_eq!(ReplyChannel::read(&broken, Generation::V2), Err(()));
    }
}
