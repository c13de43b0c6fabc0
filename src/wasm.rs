//! The wasm-bindgen layer, and the only module that imports it. Every export converts its input,
//! calls one engine method and converts the output; every error goes through `to_js`. Requests
//! and results cross the boundary as JSON text: one copy each way instead of a walk over JS
//! objects field by field.

use crate::config::Config;
use crate::engine::{parse_options, to_json_text, Headroom};
use crate::error::Error;
use wasm_bindgen::prelude::*;

/// An engine error as a JS `Error` carrying `headroomError`: the JSON of
/// `{ name, code, message, details }`. The JS layer turns it into the matching class.
pub(crate) fn to_js(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    err.set_name(e.kind.class_name());
    let _ = js_sys::Reflect::set(&err, &"headroomError".into(), &e.to_json().to_string().into());
    err.into()
}

/// Gives the allocator room after a call that grew wasm memory: at least a sixteenth of the
/// memory (1 to 16 MiB) is left free at the top of the heap (wasm memory never shrinks), so the
/// next calls grow it rarely. V8 counts each grown memory's new buffer as fresh external memory
/// and answers nearly every grow with a young-generation GC ("external memory pressure", up to
/// a full GC as memory gets large): an instance whose CCR store keeps filling grew on nearly
/// every call (one 180 KB original each), paying 0.5-1 ms of GC per call.
///
/// Blocks of that size are taken until one of them grows memory, then all are freed: blocks
/// that fit in holes left by earlier calls go back to them, and the last one, carved from the
/// grown top, stays free there. Never touched, those pages cost no physical memory.
fn grow_ahead() {
    use std::cell::Cell;
    thread_local! {
        static SEEN: Cell<usize> = const { Cell::new(0) };
    }
    let size = || core::arch::wasm32::memory_size::<0>().saturating_mul(65536);
    SEEN.with(|seen| {
        let now = size();
        if now <= seen.get() {
            return;
        }
        let block = (now / 16).clamp(1 << 20, 16 << 20);
        let mut held: Vec<Vec<u8>> = Vec::new();
        // Bounded: at most one block per sixteenth of memory before one comes from the top.
        while size() == now && held.len() <= 16 {
            let mut room: Vec<u8> = Vec::new();
            // Out of memory is no reservation (and no abort): the next call grows as it must.
            if room.try_reserve_exact(block).is_err() {
                break;
            }
            held.push(room);
        }
        drop(held);
        seen.set(size());
    });
}

fn config_from(config_json: Option<String>) -> Result<Config, JsValue> {
    Config::from_json(config_json.as_deref().unwrap_or("")).map_err(to_js)
}

#[wasm_bindgen]
pub struct WasmHeadroom {
    inner: Headroom,
}

#[wasm_bindgen]
impl WasmHeadroom {
    /// `config_json`: the JSON of the config object, or undefined for defaults.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: Option<String>) -> Result<WasmHeadroom, JsValue> {
        let inner = Headroom::new(config_from(config_json)?).map_err(to_js)?;
        Ok(WasmHeadroom { inner })
    }

    /// A new engine with its own config that shares this one's CCR store.
    #[wasm_bindgen(js_name = withSharedStore)]
    pub fn with_shared_store(&self, config_json: Option<String>) -> Result<WasmHeadroom, JsValue> {
        let inner = Headroom::with_store(config_from(config_json)?, self.inner.store().clone()).map_err(to_js)?;
        Ok(WasmHeadroom { inner })
    }

    /// Returns the JSON of the result. The request comes as UTF-8 bytes (the JS side encodes it
    /// with TextEncoder, natively: wasm-bindgen's string copy is a JS loop per character, ~7% of
    /// a 180 KB request's time) and is taken by value so the engine can free it once parsed.
    pub fn compress(&mut self, request_utf8: Vec<u8>, options_json: Option<String>) -> Result<String, JsValue> {
        let request_json = String::from_utf8(request_utf8)
            .map_err(|_| to_js(Error::validation("invalid_request", "the request is not valid UTF-8")))?;
        let options = parse_options(options_json.as_deref()).map_err(to_js)?;
        let result = self.inner.compress_owned(request_json, &options).map_err(to_js)?;
        let out = to_json_text(&result).map_err(to_js);
        drop(result);
        grow_ahead();
        out
    }

    pub fn simulate(&mut self, request_json: &str, options_json: Option<String>) -> Result<String, JsValue> {
        let options = parse_options(options_json.as_deref()).map_err(to_js)?;
        let result = self.inner.simulate(request_json, &options).map_err(to_js)?;
        let out = to_json_text(&result).map_err(to_js);
        drop(result);
        grow_ahead();
        out
    }

    pub fn retrieve(&self, hash: &str) -> Result<Option<String>, JsValue> {
        self.inner.retrieve(hash).map_err(to_js)
    }

    /// `call_json`: the model's tool call; returns the JSON of the message to append.
    #[wasm_bindgen(js_name = answerRetrieveCall)]
    pub fn answer_retrieve_call(&self, call_json: &str) -> Result<String, JsValue> {
        let call: serde_json::Value = serde_json::from_str(call_json)
            .map_err(|e| to_js(Error::validation("invalid_tool_call", format!("the tool call is not JSON: {e}"))))?;
        self.inner.answer_retrieve_call(&call).map(|v| v.to_string()).map_err(to_js)
    }

    /// A standalone text compressor over this engine's store; returns the JSON of the result.
    #[wasm_bindgen(js_name = compressText)]
    pub fn compress_text(&self, kind: &str, content: &str, query: &str, config_json: Option<String>) -> Result<String, JsValue> {
        let r = self.inner.compress_text(kind, content, query, config_json.as_deref().unwrap_or("")).map_err(to_js)?;
        let out = to_json_text(&r).map_err(to_js);
        drop(r);
        grow_ahead();
        out
    }

    #[wasm_bindgen(js_name = countText)]
    pub fn count_text(&self, text: &str, model: Option<String>) -> f64 {
        self.inner.count_text(text, model.as_deref()) as f64
    }

    #[wasm_bindgen(js_name = countRequest)]
    pub fn count_request(&self, request_json: &str, model: Option<String>) -> Result<f64, JsValue> {
        self.inner.count_request(request_json, model.as_deref()).map(|n| n as f64).map_err(to_js)
    }

    /// Returns the JSON of the stats.
    pub fn stats(&self) -> Result<String, JsValue> {
        to_json_text(&self.inner.stats()).map_err(to_js)
    }

    /// `{ input, cachedInput, output }` in USD per 1M tokens for `model` (the config's `pricing`
    /// first, then the built-in table), or `null`: the proxy's `--budget` prices upstream usage.
    #[wasm_bindgen(js_name = modelPrice)]
    pub fn model_price(&self, model: &str) -> String {
        match crate::tokens::pricing::price_for(model, &self.inner.config().pricing) {
            Some(p) => serde_json::json!({ "input": p.input, "cachedInput": p.cached_input, "output": p.output }).to_string(),
            None => "null".to_string(),
        }
    }

    /// Returns the JSON of the effective config (defaults filled in).
    #[wasm_bindgen(js_name = configJson)]
    pub fn config_json(&self) -> Result<String, JsValue> {
        to_json_text(self.inner.config()).map_err(to_js)
    }
}

/// Exact tiktoken count with a named encoding (`o200k_base`, `cl100k_base`).
#[wasm_bindgen(js_name = countWithEncoding)]
pub fn count_with_encoding(text: &str, encoding: &str) -> Result<f64, JsValue> {
    Headroom::count_with_encoding(text, encoding).map(|n| n as f64).map_err(to_js)
}

/// The `headroom_retrieve` tool definition for a provider, as JSON.
#[wasm_bindgen(js_name = retrieveToolJson)]
pub fn retrieve_tool_json(provider: &str) -> Result<String, JsValue> {
    let p = match provider {
        "openai" => crate::Provider::Openai,
        "anthropic" => crate::Provider::Anthropic,
        "google" => crate::Provider::Google,
        other => {
            return Err(to_js(Error::config("unknown_provider", format!("unknown provider '{other}': use openai, anthropic or google"))))
        }
    };
    Ok(crate::ccr::retrieve_tool(p).to_string())
}

/// Checks a standalone compressor's config (throws ConfigurationError).
#[wasm_bindgen(js_name = checkTextConfig)]
pub fn check_text_config(kind: &str, config_json: &str) -> Result<(), JsValue> {
    let k = crate::transforms::router::TextKind::from_name(kind)
        .ok_or_else(|| to_js(Error::config("unknown_compressor", format!("unknown compressor '{kind}'"))))?;
    crate::engine::text_config(k, config_json).map(|_| ()).map_err(to_js)
}

/// `detectContentType(content)`: the JSON of `{ contentType, confidence, metadata }`.
#[wasm_bindgen(js_name = detectContentType)]
pub fn detect_content_type(content: &str) -> Result<String, JsValue> {
    let d = crate::transforms::detect::detect_content_type(content);
    let v = serde_json::json!({ "contentType": d.content_type, "confidence": d.confidence, "metadata": d.metadata });
    Ok(v.to_string())
}

/// Decodes SmartCrusher's table format; returns the JSON text.
#[wasm_bindgen(js_name = decodeTable)]
pub fn decode_table(text: &str) -> Result<String, JsValue> {
    crate::decode_table(text).map(|v| v.to_string()).map_err(to_js)
}

#[wasm_bindgen(js_name = engineVersion)]
pub fn engine_version() -> String {
    crate::VERSION.to_string()
}

/// Traps on purpose. Exists only so tests can prove the JS layer re-instantiates the module and
/// keeps working after a trap; nothing in the engine calls it.
#[wasm_bindgen(js_name = __headroomTestTrap)]
pub fn test_trap() {
    // invariant: deliberate, test-only trap (see doc comment).
    std::process::abort();
}
