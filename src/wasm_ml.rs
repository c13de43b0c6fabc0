//! The wasm-bindgen layer of the ML compressor (`ml` builds): loads the process-wide model from
//! bytes the JS loader fetched, and runs the LLMLingua-2 algorithm on it. Like `wasm`, every
//! export converts its input, calls one engine function and converts the output.

use crate::error::Error;
use crate::ml::llmlingua::{compress, CompressOptions};
use crate::ml::{set_shared_model, shared_model, Device, MlModel};
use crate::tokens::{model_info, TokenCounter};
use crate::wasm::to_js;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// Id of the loaded model (0: none), so a compressor object notices its model was replaced.
static MODEL_ID: AtomicU32 = AtomicU32::new(0);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Loads `model` (ONNX bytes) with its `tokenizer.json` text as the process-wide model, replacing
/// any other; returns its id. The bytes are taken by value so they are freed before tract
/// optimises the graph (wasm memory never shrinks: the load's peak is what the instance keeps).
#[wasm_bindgen(js_name = mlLoadModel)]
pub fn ml_load_model(model: Vec<u8>, tokenizer_json: &str) -> Result<u32, JsValue> {
    // The old model goes first, so its memory can be reused by the new one.
    set_shared_model(None);
    let m = MlModel::load_owned(model, tokenizer_json, Device::Cpu).map_err(to_js)?;
    set_shared_model(Some(Arc::new(m)));
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    MODEL_ID.store(id, Ordering::Relaxed);
    Ok(id)
}

/// Frees the model.
#[wasm_bindgen(js_name = mlUnloadModel)]
pub fn ml_unload_model() {
    set_shared_model(None);
    MODEL_ID.store(0, Ordering::Relaxed);
}

/// The loaded model's id, 0 when none.
#[wasm_bindgen(js_name = mlModelId)]
pub fn ml_model_id() -> u32 {
    if shared_model().is_some() {
        MODEL_ID.load(Ordering::Relaxed)
    } else {
        0
    }
}

/// Compresses `text` with the loaded model. `options_json`: `CompressOptions` plus `model`, the
/// target LLM whose tokens are counted (default gpt-4o). Returns the JSON of the result.
#[wasm_bindgen(js_name = mlCompress)]
pub fn ml_compress(text: &str, options_json: Option<String>) -> Result<String, JsValue> {
    let mut opts: serde_json::Map<String, serde_json::Value> = match options_json.as_deref().map(str::trim) {
        None | Some("") | Some("null") => serde_json::Map::new(),
        Some(t) => serde_json::from_str(t)
            .map_err(|e| to_js(Error::config("invalid_options", format!("invalid compress options: {e}"))))?,
    };
    let llm = match opts.remove("model") {
        None | Some(serde_json::Value::Null) => crate::Config::default().model,
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(to_js(Error::config("invalid_options", "options.model must be a model name"))),
    };
    let options = CompressOptions::from_json(&serde_json::Value::Object(opts).to_string()).map_err(to_js)?;
    let model = shared_model()
        .ok_or_else(|| to_js(Error::config("model_not_loaded", "no model is loaded: await LLMLinguaCompressor.load() first")))?;
    let counter = TokenCounter::for_model(&model_info(&llm, &Default::default()));
    let r = compress(&model, text, &options, counter).map_err(to_js)?;
    crate::engine::to_json_text(&r).map_err(to_js)
}

/// The loaded model's raw logits for one window of token ids that already carry their special
/// tokens, flattened `[class0, class1]` per token. For benchmarks (`benches/ml_speed.mjs` times
/// the classifier alone and checks its output against the other runtimes); not part of the
/// package's JS API.
#[wasm_bindgen(js_name = mlLogits)]
pub fn ml_logits(input_ids: Vec<i64>) -> Result<Vec<f32>, JsValue> {
    let model = shared_model().ok_or_else(|| to_js(Error::config("model_not_loaded", "no model is loaded")))?;
    let logits = model.logits(&input_ids).map_err(to_js)?;
    Ok(logits.into_iter().flatten().collect())
}
