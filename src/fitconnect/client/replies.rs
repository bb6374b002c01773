//! Replies (Rückkanal) over the Submission API: the receiver opens, fills and submits a reply
//! to a submission; the sender lists, fetches and accepts or rejects the replies for it.
//!
//! Paths and bodies follow the sandbox, which follows what is known; the shapes FITKO has not
//! published where we could read them are UNCONFIRMED (`docs/protocol-facts.md`, section
//! "Replies"). The JWEs are made and opened by the caller (`jose`), as for submissions.

use reqwest::Method;

use super::transport::{Body, Expect};
use super::{Client, ClientError, check_id, parse_json, shape};
use crate::fitconnect::problems::Problem;
use crate::fitconnect::set::AuthenticationTags;
use crate::fitconnect::types::{CreateReply, ReplyDocument, ReplyIds, ReplyPage, Submit};

impl Client {
    // ---- receiver side (the destination answers) -------------------------------------------

    /// `POST /replies`: opens a reply to `submission_id` announcing `attachments`.
    ///
    /// # Errors
    /// Transport, status (e.g. the sender chose no FIT-Connect reply channel) or shape errors.
    pub async fn create_reply(
        &self,
        submission_id: &str,
        attachments: &[String],
    ) -> Result<ReplyIds, ClientError> {
        let what = "POST /replies";
        check_id(what, submission_id)?;
        for id in attachments {
            check_id(what, id)?;
        }
        let body = CreateReply {
            submission_id: submission_id.to_owned(),
            announced_attachments: attachments.to_vec(),
        };
        let body = serde_json::to_vec(&body).expect("the wire type serializes");
        let resp = self
            .api_ok(
                Method::POST,
                "/replies",
                Body::Json(body.into()),
                Expect::Json,
                &[201],
            )
            .await?;
        parse_json(what, &resp)
    }

    /// `PUT /replies/{id}/attachments/{attachmentId}` with the attachment JWE (encrypted for
    /// the sender's reply key).
    ///
    /// # Errors
    /// Transport or status errors.
    pub async fn upload_reply_attachment(
        &self,
        reply_id: &str,
        attachment_id: &str,
        jwe: &str,
    ) -> Result<(), ClientError> {
        let what = "PUT /replies/{id}/attachments/{attachmentId}";
        check_id(what, reply_id)?;
        check_id(what, attachment_id)?;
        self.api_ok(
            Method::PUT,
            &format!("/replies/{reply_id}/attachments/{attachment_id}"),
            Body::Jose(jwe.as_bytes().to_vec().into()),
            Expect::Upload,
            &[200, 204],
        )
        .await?;
        Ok(())
    }

    /// `PUT /replies/{id}` with the metadata and data JWEs: sends the reply.
    ///
    /// # Errors
    /// Transport or status errors (e.g. missing attachments).
    pub async fn submit_reply(
        &self,
        reply_id: &str,
        encrypted_metadata: &str,
        encrypted_data: &str,
    ) -> Result<(), ClientError> {
        check_id("PUT /replies/{id}", reply_id)?;
        let body = Submit {
            encrypted_metadata: encrypted_metadata.to_owned(),
            encrypted_data: Some(encrypted_data.to_owned()),
        };
        let body = serde_json::to_vec(&body).expect("the wire type serializes");
        self.api_ok(
            Method::PUT,
            &format!("/replies/{reply_id}"),
            Body::Json(body.into()),
            Expect::Upload,
            &[200, 202, 204],
        )
        .await?;
        Ok(())
    }

    // ---- sender side (the applicant's portal receives) -------------------------------------

    /// One page of the replies waiting for this (sending) client (`limit` ≤ 500).
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn list_replies(&self, offset: u64, limit: u32) -> Result<ReplyPage, ClientError> {
        let path = format!("/replies?offset={offset}&limit={limit}");
        let body = self
            .api_ok(Method::GET, &path, Body::Empty, Expect::Json, &[200])
            .await?;
        parse_json("GET /replies", &body)
    }

    /// `GET /replies/{id}`: status and JWEs (either party; the sender once submitted).
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn reply(&self, reply_id: &str) -> Result<ReplyDocument, ClientError> {
        let what = "GET /replies/{id}";
        check_id(what, reply_id)?;
        let body = self
            .api_ok(
                Method::GET,
                &format!("/replies/{reply_id}"),
                Body::Empty,
                Expect::Json,
                &[200],
            )
            .await?;
        parse_json(what, &body)
    }

    /// `GET /replies/{id}/attachments/{attachmentId}`: the compact JWE, verbatim.
    ///
    /// # Errors
    /// Transport, status errors; [`ClientError::TooLarge`] beyond the configured maximum; a
    /// body that is not text.
    pub async fn reply_attachment(
        &self,
        reply_id: &str,
        attachment_id: &str,
    ) -> Result<String, ClientError> {
        let what = "GET /replies/{id}/attachments/{attachmentId}";
        check_id(what, reply_id)?;
        check_id(what, attachment_id)?;
        let body = self
            .api_ok(
                Method::GET,
                &format!("/replies/{reply_id}/attachments/{attachment_id}"),
                Body::Empty,
                Expect::Attachment,
                &[200],
            )
            .await?;
        String::from_utf8(body).map_err(|_| shape(what, "attachment body is not text"))
    }

    /// `GET /replies/{id}/events`: the SETs about this reply (one page of at most 500, the
    /// shape of the case event log; FITKO planning#2089, see `docs/protocol-facts.md` R-6).
    ///
    /// # Errors
    /// Transport, status (404 where the service has no per-reply log) or shape errors.
    pub async fn reply_events(&self, reply_id: &str) -> Result<serde_json::Value, ClientError> {
        check_id("GET /replies/{id}/events", reply_id)?;
        self.get_json(&format!("/replies/{reply_id}/events?offset=0&limit=500"))
            .await
    }

    /// `PUT /replies/{id}/accept` with the authentication tags of the reply's JWEs as
    /// downloaded (the delivery service compares them with its `submit-reply` record).
    ///
    /// # Errors
    /// Transport or status errors.
    pub async fn accept_reply(
        &self,
        reply_id: &str,
        tags: &AuthenticationTags,
    ) -> Result<(), ClientError> {
        check_id("PUT /replies/{id}/accept", reply_id)?;
        let body = serde_json::json!({ "authenticationTags": tags });
        self.decide_reply(reply_id, "accept", &body).await
    }

    /// `PUT /replies/{id}/reject` with the problems found (at least one).
    ///
    /// # Errors
    /// [`ClientError::Response`] for an empty list; transport or status errors.
    pub async fn reject_reply(
        &self,
        reply_id: &str,
        problems: &[Problem],
    ) -> Result<(), ClientError> {
        let what = "PUT /replies/{id}/reject";
        check_id(what, reply_id)?;
        if problems.is_empty() {
            return Err(shape(what, "a rejection needs at least one problem"));
        }
        let body = serde_json::json!({ "problems": problems });
        self.decide_reply(reply_id, "reject", &body).await
    }

    async fn decide_reply(
        &self,
        reply_id: &str,
        decision: &str,
        body: &serde_json::Value,
    ) -> Result<(), ClientError> {
        let body = serde_json::to_vec(body).expect("JSON value serializes");
        self.api_ok(
            Method::PUT,
            &format!("/replies/{reply_id}/{decision}"),
            Body::Json(body.into()),
            Expect::Upload,
            &[200, 204],
        )
        .await?;
        Ok(())
    }
}
