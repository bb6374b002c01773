//! FIT-Connect protocol primitives: types, metadata, SETs, problems, callbacks.
//!
//! Layer L1: pure and synchronous; "now" is always a parameter so test vectors can drive the
//! checks with a fixed clock. The HTTP client lives elsewhere.

pub mod callback;
pub mod hash;
pub mod keys;
pub mod metadata;
pub mod problems;
pub mod set;
