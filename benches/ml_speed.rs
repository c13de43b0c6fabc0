//! Speed of the ML compressor natively (tract, one thread): one full window (512 tokens with the
//! default model) through the classifier alone, and through the whole LLMLingua-2 compress call.
//!
//! cargo bench --features ml --bench ml_speed -- [MODEL.onnx TOKENIZER.json] [RUNS]
//! (default: the tiny WordPiece fixture). With `--features cuda` the ort backend runs instead
//! (device from HEADROOM_ML_DEVICE: auto, cpu or cuda).
//!
//! The window is the start of tests/fixtures/text/prose_man_grep.txt that fills one window. The
//! last line printed is one JSON object: the timings, the window (its text and the ids the model
//! sees) and the window's logits, which `benches/ml_bench.mjs` hands to the other runtimes so
//! every runtime scores the same ids and their outputs can be compared.

use headroom::ml::llmlingua::{compress, CompressOptions};
use headroom::ml::{Device, MlModel};
use headroom::{Encoding, TokenCounter};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (model_path, tok_path) = match args.as_slice() {
        [m, t, ..] => (m.clone(), t.clone()),
        _ => ("tests/fixtures/ml/wordpiece/model.onnx".into(), "tests/fixtures/ml/wordpiece/tokenizer.json".into()),
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(10).max(1);
    let device = match std::env::var("HEADROOM_ML_DEVICE").as_deref() {
        Ok("cuda") => Device::Cuda,
        Ok("cpu") => Device::Cpu,
        _ => Device::Auto,
    };
    let bytes = std::fs::read(&model_path).expect("model file");
    let tok = std::fs::read_to_string(&tok_path).expect("tokenizer file");
    let t0 = Instant::now();
    let model = MlModel::load(&bytes, &tok, device).expect("model loads");
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;

    // A text that fills one window exactly.
    let prose = include_str!("../tests/fixtures/text/prose_man_grep.txt");
    let toks = model.tokenize(prose).expect("tokenize");
    let cap = model.window_capacity().min(toks.offsets.len());
    let end = toks.offsets[cap - 1].1;
    let text = &prose[..end];
    let ids = model.window_ids(&toks.ids[..cap]);
    let n = ids.len();

    // Warm-up, then `runs` timed runs; times in ms, sorted.
    let time = |f: &mut dyn FnMut()| -> Vec<f64> {
        f();
        let mut v: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let logits = model.logits(&ids).expect("logits");
    let classifier = time(&mut || {
        model.logits(&ids).expect("logits");
    });
    let counter = TokenCounter::exact(Encoding::O200kBase);
    let opts = CompressOptions { rate: Some(0.5), ..Default::default() };
    let full = time(&mut || {
        compress(&model, text, &opts, counter).expect("compress");
    });
    let median = |v: &[f64]| v[v.len() / 2];
    println!("model {model_path} ({:.1} MB), backend {}, load {load_ms:.0} ms", bytes.len() as f64 / 1e6, model.backend());
    println!("window text: the first {} bytes of prose_man_grep.txt", text.len());
    println!("one {n}-token window: classifier {:.1} ms = {:.0} tokens/s", median(&classifier), n as f64 / median(&classifier) * 1e3);
    println!("one {n}-token window: compress() {:.1} ms = {:.0} tokens/s (median of {runs})", median(&full), n as f64 / median(&full) * 1e3);

    // Machine-readable, last line.
    let r3 = |v: &[f64]| v.iter().map(|x| (x * 1e3).round() / 1e3).collect::<Vec<_>>();
    let flat: Vec<f64> = logits.iter().flat_map(|l| l.iter().map(|&x| (x as f64 * 1e5).round() / 1e5)).collect();
    let out = serde_json::json!({
        "backend": model.backend(),
        "loadMs": (load_ms * 10.0).round() / 10.0,
        "modelBytes": bytes.len(),
        "runs": runs,
        "classifierMs": r3(&classifier),
        "compressMs": r3(&full),
        "window": { "tokens": n, "textBytes": text.len(), "text": text, "ids": ids },
        "logits": flat,
    });
    println!("{out}");
}
