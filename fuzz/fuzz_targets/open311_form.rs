//! libFuzzer entry for [`okno_fuzz::open311_form`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::open311_form(data));
