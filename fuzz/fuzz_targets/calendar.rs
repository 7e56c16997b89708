//! libFuzzer entry for [`okno_fuzz::calendar`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::calendar(data));
