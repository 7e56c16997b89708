//! libFuzzer entry for [`okno_fuzz::json_intake`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::json_intake(data));
