#![no_main]
//! XSD regex translation against a reference matcher.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::xsd_regex(data));
