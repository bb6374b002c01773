#![no_main]
//! FIT-Connect metadata: validation, the typed model, re-serialization, violations without values.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::metadata(data));
