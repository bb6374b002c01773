#![no_main]
//! `check_submission` on structure-aware submissions: never accepts what the reference rejects.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::check_submission(data));
