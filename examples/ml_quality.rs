//! Compressed versions of held-out texts for the ML quality benchmark (benches/ml_quality.sh):
//! for each text, at each rate, the output of the ML compressor (the default model through the
//! shipped LLMLingua-2 path, tract), of random word dropping (the same algorithm with a classifier
//! that scores words at random, so the same digit reservation, rate search and rendering apply),
//! and of `TextCompressor` (the engine's non-ML prose compressor, its target ratio searched so its
//! output lands closest to the rate; `mlsize@` is the ML compressor given exactly TextCompressor's
//! output size, since whole blocks rarely land on the rate). Tokens are the target LLM's
//! (o200k_base, gpt-4o).
//!
//! cargo run --release --features ml --example ml_quality -- MODEL.onnx TOKENIZER.json IN.jsonl OUT.jsonl
//! IN.jsonl: one `{"id", "source", "text"}` per line. OUT.jsonl: one line per text with every
//! variant's text, token count and digit-bearing words kept.

use headroom::ml::llmlingua::{compress, CompressOptions, Granularity};
use headroom::ml::{Device, MlModel, TokenClassifier};
use headroom::transforms::text::{compress as text_compress, TextConfig};
use headroom::{Encoding, Result, TokenCounter};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::time::Instant;

const RATES: [f64; 2] = [0.5, 0.33];

/// Scores every word at random: a WordPiece continuation (`##…`) repeats the score of the token
/// before it, so a word's mean probability is one uniform draw whatever its length.
struct RandomClassifier {
    continuation: Vec<bool>,
    seed: u64,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl TokenClassifier for RandomClassifier {
    fn logits(&self, input_ids: &[i64]) -> Result<Vec<[f32; 2]>> {
        // Deterministic per window: the seed mixed with the window's ids.
        let mut h = self.seed;
        for &id in input_ids {
            h = splitmix(h ^ id as u64);
        }
        let mut p = 0.5f32;
        Ok(input_ids
            .iter()
            .enumerate()
            .map(|(i, &id)| {
                let cont = usize::try_from(id).ok().and_then(|i| self.continuation.get(i)).copied().unwrap_or(false);
                if !cont {
                    let r = splitmix(h ^ (i as u64).wrapping_mul(0x1000_0000_01B3));
                    p = ((r >> 11) as f64 / (1u64 << 53) as f64).clamp(1e-6, 1.0 - 1e-6) as f32;
                }
                [0.0, (p / (1.0 - p)).ln()] // softmax class 1 = p
            })
            .collect())
    }

    fn backend(&self) -> &'static str {
        "random"
    }
}

/// Digit-bearing words of `original` and how many of them appear, in order, in `compressed`.
fn digits_kept(original: &str, compressed: &str) -> (usize, usize) {
    let words: Vec<&str> = original.split_whitespace().filter(|w| w.bytes().any(|b| b.is_ascii_digit())).collect();
    let mut at = 0;
    let mut kept = 0;
    for w in &words {
        if let Some(i) = compressed[at..].find(w) {
            at += i + w.len();
            kept += 1;
        }
    }
    (words.len(), kept)
}

/// One compressed version; `warnings` counts the algorithm's warnings (e.g. the words that must be
/// kept already exceed the target).
fn variant(counter: TokenCounter, original: &str, text: &str, ms: f64, warnings: usize) -> Value {
    let (digit_words, digit_kept) = digits_kept(original, text);
    json!({"text": text, "tokens": counter.count(text), "digit_words": digit_words, "digit_kept": digit_kept, "ms": ms, "warnings": warnings})
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, tok_path, input, output] = args.as_slice() else {
        eprintln!("usage: ml_quality MODEL.onnx TOKENIZER.json IN.jsonl OUT.jsonl");
        std::process::exit(2);
    };
    let bytes = std::fs::read(model_path).expect("model file");
    let tok = std::fs::read_to_string(tok_path).expect("tokenizer file");
    let model = MlModel::load(&bytes, &tok, Device::Cpu).expect("model loads");
    let vocab: Value = serde_json::from_str(&tok).expect("tokenizer json");
    let mut continuation = Vec::new();
    for (token, id) in vocab["model"]["vocab"].as_object().expect("a WordPiece vocab") {
        let id = id.as_u64().expect("id") as usize;
        if continuation.len() <= id {
            continuation.resize(id + 1, false);
        }
        continuation[id] = token.starts_with("##");
    }
    let random = MlModel::with_classifier(Box::new(RandomClassifier { continuation, seed: 0x5EED }), &tok).expect("random");
    let counter = TokenCounter::exact(Encoding::O200kBase);

    let reader = std::io::BufReader::new(std::fs::File::open(input).expect("input"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(output).expect("output"));
    let mut n = 0;
    for line in reader.lines() {
        let rec: Value = serde_json::from_str(&line.expect("line")).expect("json line");
        let text = rec["text"].as_str().expect("text");
        let original_tokens = counter.count(text);
        let mut variants = serde_json::Map::new();
        for rate in RATES {
            let opts = CompressOptions { rate: Some(rate), ..Default::default() };
            let t = Instant::now();
            let r = compress(&model, text, &opts, counter).expect("ml compress");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            variants.insert(format!("ml@{rate}"), variant(counter, text, &r.compressed, ms, r.warnings.len()));
            let r = compress(&random, text, &opts, counter).expect("random compress");
            variants.insert(format!("random@{rate}"), variant(counter, text, &r.compressed, 0.0, r.warnings.len()));
            // TextCompressor keeps whole blocks; pick the target ratio whose output is closest.
            let mut best: Option<(f64, String)> = None;
            for step in 1..=100 {
                let cfg = TextConfig { target_ratio: step as f64 / 100.0, min_chars: 0, ..TextConfig::default() };
                let c = text_compress(text, "", &cfg).compressed;
                let miss = (counter.count(&c) as f64 / original_tokens.max(1) as f64 - rate).abs();
                if best.as_ref().is_none_or(|(m, _)| miss < *m) {
                    best = Some((miss, c));
                }
            }
            let c = best.map(|b| b.1).unwrap_or_else(|| text.to_string());
            let text_tokens = counter.count(&c) as u64;
            variants.insert(format!("text@{rate}"), variant(counter, text, &c, 0.0, 0));
            // The ML compressor held to TextCompressor's output size, for a like-for-like comparison.
            let opts = CompressOptions { target_tokens: Some(text_tokens), ..Default::default() };
            let r = compress(&model, text, &opts, counter).expect("ml compress");
            variants.insert(format!("mlsize@{rate}"), variant(counter, text, &r.compressed, 0.0, r.warnings.len()));
            // Segment granularity (whole lines and sentences ranked by the model), at the rate
            // and at TextCompressor's size.
            let seg = CompressOptions { rate: Some(rate), granularity: Granularity::Segment, ..Default::default() };
            let r = compress(&model, text, &seg, counter).expect("ml compress");
            variants.insert(format!("seg@{rate}"), variant(counter, text, &r.compressed, 0.0, r.warnings.len()));
            let seg = CompressOptions { target_tokens: Some(text_tokens), granularity: Granularity::Segment, ..Default::default() };
            let r = compress(&model, text, &seg, counter).expect("ml compress");
            variants.insert(format!("segsize@{rate}"), variant(counter, text, &r.compressed, 0.0, r.warnings.len()));
        }
        let row = json!({"id": rec["id"], "source": rec["source"], "text": text, "original_tokens": original_tokens, "variants": variants});
        writeln!(out, "{row}").expect("write");
        n += 1;
    }
    eprintln!("{n} texts written to {output}");
}
