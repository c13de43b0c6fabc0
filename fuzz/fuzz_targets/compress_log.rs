//! Any text through the log compressor: see `check_text_compressor` in common/text.rs.
#![no_main]
#[path = "common/text.rs"]
mod text_check;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| text_check::check_text_compressor("log", data));
