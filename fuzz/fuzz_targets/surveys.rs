#![no_main]
//! `cargo fuzz run surveys`: see callsift::fuzzing::surveys.

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsift::fuzzing::surveys(data));
