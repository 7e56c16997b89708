//! libFuzzer entry for [`okno_fuzz::geojson_territories`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| okno_fuzz::geojson_territories(data));
