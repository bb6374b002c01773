#![no_main]
//! Root sniffing agrees with the full reader's first element, whatever the buffering.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::root_sniff(data));
