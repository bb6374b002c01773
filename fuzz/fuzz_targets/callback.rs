#![no_main]
//! Callback verification: verify(sign(x)) accepts once, any one-byte change refuses.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::callback(data));
