#![no_main]
//! Streamed JWE decryption against the in-memory path, on raw and self-encrypted tokens.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::jwe_stream(data));
