#![no_main]
//! `cargo fuzz run decode`: see callsift::fuzzing::decode.

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsift::fuzzing::decode(data));
