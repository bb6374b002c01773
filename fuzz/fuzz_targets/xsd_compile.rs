#![no_main]
//! The XSD compiler on arbitrary schema documents, with an instance validated and transformed.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::xsd_compile(data));
