#![no_main]
//! SET verification against a signing oracle and a reference of the FIT-Connect rules.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::set_verify(data));
