#![no_main]
//! The transform in both directions: stable round trips, output valid against its JSON Schema.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::transform_round_trip(data));
