//! Any text through the search compressor, standalone and through the engine's CCR path: never a
//! panic; deterministic; the engine's result never has more tokens than the input, and when it
//! dropped something its hash retrieves the exact input.
#![no_main]
use headroom::transforms::search;
use headroom::{Encoding, Headroom};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(content) = std::str::from_utf8(data) else { return };
    // The first line doubles as the query, so the fuzzer explores query matching too.
    let query = content.lines().next().unwrap_or("");
    let a = search::compress(content, query, &Default::default());
    let b = search::compress(content, query, &Default::default());
    assert_eq!(a.compressed, b.compressed, "not deterministic");
    let hr = Headroom::new(Default::default()).expect("engine");
    let r = hr.compress_text("search", content, query, "").expect("default config");
    let count = |s: &str| Encoding::O200kBase.count(s);
    assert!(count(&r.compressed) <= count(content), "output has more tokens than the input");
    match &r.hash {
        Some(h) => {
            assert_eq!(hr.retrieve(h).expect("hash").as_deref(), Some(content), "marker does not retrieve the input");
            assert!(r.compressed.contains(h.as_str()), "lossy output without its marker");
        }
        None => {}
    }
});
