#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmine_fuzz::outside_text(data));
