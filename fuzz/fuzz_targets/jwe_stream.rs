#![no_main]
//! Streamed JWE decryption on arbitrary bytes: the in-memory path's verdict, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::jwe_stream(data));
