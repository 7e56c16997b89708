//! libFuzzer entry for [`okno_fuzz::csv_rows`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::csv_rows(data));
