#![no_main]
//! The console's list filter: any query string reads, round-trips through the page's own
//! link, and never reaches the page unescaped.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::console_forms(data));
