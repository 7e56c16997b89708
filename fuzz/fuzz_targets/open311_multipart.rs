//! libFuzzer entry for [`okno_fuzz::open311_multipart`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::open311_multipart(data));
