#![no_main]
//! The XML reader on arbitrary bytes: no panics, and identical results whatever the buffering.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::xml_reader(data));
