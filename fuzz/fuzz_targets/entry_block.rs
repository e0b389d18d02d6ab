#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmine_fuzz::entry_block(data));
