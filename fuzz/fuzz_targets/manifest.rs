#![no_main]
//! `cargo fuzz run manifest`: see callsift::fuzzing::manifest.

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsift::fuzzing::manifest(data));
