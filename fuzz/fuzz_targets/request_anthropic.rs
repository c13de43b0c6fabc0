//! Any bytes as an Anthropic request (seeded with the test fixtures and examples): never a panic;
//! the output parses as the same format, keeps every call's result, never has more tokens, is
//! deterministic and idempotent, and its markers are retrievable. See `common::check_request`.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        common::check_request(text, headroom::Provider::Anthropic);
    }
});
