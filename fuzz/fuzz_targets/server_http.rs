#![no_main]
//! The gateway's HTTP routes in-process: well-formed answers with documented statuses only.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::server_http(data));
