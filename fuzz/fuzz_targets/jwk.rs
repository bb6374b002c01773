#![no_main]
//! JWK, JWKS, x5c and PKCS#8 import: round trips, stable thumbprints, changed certificates refused.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::jwk(data));
