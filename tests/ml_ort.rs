// The ONNX Runtime backend (feature `cuda`) on the CPU, with the library from the PyPI
// onnxruntime wheel (scripts/setup.sh ort, or ORT_DYLIB_PATH): the same logits as the recorded
// ONNX Runtime outputs and the same keep decisions as tract on the test texts.
#![cfg(feature = "cuda")]

use headroom::ml::llmlingua::{compress, CompressOptions};
use headroom::ml::ort::OrtClassifier;
use headroom::ml::tract::TractClassifier;
use headroom::ml::{Device, MlModel};
use headroom::{Encoding, TokenCounter};
use serde_json::Value;

const KINDS: [(&str, &[u8], &str, &str); 3] = [
    ("wordpiece", include_bytes!("fixtures/ml/wordpiece/model.onnx"), include_str!("fixtures/ml/wordpiece/tokenizer.json"), include_str!("fixtures/ml/wordpiece/expected.json")),
    ("unigram", include_bytes!("fixtures/ml/unigram/model.onnx"), include_str!("fixtures/ml/unigram/tokenizer.json"), include_str!("fixtures/ml/unigram/expected.json")),
    ("bpe", include_bytes!("fixtures/ml/bpe/model.onnx"), include_str!("fixtures/ml/bpe/tokenizer.json"), include_str!("fixtures/ml/bpe/expected.json")),
];

/// ORT_DYLIB_PATH, or the library scripts/setup.sh installs under .tools/ort.
fn ensure_ort() {
    if std::env::var("ORT_DYLIB_PATH").is_ok_and(|p| !p.is_empty()) {
        return;
    }
    let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/ort/lib");
    let found = std::fs::read_dir(&lib).ok().into_iter().flatten().flatten().find_map(|py| {
        let capi = py.path().join("site-packages/onnxruntime/capi");
        std::fs::read_dir(capi).ok()?.flatten().map(|f| f.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so."))
        })
    });
    let path = found.expect("no ONNX Runtime library: run scripts/setup.sh ort, or set ORT_DYLIB_PATH");
    std::env::set_var("ORT_DYLIB_PATH", path);
}

#[test]
fn ort_cpu_logits_match_recorded_outputs() {
    ensure_ort();
    for (kind, model, tok, expected) in KINDS {
        let m = MlModel::with_classifier(Box::new(OrtClassifier::load(model, Device::Cpu).unwrap()), tok).unwrap();
        assert_eq!(m.backend(), "ort-cpu");
        let samples: Vec<Value> = serde_json::from_str(expected).unwrap();
        for s in &samples {
            let ids: Vec<i64> = s["ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
            let got = m.logits(&ids).unwrap();
            for (g, w) in got.iter().zip(s["logits"].as_array().unwrap()) {
                for c in 0..2 {
                    assert!((g[c] - w[c].as_f64().unwrap() as f32).abs() <= 1e-4, "{kind}");
                }
            }
        }
    }
}

#[test]
fn ort_and_tract_keep_the_same_words() {
    ensure_ort();
    let counter = TokenCounter::exact(Encoding::O200kBase);
    let texts = [
        include_str!("fixtures/text/prose_man_grep.txt"),
        include_str!("fixtures/text/log_pytest_fail.txt"),
        include_str!("fixtures/text/prose_regex_changelog.md"),
    ];
    for (kind, model, tok, _) in KINDS {
        let ort = MlModel::with_classifier(Box::new(OrtClassifier::load(model, Device::Cpu).unwrap()), tok).unwrap();
        let tract = MlModel::with_classifier(Box::new(TractClassifier::load(model).unwrap()), tok).unwrap();
        for text in texts {
            for rate in [0.5, 0.33] {
                let o = CompressOptions { rate: Some(rate), ..Default::default() };
                let a = compress(&ort, text, &o, counter).unwrap();
                let b = compress(&tract, text, &o, counter).unwrap();
                assert_eq!(a.compressed, b.compressed, "{kind} at {rate}");
            }
        }
    }
}

#[test]
fn device_auto_and_cuda() {
    ensure_ort();
    let (_, model, tok, _) = KINDS[0];
    let m = MlModel::load(model, tok, Device::Auto).unwrap();
    assert!(m.backend().starts_with("ort-"));
    // The CPU wheel has no CUDA provider: asking for it is a clear error, not a silent CPU run.
    if m.backend() == "ort-cpu" {
        assert_eq!(MlModel::load(model, tok, Device::Cuda).unwrap_err().code, "cuda_unavailable");
    }
}
