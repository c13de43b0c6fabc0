// The shipped default model (models/default) through tract: its logits on fixed inputs match the
// ONNX Runtime outputs recorded by models/fixtures/record_default.py within 1e-4, and the
// LLMLingua-2 path meets the rate on a real text with it. CI never retrains; this catches a
// changed model file, a tract upgrade that changes the math, or a tokenizer drift.
#![cfg(feature = "ml")]

use headroom::ml::llmlingua::{compress, CompressOptions};
use headroom::ml::{Device, MlModel};
use headroom::{Encoding, TokenCounter};
use serde_json::Value;

mod common;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const MODEL: &[u8] = include_bytes!("../models/default/model.onnx");
const TOKENIZER: &str = include_str!("../models/default/tokenizer.json");
const EXPECTED: &str = include_str!("fixtures/ml/default_expected.json");

fn load() -> MlModel {
    MlModel::load(MODEL, TOKENIZER, Device::Cpu).unwrap_or_else(|e| panic!("the default model does not load: {e}"))
}

#[test]
fn default_model_logits_match_onnx_runtime() {
    let model = load();
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    let samples = expected["samples"].as_array().unwrap();
    assert!(samples.len() >= 4);
    let worst = common::largest_logit_difference(&model, samples, "the default model");
    eprintln!("largest |tract - onnxruntime| logit difference: {worst:e}");
    assert!(worst <= 1e-4, "largest |tract - onnxruntime| logit difference: {worst}");
}

#[test]
fn default_model_meets_the_rate_and_keeps_digits() {
    let model = load();
    let counter = TokenCounter::exact(Encoding::O200kBase);
    // About three windows of a man page (the whole file is slow in an unoptimised wasm test).
    let prose = include_str!("fixtures/text/prose_man_grep.txt");
    let text = &prose[..prose[..6000].rfind('\n').unwrap() + 1];
    for rate in [0.5, 0.33] {
        let r = compress(&model, text, &CompressOptions { rate: Some(rate), ..Default::default() }, counter).unwrap();
        let actual = r.compressed_tokens as f64 / r.original_tokens as f64;
        assert!((actual - rate).abs() <= 0.02, "rate {rate} gave {actual}");
        let digits = text.split_whitespace().filter(|w| w.bytes().any(|b| b.is_ascii_digit()));
        let mut at = 0;
        for w in digits {
            let i = r.compressed[at..].find(w).unwrap_or_else(|| panic!("{w:?} was dropped at rate {rate}"));
            at += i + w.len();
        }
    }
}

// Native only: a dozen compressions are slow in an unoptimised wasm test build.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn default_model_meets_the_rate_on_short_code_and_tool_output() {
    // Chunks of ~1,200 bytes of a diff, search results, a changelog and a build log, like the
    // held-out texts of benches/ml_quality.sh: short texts with long words (paths, code lines).
    let model = load();
    let counter = TokenCounter::exact(Encoding::O200kBase);
    let sources = [
        include_str!("fixtures/text/diff_clap_builder.txt"),
        include_str!("fixtures/text/search_serde_json_fn.txt"),
        include_str!("fixtures/text/prose_regex_changelog.md"),
        include_str!("fixtures/text/log_cargo_build_fail.txt"),
    ];
    let (mut checked, mut missed) = (0, Vec::new());
    for src in sources {
        let mut rest = src;
        for _ in 0..6 {
            let Some(cut) = rest.get(..rest.len().min(1200)).and_then(|h| h.rfind('\n')) else { break };
            let (chunk, tail) = rest.split_at(cut + 1);
            rest = tail;
            if counter.count(chunk) < 100 {
                continue; // one word can be over 2% of a shorter text
            }
            for rate in [0.5, 0.33] {
                let r = compress(&model, chunk, &CompressOptions { rate: Some(rate), ..Default::default() }, counter).unwrap();
                if !r.warnings.is_empty() {
                    continue; // the digits alone are over the target
                }
                let actual = r.compressed_tokens as f64 / r.original_tokens as f64;
                checked += 1;
                if (actual - rate).abs() > 0.02 {
                    missed.push((rate, actual, r.original_tokens));
                }
            }
        }
    }
    assert!(checked >= 12, "only {checked} cases were checked");
    assert!(missed.is_empty(), "{} of {checked} missed the rate by over 2%: {missed:?}", missed.len());
}
