//! The shared check for the text-compressor targets (`compress_search`, `compress_log`,
//! `compress_diff`, `compress_text`).
use headroom::config::ContentRouterConfig;
use headroom::transforms::router::TextKind;
use headroom::{Encoding, Headroom};

/// Any text through the `kind` compressor, standalone and through the engine's CCR path: never a
/// panic; deterministic; the engine's result never has more tokens than the input, and when it
/// dropped something its hash retrieves the exact input.
pub fn check_text_compressor(kind: &str, data: &[u8]) {
    let Ok(content) = std::str::from_utf8(data) else { return };
    // The first line doubles as the query, so the fuzzer explores query matching too.
    let query = content.lines().next().unwrap_or("");
    let k = TextKind::from_name(kind).expect("a known compressor");
    let cfg = ContentRouterConfig::default();
    let a = k.run(content, query, &cfg);
    let b = k.run(content, query, &cfg);
    assert_eq!(a.compressed, b.compressed, "not deterministic");
    let hr = Headroom::new(Default::default()).expect("engine");
    let r = hr.compress_text(kind, content, query, "").expect("default config");
    let count = |s: &str| Encoding::O200kBase.count(s);
    assert!(count(&r.compressed) <= count(content), "output has more tokens than the input");
    if let Some(h) = &r.hash {
        assert_eq!(hr.retrieve(h).expect("hash").as_deref(), Some(content), "marker does not retrieve the input");
        assert!(r.compressed.contains(h.as_str()), "lossy output without its marker");
    }
}
