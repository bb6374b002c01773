#![no_main]
//! The FIT-Connect client against arbitrary answers of a loopback stub: precise errors.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::client_response(data));
