#![no_main]
//! The event-log check of the client and of the pipeline decide alike.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::event_log(data));
