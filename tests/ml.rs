// The ML compressor (feature `ml`) on the tiny fixture models (tests/fixtures/ml, made by
// models/fixtures/make_tiny.py): tract's logits against ONNX Runtime's recorded ones for each
// tokenizer kind, the LLMLingua-2 algorithm's properties, and the pipeline step. The fixtures are
// included as bytes, so the same tests run as wasm.
#![cfg(feature = "ml")]

use headroom::ml::llmlingua::{compress, CompressOptions, Granularity};
use headroom::ml::{Device, MlModel};
use headroom::{Config, Encoding, Headroom, RequestOptions, TokenCounter};
use serde_json::Value;
use std::sync::Arc;

mod common;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

struct Fixture {
    kind: &'static str,
    model: &'static [u8],
    tokenizer: &'static str,
    expected: &'static str,
}

const FIXTURES: [Fixture; 3] = [
    Fixture {
        kind: "wordpiece",
        model: include_bytes!("fixtures/ml/wordpiece/model.onnx"),
        tokenizer: include_str!("fixtures/ml/wordpiece/tokenizer.json"),
        expected: include_str!("fixtures/ml/wordpiece/expected.json"),
    },
    Fixture {
        kind: "unigram",
        model: include_bytes!("fixtures/ml/unigram/model.onnx"),
        tokenizer: include_str!("fixtures/ml/unigram/tokenizer.json"),
        expected: include_str!("fixtures/ml/unigram/expected.json"),
    },
    Fixture {
        kind: "bpe",
        model: include_bytes!("fixtures/ml/bpe/model.onnx"),
        tokenizer: include_str!("fixtures/ml/bpe/tokenizer.json"),
        expected: include_str!("fixtures/ml/bpe/expected.json"),
    },
];

const PROSE: &str = include_str!("fixtures/text/prose_man_grep.txt");

fn load(f: &Fixture) -> MlModel {
    MlModel::load(f.model, f.tokenizer, Device::Cpu).unwrap_or_else(|e| panic!("{}: {e}", f.kind))
}

fn counter() -> TokenCounter {
    TokenCounter::exact(Encoding::O200kBase)
}

fn opts(rate: f64) -> CompressOptions {
    CompressOptions { rate: Some(rate), ..Default::default() }
}

#[test]
fn tract_logits_match_onnx_runtime() {
    for f in &FIXTURES {
        let model = load(f);
        let samples: Vec<Value> = serde_json::from_str(f.expected).unwrap();
        let worst = common::largest_logit_difference(&model, &samples, f.kind);
        assert!(worst <= 1e-4, "{}: largest |tract - onnxruntime| logit difference {worst}", f.kind);
    }
}

#[test]
fn rate_is_met_within_two_percent() {
    for f in &FIXTURES {
        let model = load(f);
        for rate in [0.5, 0.33] {
            let r = compress(&model, PROSE, &opts(rate), counter()).unwrap();
            let actual = r.compressed_tokens as f64 / r.original_tokens as f64;
            assert!((actual - rate).abs() <= 0.02, "{}: rate {rate} gave {actual}", f.kind);
            assert_eq!(r.compressed_tokens as usize, counter().count(&r.compressed));
            assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        }
    }
}

#[test]
fn target_tokens_is_met() {
    let model = load(&FIXTURES[0]);
    let o = CompressOptions { target_tokens: Some(1500), ..Default::default() };
    let r = compress(&model, PROSE, &o, counter()).unwrap();
    assert!(r.compressed_tokens.abs_diff(1500) <= 30, "{}", r.compressed_tokens);
}

fn words_with_digits(text: &str) -> Vec<&str> {
    text.split_whitespace().filter(|w| w.bytes().any(|b| b.is_ascii_digit())).collect()
}

/// Each item of `needles` occurs in `hay` after the previous one.
fn in_order(hay: &str, needles: &[&str]) -> bool {
    let mut at = 0;
    for n in needles {
        match hay[at..].find(n) {
            Some(i) => at += i + n.len(),
            None => return false,
        }
    }
    true
}

#[test]
fn digits_are_kept_and_order_is_kept() {
    for f in &FIXTURES {
        let model = load(f);
        let r = compress(&model, PROSE, &opts(0.33), counter()).unwrap();
        let digits = words_with_digits(PROSE);
        assert!(!digits.is_empty());
        assert!(in_order(&r.compressed, &digits), "{}: a word with digits was dropped", f.kind);
        let kept: Vec<&str> = r.compressed.split_whitespace().collect();
        assert!(in_order(PROSE, &kept), "{}: the output is not the input's words in order", f.kind);
        // Without digit reservation, some go.
        let o = CompressOptions { force_reserve_digit: false, ..opts(0.2) };
        let r2 = compress(&model, PROSE, &o, counter()).unwrap();
        assert!(!in_order(&r2.compressed, &digits));
    }
}

/// Lines of distinct letter-only words (no digits: nothing is forced) and, per line, how many of
/// its words an output kept.
fn kept_per_line(lines: &[Vec<String>], out: &str) -> Vec<(usize, usize)> {
    let words: std::collections::HashSet<&str> = out.split_whitespace().collect();
    lines.iter().map(|l| (l.iter().filter(|w| words.contains(w.as_str())).count(), l.len())).collect()
}

#[test]
fn segment_granularity_keeps_or_drops_whole_lines() {
    let letters = |mut n: usize| {
        let mut w = String::new();
        loop {
            w.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                break w;
            }
        }
    };
    let lines: Vec<Vec<String>> = (0..40).map(|l| (0..8).map(|i| format!("{}x", letters(l * 8 + i + 27))).collect()).collect();
    let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
    for f in &FIXTURES {
        let model = load(f);
        let seg = CompressOptions { granularity: Granularity::Segment, ..opts(0.5) };
        let r = compress(&model, &text, &seg, counter()).unwrap();
        let actual = r.compressed_tokens as f64 / r.original_tokens as f64;
        assert!((actual - 0.5).abs() <= 0.02, "{}: rate 0.5 gave {actual}", f.kind);
        let per_line = kept_per_line(&lines, &r.compressed);
        let partial = per_line.iter().filter(|&&(k, n)| k > 0 && k < n).count();
        assert!(partial <= 1, "{}: {partial} lines partly kept: {per_line:?}", f.kind);
        assert!(per_line.iter().filter(|&&(k, _)| k == 0).count() >= 15, "{}: {per_line:?}", f.kind);
        // Word granularity on the same text cuts through lines.
        let r = compress(&model, &text, &opts(0.5), counter()).unwrap();
        let partial = kept_per_line(&lines, &r.compressed).iter().filter(|&&(k, n)| k > 0 && k < n).count();
        assert!(partial > 5, "{}: word granularity kept lines whole ({partial} partial)", f.kind);
    }
}

#[test]
fn line_structure_is_kept() {
    let model = load(&FIXTURES[1]);
    let r = compress(&model, PROSE, &opts(0.5), counter()).unwrap();
    // Lines are dropped whole or kept with their break: never more lines than the input.
    assert!(r.compressed.lines().count() <= PROSE.lines().count());
    assert!(r.compressed.lines().count() > PROSE.lines().count() / 3);
    assert_eq!(r.compressed.ends_with('\n'), PROSE.ends_with('\n'));
}

#[test]
fn force_tokens_are_kept() {
    let model = load(&FIXTURES[2]);
    let o = CompressOptions { force_tokens: vec!["grep".into(), "pattern".into()], drop_consecutive: false, ..opts(0.3) };
    let r = compress(&model, PROSE, &o, counter()).unwrap();
    // Words that are the force token, punctuation aside ("grep", "grep,"; not "fgrep").
    let count = |t: &str, w: &str| t.split_whitespace().filter(|x| x.trim_matches(|c: char| c.is_ascii_punctuation()) == w).count();
    for w in ["grep", "pattern"] {
        assert!(count(PROSE, w) > 5);
        assert!(count(&r.compressed, w) >= count(PROSE, w), "{w}");
    }
}

#[test]
fn deterministic() {
    let model = load(&FIXTURES[0]);
    let a = compress(&model, PROSE, &opts(0.4), counter()).unwrap();
    let b = compress(&model, PROSE, &opts(0.4), counter()).unwrap();
    assert_eq!(a, b);
    let model2 = load(&FIXTURES[0]);
    assert_eq!(compress(&model2, PROSE, &opts(0.4), counter()).unwrap(), a);
}

#[test]
fn past_the_deadline_text_passes_through() {
    let model = load(&FIXTURES[0]);
    let o = CompressOptions { deadline_ms: Some(0.0), ..opts(0.5) };
    let r = compress(&model, PROSE, &o, counter()).unwrap();
    assert_eq!(r.compressed, PROSE);
    assert!(r.warnings.iter().any(|w| w.contains("deadlineMs")), "{:?}", r.warnings);
}

#[test]
fn options_are_validated() {
    assert!(CompressOptions::from_json(r#"{"rate": 1.5}"#).is_err());
    assert!(CompressOptions::from_json(r#"{"rate": 0.5, "targetTokens": 10}"#).is_err());
    assert!(CompressOptions::from_json(r#"{"rat": 0.5}"#).is_err());
    assert_eq!(CompressOptions::from_json(r#"{"forceTokens": ["a"]}"#).unwrap().force_tokens, ["a"]);
    assert!(MlModel::load(b"not onnx", FIXTURES[0].tokenizer, Device::Cpu).is_err());
    assert!(MlModel::load(FIXTURES[0].model, "{}", Device::Cpu).is_err());
}

fn tool_request(output: &str) -> String {
    serde_json::json!([
        {"role": "user", "content": PROSE},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "man", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": output},
        {"role": "user", "content": "What does -r do?"}
    ])
    .to_string()
}

fn ml_engine() -> Headroom {
    let config = Config::from_json(r#"{"llmlingua": {"rate": 0.5}, "contentRouter": {"plainText": false}}"#).unwrap();
    let mut hr = Headroom::new(config).unwrap();
    hr.set_ml_model(Some(Arc::new(load(&FIXTURES[0]))));
    hr
}

#[test]
fn pipeline_compresses_tool_outputs_with_a_marker() {
    let mut hr = ml_engine();
    let r = hr.compress(&tool_request(PROSE), &RequestOptions::default()).unwrap();
    assert!(r.transforms_applied.iter().any(|t| t == "llmlingua"), "{:?} {:?}", r.transforms_applied, r.warnings);
    let msgs = r.messages.as_array().unwrap();
    assert_eq!(msgs[0]["content"], PROSE, "user messages are never compressed by default");
    let tool = msgs[2]["content"].as_str().unwrap();
    let (before, after) = (counter().count(PROSE), counter().count(tool));
    assert!(after * 100 < before * 55, "{after} of {before}");
    assert_eq!(r.markers.len(), 1);
    assert!(tool.contains(&format!("hash={}", r.markers[0])));
    assert_eq!(hr.retrieve(&r.markers[0]).unwrap().as_deref(), Some(PROSE));
}

#[test]
fn pipeline_compresses_documents_the_caller_marks() {
    let mut hr = ml_engine();
    let opts = RequestOptions { compressible_messages: Some(vec![0]), ..Default::default() };
    let r = hr.compress(&tool_request("short"), &opts).unwrap();
    let msgs = r.messages.as_array().unwrap();
    assert_ne!(msgs[0]["content"], PROSE);
    assert_eq!(msgs[3]["content"], "What does -r do?");
}

#[test]
fn pipeline_without_ccr_changes_nothing() {
    let config = Config::from_json(r#"{"llmlingua": {}, "contentRouter": {"plainText": false}, "ccr": {"enabled": false}}"#).unwrap();
    let mut hr = Headroom::new(config).unwrap();
    hr.set_ml_model(Some(Arc::new(load(&FIXTURES[0]))));
    let r = hr.compress(&tool_request(PROSE), &RequestOptions::default()).unwrap();
    assert_eq!(r.tokens_after, r.tokens_before);
}

#[test]
fn pipeline_keeps_markers_of_earlier_steps() {
    // ContentRouter's text compressor runs first and leaves a marker; the ML step keeps it.
    let config = Config::from_json(r#"{"llmlingua": {"rate": 0.5}}"#).unwrap();
    let mut hr = Headroom::new(config).unwrap();
    hr.set_ml_model(Some(Arc::new(load(&FIXTURES[0]))));
    let r = hr.compress(&tool_request(PROSE), &RequestOptions::default()).unwrap();
    let tool = r.messages[2]["content"].as_str().unwrap();
    for h in &r.markers {
        assert!(tool.contains(&format!("hash={h}")), "marker {h} lost: {:?}", r.transforms_applied);
    }
}

#[test]
fn enabled_without_a_model_warns() {
    headroom::set_shared_model(None);
    let config = Config::from_json(r#"{"llmlingua": {}, "contentRouter": {"plainText": false}}"#).unwrap();
    let mut hr = Headroom::new(config).unwrap();
    let r = hr.compress(&tool_request(PROSE), &RequestOptions::default()).unwrap();
    assert!(r.warnings.iter().any(|w| w.contains("no model is loaded")), "{:?}", r.warnings);
}

#[test]
fn logits_of_ids_outside_the_vocabulary_are_a_typed_error() {
    let model = load(&FIXTURES[0]);
    let e = model.logits(&[0, 1 << 40]).unwrap_err();
    assert_eq!(e.code, "invalid_token_id", "{e}");
    assert!(model.logits(&[-1]).is_err());
    assert!(model.logits(&[]).unwrap().is_empty());
}
