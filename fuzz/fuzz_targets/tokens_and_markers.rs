//! Token counting, marker parsing, hash validation and table decoding on any input: never a
//! panic; counts agree with the tiktoken reference.
#![no_main]
use headroom::{decode_table, find_markers, Encoding, Headroom};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let a = Encoding::O200kBase.count(s);
    let b = Encoding::Cl100kBase.count(s);
    assert!(a <= s.len() && b <= s.len());
    assert_eq!(a, tiktoken_rs::o200k_base_singleton().count_ordinary(s), "o200k_base");
    assert_eq!(b, tiktoken_rs::cl100k_base_singleton().count_ordinary(s), "cl100k_base");
    for h in find_markers(s) {
        assert_eq!(h.len(), 24);
    }
    let _ = decode_table(s);
    let hr = Headroom::new(Default::default()).expect("engine");
    let _ = hr.retrieve(s);
    let _ = hr.answer_retrieve_call(&serde_json::from_str(s).unwrap_or_default());
});
