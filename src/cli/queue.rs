//! `poststelle queue`: inspect the store, list dead letters, re-drive them, purge payloads
//! whose retention is over.

use std::io::{self, Write};

use crate::error::{CliError, Verdict};

use clap::{Args, Subcommand, ValueEnum};

use crate::store::{
    Access, AnyStore, Decision, JobFilter, JobState, JobSummary, Redrive, Retention, Store,
    StoreError, StorePassword, Timestamp,
};

/// Arguments of `poststelle queue`.
#[derive(Debug, Args)]
pub(crate) struct QueueArgs {
    /// The store: `sqlite:PATH` or `postgres://user@host/db`.
    #[arg(long, global = true, default_value = "sqlite:./data/poststelle.db")]
    store: String,
    /// A file holding the PostgreSQL password (instead of one in the address;
    /// `POSTSTELLE_STORE_PASSWORD` is the alternative).
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    action: QueueAction,
}

#[derive(Debug, Subcommand)]
enum QueueAction {
    /// List outbox jobs, oldest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one submission: decision, evidence, attachments, jobs.
    Show {
        /// The submission id.
        submission_id: String,
    },
    /// List stored decisions, newest first: why a submission was rejected (problem types and
    /// places; `queue show` gives the details).
    Decisions {
        /// Only rejections.
        #[arg(long)]
        rejected: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// List dead letters (jobs given up on).
    DeadLetters {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Re-drive a dead letter (or all): due now, with a fresh attempt count.
    Redrive {
        /// The job id (from `queue dead-letters`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        job_id: Option<i64>,
        /// Re-drive every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Purge the payload (envelope, attachment contents and names) of submissions whose jobs
    /// were all delivered more than DAYS ago; evidence stays, dead letters are never purged.
    /// `poststelle serve` does this by itself every hour (`[retention] payload_days`).
    Purge {
        /// Only list the submissions that would be purged.
        #[arg(long)]
        dry_run: bool,
        /// The retention in days after the last delivery (at least 1).
        #[arg(long, value_name = "DAYS", default_value_t = Retention::default().payload_days,
              value_parser = clap::value_parser!(u32).range(1..=36_500))]
        older_than: u32,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StateArg {
    Pending,
    Delivered,
    Dead,
}

impl From<StateArg> for JobState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Pending => JobState::Pending,
            StateArg::Delivered => JobState::Delivered,
            StateArg::Dead => JobState::Dead,
        }
    }
}

/// Runs `poststelle queue`. Exit 0 on success, 1 when the asked submission or dead letter does
/// not exist, 2 when the store cannot be opened or read, 64 when the store password is given
/// twice or its file cannot be read.
pub(crate) fn run(args: QueueArgs) -> super::CommandResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format_args!("cannot start the runtime: {e}")))?;
    let password = StorePassword::from_config_or_env(&args.store, args.password_file.as_deref())
        .map_err(CliError::Config)?;
    let mut out = io::stdout().lock();
    runtime
        .block_on(execute(args, password.as_ref(), &mut out))
        .map_err(CliError::failed)
}

async fn execute(
    args: QueueArgs,
    password: Option<&StorePassword>,
    out: &mut dyn Write,
) -> Result<Verdict, StoreError> {
    // Inspecting never creates a database or tables, nor migrates a store a running gateway
    // of another version uses; only a re-drive and a purge write (rows of the existing
    // tables, and a purge removes blob files).
    let access = match args.action {
        QueueAction::Redrive { .. } | QueueAction::Purge { dry_run: false, .. } => {
            Access::ReadWrite
        }
        _ => Access::ReadOnly,
    };
    let store = AnyStore::open_existing_with(&args.store, access, password).await?;
    let io_err = |e| StoreError::io("<stdout>", e);
    match args.action {
        QueueAction::List { state, limit } => {
            let filter = JobFilter {
                state: state.map(JobState::from),
                limit,
            };
            write_jobs(out, &store.list_jobs(filter).await?).map_err(io_err)?;
            Ok(Verdict::Done)
        }
        QueueAction::Decisions { rejected, limit } => {
            let rows = store.decisions(rejected, limit).await?;
            writeln!(
                out,
                "{:<24}  {:<36}  {:<8}  case / message type or problems",
                "decided", "submission", "decision"
            )
            .map_err(io_err)?;
            for d in rows {
                let what = match &d.decision {
                    Decision::Accepted => d.message_type.clone().unwrap_or_else(|| "-".to_owned()),
                    Decision::Rejected { problems } => problems
                        .iter()
                        .map(crate::fitconnect::problems::Problem::label)
                        .collect::<Vec<_>>()
                        .join(","),
                };
                let kind = match d.decision {
                    Decision::Accepted => "accepted",
                    Decision::Rejected { .. } => "rejected",
                };
                writeln!(
                    out,
                    "{:<24}  {:<36}  {kind:<8}  {} {}",
                    when(Some(d.decided_at)),
                    super::printable(&d.submission_id),
                    d.case_id.as_deref().unwrap_or("-"),
                    super::printable(&what)
                )
                .map_err(io_err)?;
            }
            Ok(Verdict::Done)
        }
        QueueAction::DeadLetters { limit } => {
            let filter = JobFilter {
                state: Some(JobState::Dead),
                limit,
            };
            write_jobs(out, &store.list_jobs(filter).await?).map_err(io_err)?;
            Ok(Verdict::Done)
        }
        QueueAction::Show { submission_id } => {
            let Some(view) = store.submission(&submission_id).await? else {
                writeln!(out, "no submission {submission_id}").map_err(io_err)?;
                return Ok(Verdict::Refused);
            };
            let decision = match &view.decision {
                None => "-".to_owned(),
                Some(Decision::Accepted) => "accepted".to_owned(),
                Some(Decision::Rejected { .. }) => "rejected".to_owned(),
            };
            let policy = view.ack_policy.map_or("-", |p| match p {
                crate::store::AckPolicy::AfterStore => "after-store",
                crate::store::AckPolicy::AfterForward => "after-forward",
            });
            let w = &mut *out;
            (|| -> io::Result<()> {
                writeln!(w, "submission  {}", view.submission_id)?;
                writeln!(w, "case        {}", view.case_id.as_deref().unwrap_or("-"))?;
                writeln!(
                    w,
                    "destination {}",
                    view.destination_id.as_deref().unwrap_or("-")
                )?;
                writeln!(
                    w,
                    "message     {}",
                    view.message_type.as_deref().unwrap_or("-")
                )?;
                writeln!(w, "seen        {}", when(Some(view.seen_at)))?;
                writeln!(w, "stored      {}", when(view.stored_at))?;
                writeln!(w, "decision    {decision}")?;
                if let Some(Decision::Rejected { problems }) = &view.decision {
                    for p in problems {
                        writeln!(w, "problem     {} at {}", p.type_uri, p.instance)?;
                        // The detail names places (paths, line:column), never values; it is
                        // what the sender was told.
                        if !p.detail.is_empty() {
                            writeln!(w, "  detail    {}", super::printable(&p.detail))?;
                        }
                    }
                }
                writeln!(w, "ack policy  {policy}")?;
                writeln!(w, "payload     {}", payload(&view))?;
                writeln!(w, "acked       {}", when(view.acked_at))?;
                if let Some(ev) = &view.evidence {
                    writeln!(w, "received    {}", when(Some(ev.received_at)))?;
                    writeln!(w, "decided     {}", when(Some(ev.decided_at)))?;
                    match &ev.auth_tags {
                        None => writeln!(w, "auth tags   -")?,
                        Some(t) => writeln!(
                            w,
                            "auth tags   metadata{}, {} attachment(s)",
                            if t.data.is_some() { ", data" } else { "" },
                            t.attachments.len()
                        )?,
                    }
                    for (name, hash) in &ev.hashes {
                        writeln!(w, "hash        {name} {hash}")?;
                    }
                }
                for a in &view.attachments {
                    writeln!(
                        w,
                        "attachment  {} {} {} bytes sha256:{}",
                        a.attachment_id, a.media_type, a.size, a.sha256
                    )?;
                }
                write_jobs(w, &view.jobs)
            })()
            .map_err(io_err)?;
            Ok(Verdict::Done)
        }
        QueueAction::Purge {
            dry_run,
            older_than,
        } => purge(&store, older_than, dry_run, out)
            .await
            .map(|()| Verdict::Done),
        QueueAction::Redrive { job_id, all } => {
            let which = match (job_id, all) {
                (Some(id), false) => Redrive::Job(id),
                _ => Redrive::All,
            };
            let n = store.redrive(which.clone(), Timestamp::now()).await?;
            if n > 0 {
                writeln!(out, "re-driven: {n}").map_err(io_err)?;
            } else {
                // Only dead letters are re-driven: say what that means for what was asked.
                let why = match which {
                    Redrive::Job(id) => format!(
                        "job {id} is not a dead letter (no such job, or it is pending or delivered; `poststelle queue list` shows every job's state)"
                    ),
                    Redrive::All => "there are no dead letters (pending jobs are retried by `poststelle serve` by themselves)".to_owned(),
                };
                writeln!(out, "re-driven: 0: {why}").map_err(io_err)?;
            }
            Ok(Verdict::of(n > 0 || matches!(which, Redrive::All)))
        }
    }
}

/// `queue purge`: what was (or, dry, would be) purged, one submission id a line, then the
/// count.
async fn purge(
    store: &AnyStore,
    older_than: u32,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    // `--older-than` is at least 1 (clap), so there is always a cutoff.
    let before = Retention {
        payload_days: older_than,
    }
    .delivered_before(now)
    .unwrap_or(now);
    let report = store.purge_payloads(before, now, dry_run).await?;
    let io_err = |e| StoreError::io("<stdout>", e);
    for id in &report.submission_ids {
        writeln!(out, "{}", super::printable(id)).map_err(io_err)?;
    }
    let n = report.submission_ids.len();
    if dry_run {
        writeln!(
            out,
            "would purge: {n} (delivered more than {older_than} days ago; dry run, nothing changed)"
        )
    } else {
        writeln!(
            out,
            "purged: {n} ({} blob file(s) removed, content of {} finished reply/replies)",
            report.files_removed, report.replies_purged
        )
    }
    .map_err(io_err)
}

/// The payload line of `queue show`: kept, purged (when), or none (a rejection stores only
/// evidence).
fn payload(view: &crate::store::SubmissionView) -> String {
    match (&view.decision, view.purged_at, &view.envelope) {
        (_, Some(at), _) => format!("purged {}", when(Some(at))),
        (Some(Decision::Rejected { .. }), None, _) => "none (rejected: evidence only)".to_owned(),
        (_, None, Some(_)) => "kept".to_owned(),
        (_, None, None) => "-".to_owned(),
    }
}

fn when(t: Option<Timestamp>) -> String {
    t.and_then(Timestamp::to_rfc3339)
        .unwrap_or_else(|| "-".to_owned())
}

/// The job table: every column as wide as its widest cell (upstream names and error texts
/// have no fixed width), numbers right-aligned, the last column unpadded.
fn write_jobs(out: &mut dyn Write, jobs: &[JobSummary]) -> io::Result<()> {
    const HEADER: [&str; 7] = [
        "job",
        "state",
        "attempts",
        "upstream",
        "submission",
        "next / finished",
        "last error",
    ];
    const RIGHT: [bool; 7] = [true, false, true, false, false, false, false];
    let rows: Vec<[String; 7]> = jobs
        .iter()
        .map(|j| {
            let t = if j.state == JobState::Pending {
                Some(j.next_attempt_at)
            } else {
                j.finished_at
            };
            [
                j.job_id.to_string(),
                j.state.to_string(),
                j.attempts.to_string(),
                super::printable(&j.upstream).into_owned(),
                super::printable(&j.submission_id).into_owned(),
                when(t),
                super::printable(j.last_error.as_deref().unwrap_or("-")).into_owned(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            if i + 1 == row.len() {
                line.push_str(cell);
            } else if RIGHT[i] {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AckPolicy, Evidence, FailAction, NewSubmission, SqliteStore};
    use std::time::Duration;

    async fn output(store: &str, action: QueueAction) -> (Verdict, String) {
        let mut out = Vec::new();
        let code = execute(
            QueueArgs {
                store: store.to_owned(),
                password_file: None,
                action,
            },
            None,
            &mut out,
        )
        .await
        .expect("queue command");
        (code, String::from_utf8(out).expect("utf-8"))
    }

    #[tokio::test]
    async fn list_show_dead_letters_and_redrive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("q.db");
        let s = SqliteStore::open(&path).await.expect("open");
        let t0 = Timestamp(1_800_000_000_000);
        s.store_submission(
            NewSubmission {
                submission_id: "sub-q".to_owned(),
                case_id: None,
                destination_id: "dest".to_owned(),
                message_type: None,
                envelope: Some("{}".to_owned()),
                fachdaten: None,
                decision: Decision::Accepted,
                ack_policy: AckPolicy::AfterStore,
                evidence: Evidence {
                    submit_set: "a.b.c".to_owned(),
                    auth_tags: None,
                    hashes: vec![("data".to_owned(), "sha512:ab".to_owned())],
                    received_at: t0,
                    decided_at: t0,
                },
                attachments: vec![],
                upstreams: vec!["bau".to_owned(), "archiv".to_owned()],
            },
            t0,
        )
        .await
        .expect("store");
        let jobs = s
            .claim_jobs("w", t0, Duration::from_secs(30), 1)
            .await
            .expect("claim");
        s.fail_job(jobs[0].job_id, "w", FailAction::DeadLetter, "http-400", t0)
            .await
            .expect("fail");
        let addr = format!("sqlite:{}", path.display());

        let (code, text) = output(
            &addr,
            QueueAction::List {
                state: None,
                limit: 10,
            },
        )
        .await;
        assert_eq!(code, Verdict::Done);
        assert_eq!(text.lines().count(), 3, "{text}");
        let (_, text) = output(&addr, QueueAction::DeadLetters { limit: 10 }).await;
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("dead") && text.contains("http-400"), "{text}");
        let (code, text) = output(
            &addr,
            QueueAction::Show {
                submission_id: "sub-q".to_owned(),
            },
        )
        .await;
        assert_eq!(code, Verdict::Done);
        assert!(text.contains("decision    accepted"), "{text}");
        assert!(text.contains("hash        data sha512:ab"), "{text}");
        assert!(
            text.contains("seen        2027-01-15T08:00:00Z"),
            "timestamps are RFC 3339: {text}"
        );
        let (code, _) = output(
            &addr,
            QueueAction::Show {
                submission_id: "nope".to_owned(),
            },
        )
        .await;
        assert_eq!(code, Verdict::Refused);
        // Issue 13, scope 6: why a submission was rejected — type, place and the detail the
        // sender was told (places, no values).
        let problem = crate::fitconnect::problems::Problem::new(
            crate::fitconnect::problems::Failure::DataSchema,
            &crate::fitconnect::problems::Instance::Data,
        )
        .expect("allowed at data");
        s.store_submission(
            NewSubmission {
                submission_id: "sub-r".to_owned(),
                case_id: None,
                destination_id: "dest".to_owned(),
                message_type: None,
                fachdaten: None,
                envelope: None,
                decision: Decision::Rejected {
                    problems: vec![crate::fitconnect::problems::Problem {
                        detail: "/xbau:antrag/xbau:bauherr: Element fehlt (Zeile 12, Spalte 5)"
                            .to_owned(),
                        ..problem
                    }],
                },
                ack_policy: AckPolicy::AfterStore,
                evidence: Evidence {
                    submit_set: "a.b.c".to_owned(),
                    auth_tags: None,
                    hashes: vec![],
                    received_at: t0,
                    decided_at: t0,
                },
                attachments: vec![],
                upstreams: vec![],
            },
            t0,
        )
        .await
        .expect("store");
        let (code, text) = output(
            &addr,
            QueueAction::Show {
                submission_id: "sub-r".to_owned(),
            },
        )
        .await;
        assert_eq!(code, Verdict::Done);
        assert!(text.contains("decision    rejected"), "{text}");
        assert!(text.contains("schema-violation at data"), "{text}");
        assert!(
            text.contains(
                "  detail    /xbau:antrag/xbau:bauherr: Element fehlt (Zeile 12, Spalte 5)"
            ),
            "{text}"
        );
        let decisions = |rejected| QueueAction::Decisions {
            rejected,
            limit: 10,
        };
        let (code, text) = output(&addr, decisions(true)).await;
        assert_eq!(code, Verdict::Done);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.contains("sub-r") && text.contains("rejected  - schema-violation@data"),
            "{text}"
        );
        let (_, text) = output(&addr, decisions(false)).await;
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains("sub-q") && text.contains("accepted"),
            "{text}"
        );
        let redrive = |job_id, all| QueueAction::Redrive { job_id, all };
        let (code, text) = output(&addr, redrive(Some(jobs[0].job_id), false)).await;
        assert_eq!((code, text.as_str()), (Verdict::Done, "re-driven: 1\n"));
        let (code, _) = output(&addr, redrive(Some(jobs[0].job_id), false)).await;
        assert_eq!(code, Verdict::Refused, "no longer a dead letter");
        let (code, text) = output(&addr, redrive(None, true)).await;
        assert!(
            code == Verdict::Done && text.starts_with("re-driven: 0: there are no dead letters"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn missing_sqlite_file_is_not_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent.db");
        let args = QueueArgs {
            store: format!("sqlite:{}", path.display()),
            password_file: None,
            action: QueueAction::DeadLetters { limit: 1 },
        };
        assert!(execute(args, None, &mut Vec::new()).await.is_err());
        assert!(!path.exists());
    }
}
