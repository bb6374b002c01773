#![no_main]
//! JSON Fachdaten on arbitrary bytes: strict reading, round trip, validation against the
//! FIM-style test pack with places that resolve, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::json_fachdaten(data));
