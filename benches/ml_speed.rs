//! Speed of the ML compressor natively: tokens/s of one full window (512 tokens by default)
//! through the classifier alone, and through the whole LLMLingua-2 compress call.
//!
//! cargo bench --features ml --bench ml_speed -- [MODEL.onnx TOKENIZER.json] [RUNS]
//! (default: the tiny WordPiece fixture). With `--features cuda` the ort backend runs instead
//! (device from HEADROOM_ML_DEVICE: auto, cpu or cuda).

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
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(10);
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
    let cap = model.window_capacity();
    let end = toks.offsets[cap.min(toks.offsets.len()) - 1].1;
    let text = &prose[..end];
    let ids = model.window_ids(&toks.ids[..cap]);
    let n = ids.len();

    let time = |f: &mut dyn FnMut()| -> f64 {
        f(); // warm-up
        let mut v: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let logits = time(&mut || {
        model.logits(&ids).expect("logits");
    });
    let counter = TokenCounter::exact(Encoding::O200kBase);
    let opts = CompressOptions { rate: Some(0.5), ..Default::default() };
    let full = time(&mut || {
        compress(&model, text, &opts, counter).expect("compress");
    });
    println!("model {model_path} ({:.1} MB), backend {}, load {load_ms:.0} ms", bytes.len() as f64 / 1e6, model.backend());
    println!("window text: the first {} bytes of prose_man_grep.txt", text.len());
    println!("one {n}-token window: classifier {:.1} ms = {:.0} tokens/s", logits * 1e3, n as f64 / logits);
    println!("one {n}-token window: compress() {:.1} ms = {:.0} tokens/s (median of {runs})", full * 1e3, n as f64 / full);
}
