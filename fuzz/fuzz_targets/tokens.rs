//! Token counting on any text: never a panic, and the same counts as the tiktoken reference
//! (tiktoken-rs, ordinary text) for both encodings, memo or not.
#![no_main]
use headroom::Encoding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let o200k = tiktoken_rs::o200k_base_singleton().encode_ordinary(s).len();
    let cl100k = tiktoken_rs::cl100k_base_singleton().encode_ordinary(s).len();
    assert_eq!(Encoding::O200kBase.count(s), o200k, "o200k_base count differs from tiktoken");
    assert_eq!(Encoding::Cl100kBase.count(s), cl100k, "cl100k_base count differs from tiktoken");
    // Again: long texts' counts are memoised; the memo must give the same answer.
    assert_eq!(Encoding::O200kBase.count(s), o200k, "memoised o200k_base count differs");
});
