#![no_main]
//! XSD validation of arbitrary bytes against XBau 2.6 (properties in `poststelle::fuzzing`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::validate_xbau(data));
