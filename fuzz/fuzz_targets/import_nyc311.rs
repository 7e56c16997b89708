//! libFuzzer entry for [`okno_fuzz::import_nyc311`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::import_nyc311(data));
