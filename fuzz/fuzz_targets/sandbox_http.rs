#![no_main]
//! The sandbox's HTTP routes in-process: well-formed answers with documented statuses only.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::sandbox_http(data));
