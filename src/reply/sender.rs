//! Sends stored replies over FIT-Connect and follows them until the sender decided.
//!
//! One step per claim (phases in `store::replies`): `queued` → `POST /replies` (the delivery
//! service's reply id is recorded before anything is uploaded); `created` → encrypt for the
//! reply key, upload the attachments, `PUT /replies/{id}` (after an interrupted attempt the
//! status is asked first, so a reply is submitted once); `submitted` → `GET /replies/{id}`
//! until `accepted` or `rejected` (confirmed by the delivery service's signed `accept-reply` /
//! `reject-reply` event where it keeps a per-reply log; the rejection's problems come from
//! that event), or the follow time ends (`unanswered`).
//!
//! Failures: a refusal of the delivery service (4xx but 408/429) dead-letters the reply with
//! the problem type it named; anything else is retried with the `[forwarding]` backoff and
//! dead-lettered after its attempts or age. Dead replies are re-driven with
//! `poststelle reply redrive` and resume at their phase.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::task::JoinSet;

use crate::config::JoseLimits;
use crate::fitconnect::client::{Client, ClientError, unix_now};
use crate::fitconnect::event_log::{self, Subject};
use crate::fitconnect::problems::Problem;
use crate::fitconnect::reply_out::{seal, target_from_jwk};
use crate::fitconnect::sender::OutgoingAttachment;
use crate::fitconnect::set::{ACCEPT_REPLY, Issuer, REJECT_REPLY};
use crate::store::{
    AnyStore, ClaimedReply, FailAction, ReplyPhase, ReplyStep, ReplyStore, RetryPolicy, StoreError,
    Timestamp,
};

/// How replies are sent and followed.
#[derive(Debug, Clone)]
pub struct ReplyPolicy {
    /// Lease of a claimed reply.
    pub lease: Duration,
    /// Retries of failed steps (the `[forwarding]` policy).
    pub retry: RetryPolicy,
    /// First pause before asking for the sender's decision; it grows with the time since
    /// submission (a tenth of it) up to `max_poll`.
    pub first_poll: Duration,
    /// Longest pause between two questions.
    pub max_poll: Duration,
    /// How long a submitted reply is followed before it counts as `unanswered`.
    pub follow_for: Duration,
    /// How often due replies are looked for without a wake-up.
    pub idle_poll: Duration,
    /// Replies stepped at once.
    pub concurrency: u32,
}

impl Default for ReplyPolicy {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            first_poll: Duration::from_secs(30),
            max_poll: Duration::from_secs(3600),
            follow_for: Duration::from_secs(30 * 24 * 3600),
            idle_poll: Duration::from_secs(5),
            concurrency: 4,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyRound {
    /// Replies claimed.
    pub claimed: usize,
    /// Created at the delivery service.
    pub created: usize,
    /// Submitted.
    pub submitted: usize,
    /// Accepted by the sender.
    pub accepted: usize,
    /// Rejected by the sender.
    pub rejected: usize,
    /// Still waiting for the sender.
    pub waiting: usize,
    /// Failed and retried later.
    pub retried: usize,
    /// Dead-lettered (or given up as unanswered).
    pub dead: usize,
    /// The step could not be recorded (lease lost, store error).
    pub unrecorded: usize,
}

struct Inner {
    store: AnyStore,
    /// Subscriber clients by lowercase destination id.
    clients: HashMap<String, Client>,
    policy: ReplyPolicy,
    worker: String,
    wake: Arc<tokio::sync::Notify>,
}

/// The reply worker.
#[derive(Clone)]
pub struct ReplySender {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ReplySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplySender").finish_non_exhaustive()
    }
}

impl ReplySender {
    /// A worker over `store` that sends through the subscriber client of each destination;
    /// `wake` (the desk's) starts a round at once.
    #[must_use]
    pub fn new(
        store: AnyStore,
        clients: HashMap<String, Client>,
        policy: ReplyPolicy,
        wake: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clients: clients
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect(),
                policy,
                worker: format!("replies-{}", uuid::Uuid::new_v4()),
                wake,
            }),
        }
    }

    /// Claims the due replies and takes one step with each.
    ///
    /// # Errors
    /// The store failed to claim.
    pub async fn send_due_once(&self) -> Result<ReplyRound, StoreError> {
        let i = &self.inner;
        let claimed = i
            .store
            .claim_replies(
                &i.worker,
                Timestamp::now(),
                i.policy.lease,
                i.policy.concurrency,
            )
            .await?;
        let mut round = ReplyRound {
            claimed: claimed.len(),
            ..ReplyRound::default()
        };
        let mut set = JoinSet::new();
        for reply in claimed {
            let inner = Arc::clone(i);
            set.spawn(async move { inner.process(reply).await });
        }
        while let Some(done) = set.join_next().await {
            tally(&mut round, done.ok());
        }
        Ok(round)
    }

    /// Runs rounds until `shutdown` completes (the step in flight finishes).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let busy = match self.send_due_once().await {
                Ok(round) => round.claimed > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "replies: the store failed; trying again");
                    false
                }
            };
            // After a busy round more may be due at once (a created reply is submitted next).
            let pause = if busy {
                Duration::ZERO
            } else {
                self.inner.policy.idle_poll
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// What a step ended with, for the round's figures.
#[derive(Debug, Clone, Copy)]
enum Done {
    Created,
    Submitted,
    Accepted,
    Rejected,
    Waiting,
    Retried,
    Dead,
    Unrecorded,
}

fn tally(round: &mut ReplyRound, done: Option<Done>) {
    match done.unwrap_or(Done::Unrecorded) {
        Done::Created => round.created += 1,
        Done::Submitted => round.submitted += 1,
        Done::Accepted => round.accepted += 1,
        Done::Rejected => round.rejected += 1,
        Done::Waiting => round.waiting += 1,
        Done::Retried => round.retried += 1,
        Done::Dead => round.dead += 1,
        Done::Unrecorded => round.unrecorded += 1,
    }
}

/// A failed step: retried, or refused for good.
enum Failure {
    Retry(String),
    Refused(String),
    /// The delivery service does not know the reply (404/410 while it was incomplete).
    Gone,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match &e {
            ClientError::Status {
                status: 404 | 410, ..
            } => Failure::Gone,
            ClientError::Status { status, .. }
                if (400..500).contains(status) && *status != 408 && *status != 429 =>
            {
                Failure::Refused(e.to_string())
            }
            _ => Failure::Retry(e.to_string()),
        }
    }
}

impl Inner {
    async fn process(&self, reply: ClaimedReply) -> Done {
        let now = Timestamp::now();
        // Uploads can outlast the lease: it is renewed while the step runs (the forwarder's
        // heartbeat); a lost lease abandons the step's outcome to the new holder.
        let step = crate::store::lease::hold(self.policy.lease, self.step(&reply, now), |until| {
            self.store.advance_reply(
                &reply.reply_id,
                &self.worker,
                ReplyStep::Renew { until },
                Timestamp::now(),
            )
        })
        .await;
        let Some(step) = step else {
            tracing::warn!(reply = %reply.reply_id, "reply lease lost to another worker; step abandoned");
            return Done::Unrecorded;
        };
        let (step, done) = match step {
            Ok(ok) => ok,
            Err(Failure::Gone) => {
                let error =
                    "the delivery service does not know the reply or its submission (HTTP 404/410)"
                        .to_owned();
                tracing::error!(reply = %reply.reply_id, phase = reply.phase.as_str(), "{error}: dead letter");
                (ReplyStep::Dead { error }, Done::Dead)
            }
            Err(Failure::Refused(error)) => {
                tracing::error!(
                    reply = %reply.reply_id,
                    phase = reply.phase.as_str(),
                    error = %error,
                    "reply refused by the delivery service: dead letter (`poststelle reply redrive` after the cause is fixed)"
                );
                (ReplyStep::Dead { error }, Done::Dead)
            }
            Err(Failure::Retry(error)) => match self.policy.retry.after_failure(
                reply.attempts,
                reply
                    .created_at
                    .max(reply.submitted_at.unwrap_or(reply.created_at)),
                now,
                RetryPolicy::jitter(),
            ) {
                FailAction::RetryAt(at) => {
                    tracing::warn!(
                        reply = %reply.reply_id,
                        phase = reply.phase.as_str(),
                        attempts = reply.attempts,
                        error = %error,
                        "reply step failed; retrying"
                    );
                    (ReplyStep::Retry { at, error }, Done::Retried)
                }
                FailAction::DeadLetter => {
                    tracing::error!(
                        reply = %reply.reply_id,
                        phase = reply.phase.as_str(),
                        attempts = reply.attempts,
                        error = %error,
                        "reply step failed too often: dead letter"
                    );
                    (ReplyStep::Dead { error }, Done::Dead)
                }
            },
        };
        match self
            .store
            .advance_reply(&reply.reply_id, &self.worker, step, Timestamp::now())
            .await
        {
            Ok(true) => done,
            Ok(false) => Done::Unrecorded,
            Err(e) => {
                tracing::warn!(reply = %reply.reply_id, error = %e, "reply step not recorded");
                Done::Unrecorded
            }
        }
    }

    async fn step(&self, r: &ClaimedReply, now: Timestamp) -> Result<(ReplyStep, Done), Failure> {
        let client = self
            .clients
            .get(&r.destination_id.to_ascii_lowercase())
            .ok_or_else(|| {
                Failure::Refused(format!(
                    "no subscriber client is configured for destination {}",
                    r.destination_id
                ))
            })?;
        let fit_id = || {
            r.fit_reply_id
                .clone()
                .ok_or_else(|| Failure::Refused("the stored reply has no reply id".into()))
        };
        match r.phase {
            ReplyPhase::Queued => {
                let ids: Vec<String> = r.attachments.iter().map(|a| a.id.clone()).collect();
                let created = client.create_reply(&r.submission_id, &ids).await?;
                tracing::info!(
                    reply = %r.reply_id,
                    fit_reply = %created.reply_id,
                    "reply created at the delivery service"
                );
                Ok((
                    ReplyStep::Created {
                        fit_reply_id: created.reply_id,
                    },
                    Done::Created,
                ))
            }
            ReplyPhase::Created => {
                let fit = fit_id()?;
                match self.send_created(client, r, &fit, now).await {
                    // The incomplete reply is gone (the delivery service deletes incomplete
                    // ones after a while): nothing was submitted, so create it anew.
                    Err(Failure::Gone) => {
                        tracing::warn!(reply = %r.reply_id, fit_reply = %fit, "the incomplete reply is gone at the delivery service; creating it anew");
                        Ok((ReplyStep::Recreate, Done::Retried))
                    }
                    other => other,
                }
            }
            ReplyPhase::Submitted => {
                let fit = fit_id()?;
                let doc = client.reply(&fit).await?;
                let decided = match doc.status.as_str() {
                    "accepted" => Some(true),
                    "rejected" => Some(false),
                    _ => None,
                };
                if let Some(accepted) = decided {
                    let problems = self
                        .confirmed(
                            client,
                            &doc.ids.submission_id,
                            &doc.ids.case_id,
                            &fit,
                            accepted,
                        )
                        .await?;
                    tracing::info!(
                        reply = %r.reply_id,
                        fit_reply = %fit,
                        decision = if accepted { "accepted" } else { "rejected" },
                        "the sender decided on the reply"
                    );
                    let problems = problems.map(|p| serde_json::to_string(&p).expect("JSON"));
                    return Ok((
                        ReplyStep::Decided { accepted, problems },
                        if accepted {
                            Done::Accepted
                        } else {
                            Done::Rejected
                        },
                    ));
                }
                let since = now.since(r.submitted_at.unwrap_or(r.created_at));
                if since >= self.policy.follow_for {
                    tracing::warn!(reply = %r.reply_id, "no decision of the sender within the follow time: unanswered");
                    return Ok((ReplyStep::Unanswered, Done::Dead));
                }
                let pause = (since / 10).clamp(self.policy.first_poll, self.policy.max_poll);
                Ok((
                    ReplyStep::Waiting {
                        next: now.plus(pause),
                    },
                    Done::Waiting,
                ))
            }
            ReplyPhase::Accepted | ReplyPhase::Rejected | ReplyPhase::Unanswered => Ok((
                ReplyStep::Waiting {
                    next: now.plus(self.policy.max_poll),
                },
                Done::Waiting,
            )),
        }
    }

    /// Encrypts, uploads and submits a created reply (once; see the module documentation).
    async fn send_created(
        &self,
        client: &Client,
        r: &ClaimedReply,
        fit: &str,
        now: Timestamp,
    ) -> Result<(ReplyStep, Done), Failure> {
        let fit = fit.to_owned();
        let submitted = ReplyStep::Submitted {
            next: now.plus(self.policy.first_poll),
        };
        // An earlier attempt may have submitted it before the record was written.
        if r.attempts > 1 && client.reply(&fit).await?.status != "incomplete" {
            return Ok((submitted, Done::Submitted));
        }
        let target = target_from_jwk(&r.reply_key).map_err(|e| Failure::Refused(e.to_string()))?;
        if r.xml.is_empty() {
            return Err(Failure::Refused("the reply's content was purged".into()));
        }
        let attachments = r
            .attachments
            .iter()
            .map(|a| {
                Ok(OutgoingAttachment {
                    filename: a.filename.clone(),
                    mime_type: a.media_type.clone(),
                    purpose: "attachment".into(),
                    bytes: base64::engine::general_purpose::STANDARD
                        .decode(&a.content)
                        .map_err(|_| Failure::Refused("a stored attachment is corrupt".into()))?,
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        let ids: Vec<String> = r.attachments.iter().map(|a| a.id.clone()).collect();
        let (key_target, uri, xml) = (target, r.schema_uri.clone(), r.xml.clone());
        let sealed =
            tokio::task::spawn_blocking(move || seal(&key_target, &uri, &xml, &attachments, &ids))
                .await
                .map_err(|e| Failure::Retry(format!("encryption task: {e}")))?
                .map_err(|e| Failure::Refused(format!("encryption: {e}")))?;
        for (id, jwe) in &sealed.attachments {
            client.upload_reply_attachment(&fit, id, jwe).await?;
        }
        match client
            .submit_reply(&fit, &sealed.metadata, &sealed.data)
            .await
        {
            Ok(()) => {}
            // Submitted meanwhile (another instance, or an answer lost on the way).
            Err(ClientError::Status { status: 409, .. })
                if client.reply(&fit).await?.status != "incomplete" => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(reply = %r.reply_id, fit_reply = %fit, "reply submitted");
        Ok((submitted, Done::Submitted))
    }

    /// The decision as the delivery service's signed event states it, with the rejection's
    /// problems. Where the service keeps no per-reply log (404), its status stands alone.
    async fn confirmed(
        &self,
        client: &Client,
        submission_id: &str,
        case_id: &str,
        fit: &str,
        accepted: bool,
    ) -> Result<Option<Vec<Problem>>, Failure> {
        let log = match client.reply_events(fit).await {
            Ok(log) => log,
            Err(ClientError::Status { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let issuer = client.config().issuer().to_owned();
        let keys = event_log::service_keys(&client.service_jwks().await?, &issuer)
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let subject =
            Subject::new(submission_id, case_id).map_err(|e| Failure::Retry(e.to_string()))?;
        let sets = event_log::verify_log(
            &log,
            &subject,
            &issuer,
            &keys,
            &JoseLimits::default(),
            unix_now(),
        )
        .map_err(|e| Failure::Retry(format!("reply event log: {e}")))?;
        let sub = format!("reply:{}", fit.to_ascii_lowercase());
        let wanted = if accepted { ACCEPT_REPLY } else { REJECT_REPLY };
        let event = sets
            .iter()
            .find(|s| {
                s.event == wanted
                    && s.sub.eq_ignore_ascii_case(&sub)
                    && matches!(&s.issuer, Issuer::DeliveryService(iss) if *iss == issuer)
            })
            .ok_or_else(|| {
                Failure::Retry(format!(
                    "the reply's status is {} but its event log has no such signed event yet",
                    if accepted { "accepted" } else { "rejected" }
                ))
            })?;
        if accepted {
            return Ok(None);
        }
        let problems = event
            .payload
            .get("problems")
            .cloned()
            .and_then(|p| serde_json::from_value::<Vec<Problem>>(p).ok())
            .unwrap_or_default();
        Ok(Some(problems))
    }
}
