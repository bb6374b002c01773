//! The receive pipeline (layer L3): from a delivery service's submission to a stored, decided
//! and acknowledged submission (architecture.md §3).
//!
//! [`check`] is the pure heart: every verification of one downloaded submission, no I/O.
//! The orchestration around it (poll and callback triggers, download, store, acknowledge,
//! resume after a restart) lives in the other submodules.

pub mod check;
pub mod client;

pub use check::{
    Accepted, AttachmentContent, CheckEvidence, CheckKeys, CheckedAttachment, DecryptedFile,
    Deferred, GrammarCache, GrammarSource, Refused, Rejected, Schemas, SpooledAttachment,
    check_submission, check_submission_spooled,
};
pub use client::ClientDelivery;
pub mod run;
pub mod spool;

pub use run::{
    Counts, DeliveryError, DeliveryService, Health, Listed, Outcome, Pipeline, PipelineError,
    PipelineSettings, Posted, Router, UNREADY_AFTER_FAILED_ROUNDS,
};
