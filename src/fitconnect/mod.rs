//! FIT-Connect protocol primitives: types, metadata, SETs, problems, callbacks.
//!
//! Layer L1: pure and synchronous; "now" is always a parameter so test vectors can drive the
//! checks with a fixed clock. `capture_dir` (reading and writing a downloaded submission as a
//! directory) is the one file-I/O exception. `client` (the HTTP client of the Submission API)
//! and `sender` (the portal role on top of it) are layer L2 and do network I/O.

pub mod callback;
pub mod capture_dir;
pub mod captured;
pub mod client;
pub mod destination;
pub mod event_log;
pub mod hash;
pub mod keys;
pub mod metadata;
pub mod problems;
pub mod reply_inbox;
pub mod reply_out;
pub mod sender;
pub mod set;
pub mod types;
