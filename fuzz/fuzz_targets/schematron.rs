#![no_main]
//! The Schematron compiler and evaluator on generated rules and documents: same findings
//! whatever the buffering, processing errors never a pass; the code-list reader beside it.
libfuzzer_sys::fuzz_target!(|data: &[u8]| poststelle::fuzzing::schematron(data));
