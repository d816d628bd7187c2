#![no_main]
//! `cargo fuzz run rules`: see callsift::fuzzing::rules.

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsift::fuzzing::rules(data));
