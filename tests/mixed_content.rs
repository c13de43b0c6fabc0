// Mixed content through the whole pipeline: a tool output that mixes prose, fenced code, JSON
// blocks and log/diff excerpts is split, each part goes to its own compressor with its own
// marker, and the document comes back with every fence line, heading and code block in place.
// Fixtures: tests/fixtures/text/mixed_*.md (sources in SOURCES.md). Runs natively and as wasm.

use headroom::{Config, Headroom, RequestOptions};
use serde_json::{json, Value};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const README: &str = include_str!("fixtures/text/mixed_readme_answer.md");
const SCRATCHPAD: &str = include_str!("fixtures/text/mixed_agent_scratchpad.md");

fn request(question: &str, output: &str) -> String {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read_notes", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": output},
        ]
    })
    .to_string()
}

struct Out {
    hr: Headroom,
    text: String,
    markers: Vec<String>,
    applied: Vec<String>,
    tokens: (u64, u64),
}

fn compress(question: &str, output: &str) -> Out {
    let mut hr = Headroom::new(Config::default()).unwrap();
    let req = request(question, output);
    let r = hr.compress(&req, &RequestOptions::default()).unwrap();
    let body = r.request.clone().unwrap();
    let text = body["messages"][2]["content"].as_str().unwrap().to_string();
    // Idempotent: the compressed request compresses to itself.
    let again = hr.compress(&body.to_string(), &RequestOptions::default()).unwrap();
    assert_eq!(again.request, r.request, "compressing twice must equal compressing once");
    Out { hr, text, markers: r.markers, applied: r.transforms_applied, tokens: (r.tokens_before, r.tokens_after) }
}

/// Fence lines (opening and closing) in order.
fn fences(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("```") || l.starts_with("~~~")).collect()
}

/// The body of the first fenced block whose opening line is `open`.
fn fenced_body<'a>(text: &'a str, open: &str) -> &'a str {
    let start = text.find(&format!("{open}\n")).map(|i| i + open.len() + 1).unwrap();
    let end = start + text[start..].find("\n```\n").unwrap() + 1;
    &text[start..end]
}

#[test]
fn readme_answer_keeps_its_structure_and_the_row_asked_about() {
    let q = "Which license does regex-syntax use, and which version is locked?";
    let o = compress(q, README);
    assert!(o.tokens.1 < o.tokens.0, "{:?}", o.tokens);
    let saved = 1.0 - o.tokens.1 as f64 / o.tokens.0 as f64;
    assert!(saved > 0.5, "saved {saved:.2}");
    assert!(o.applied.iter().any(|a| a == "mixed"), "{:?}", o.applied);
    assert!(o.applied.iter().any(|a| a.starts_with("smart_crusher:")), "{:?}", o.applied);
    assert_eq!(fences(&o.text), fences(README), "every fence line, in order");
    // Code passes through verbatim; so does the prose around it (too short to cut).
    assert_eq!(fenced_body(&o.text, "```rust"), fenced_body(README, "```rust"));
    assert_eq!(fenced_body(&o.text, "```sh"), fenced_body(README, "```sh"));
    assert!(o.text.starts_with("# Which crates does headroom depend on?\n"));
    assert!(o.text.ends_with("workspace itself) have `source: null`.\n"));
    // The row asked about.
    let row = o.text.lines().find(|l| l.contains("\"regex-syntax\"")).unwrap();
    assert!(row.contains("0.8.11") && row.contains("MIT OR Apache-2.0"), "{row}");
    // One marker, for the JSON block, and it gives back exactly that block.
    assert_eq!(o.markers.len(), 1, "{:?}", o.markers);
    let original = o.hr.retrieve(&o.markers[0]).unwrap().unwrap();
    assert_eq!(original, fenced_body(README, "```json"));
    assert!(fenced_body(&o.text, "```json").contains(&format!("hash={}", o.markers[0])));
}

#[test]
fn scratchpad_routes_each_part_to_its_compressor() {
    let q = "Why does test_discount_applied_once fail, and which pydantic version is installed?";
    let o = compress(q, SCRATCHPAD);
    let saved = 1.0 - o.tokens.1 as f64 / o.tokens.0 as f64;
    assert!(saved > 0.5, "saved {saved:.2} {:?}", o.tokens);
    for label in ["mixed", "log:lossy"] {
        assert!(o.applied.iter().any(|a| a == label), "{label} in {:?}", o.applied);
    }
    assert!(o.applied.iter().any(|a| a.starts_with("smart_crusher:")), "{:?}", o.applied);
    assert!(o.applied.iter().any(|a| a.starts_with("diff:")), "{:?}", o.applied);
    assert_eq!(fences(&o.text), fences(SCRATCHPAD));
    let headings: Vec<&str> = SCRATCHPAD.lines().filter(|l| l.starts_with("## ")).collect();
    let kept: Vec<&str> = o.text.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(kept, headings, "headings in order");
    for fact in [
        "tests/test_cart.py::test_discount_applied_once FAILED",
        "E       AssertionError: cart total 32.0 != 36.0 after 10% discount",
        "1 failed, 454 passed",
        "\"pydantic\"",
        "2.14.3",
        "Look at how the discount is",
    ] {
        assert!(o.text.contains(fact), "lost {fact:?}\n{}", o.text);
    }
    // Every changed line of the diff excerpt stays.
    let diff_in = fenced_body(SCRATCHPAD, "```diff");
    let diff_out = fenced_body(&o.text, "```diff");
    for l in diff_in.lines().filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("---") && !l.starts_with("+++")) {
        assert!(diff_out.lines().any(|x| x == l), "lost diff line {l:?}");
    }
    // A marker per lossy part, each giving back exactly its part.
    assert!(o.markers.len() >= 2, "{:?}", o.markers);
    let log_in = fenced_body(SCRATCHPAD, "```console");
    let originals: Vec<String> = o.markers.iter().map(|h| o.hr.retrieve(h).unwrap().unwrap()).collect();
    assert!(originals.iter().any(|x| x == log_in), "the log part is retrievable");
    for (h, original) in o.markers.iter().zip(&originals) {
        assert!(SCRATCHPAD.contains(original.as_str()), "each original is a part of the input");
        assert_eq!(o.text.matches(&format!("hash={h}")).count(), 1, "one marker per part");
    }
    let json_part = originals.iter().find(|x| x.starts_with('[')).expect("the JSON block is retrievable");
    let parsed: Value = serde_json::from_str(json_part).unwrap();
    assert_eq!(parsed.as_array().map(Vec::len), Some(71));
}

#[test]
fn deterministic_and_never_more_tokens() {
    for (q, doc) in [("which license does regex use?", README), ("what failed?", SCRATCHPAD)] {
        let a = compress(q, doc);
        let b = compress(q, doc);
        assert_eq!(a.text, b.text);
        assert!(a.tokens.1 <= a.tokens.0);
    }
    // Small mixed outputs and code-only fences pass through unchanged.
    let small = "Run this:\n\n```sh\ncargo test\n```\n\nand then:\n```json\n{\"ok\": true}\n```\n";
    let o = compress("how do I test?", small);
    assert_eq!(o.text, small);
    let code = format!("Here is the file:\n\n```rust\n{}```\n", "fn f(x: u32) -> u32 {\n    x + 1\n}\n".repeat(200));
    let o = compress("what does f do?", &code);
    assert_eq!(o.text, code, "code is never cut");
}

#[test]
fn lossless_only_keeps_every_part_recoverable() {
    // With CCR off no marker may be written: JSON blocks may still be rewritten losslessly.
    let mut config = Config::default();
    config.ccr.enabled = false;
    let mut hr = Headroom::new(config).unwrap();
    let r = hr.compress(&request("pydantic version?", SCRATCHPAD), &RequestOptions::default()).unwrap();
    let text = r.request.unwrap()["messages"][2]["content"].as_str().unwrap().to_string();
    assert!(r.markers.is_empty());
    assert!(!text.contains("headroom_retrieve"));
    assert!(text.contains(fenced_body(SCRATCHPAD, "```console")), "the log stays whole");
}
