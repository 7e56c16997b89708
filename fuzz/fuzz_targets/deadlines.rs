//! libFuzzer entry for [`okno_fuzz::deadlines`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::deadlines(data));
