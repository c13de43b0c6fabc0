//! Content detection on any text: never a panic, a confidence in [0, 1], and the same answer for
//! the same text (the router's choice must be stable).
#![no_main]
use headroom::transforms::detect::detect_content_type;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(content) = std::str::from_utf8(data) else { return };
    let d = detect_content_type(content);
    assert!((0.0..=1.0).contains(&d.confidence), "confidence {}", d.confidence);
    assert_eq!(detect_content_type(content).content_type, d.content_type, "not deterministic");
});
