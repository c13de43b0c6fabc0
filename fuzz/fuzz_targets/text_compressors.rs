//! Any text through detection and each text compressor: never a panic, never longer than the
//! input, deterministic.
#![no_main]
use headroom::transforms::{detect, diff, log, search, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(content) = std::str::from_utf8(data) else { return };
    let _ = detect::detect_content_type(content);
    let query = "error in src/main.rs";
    let outs = [
        search::compress(content, query, &Default::default()),
        log::compress(content, query, &Default::default()),
        diff::compress(content, query, &Default::default()),
        text::compress(content, query, &Default::default()),
    ];
    for o in &outs {
        assert!(o.compressed.len() <= content.len(), "output longer than input");
    }
    assert_eq!(search::compress(content, query, &Default::default()).compressed, outs[0].compressed, "deterministic");
});
