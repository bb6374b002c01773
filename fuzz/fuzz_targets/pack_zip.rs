#![no_main]
//! Schema pack zips: read within limits, escaping names refused.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::pack_zip(data));
