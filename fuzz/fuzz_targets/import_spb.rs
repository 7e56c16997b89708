//! libFuzzer entry for [`okno_fuzz::import_spb`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::import_spb(data));
