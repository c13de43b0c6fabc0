//! Headroom: context optimization for LLM requests.
//!
//! The engine compresses what an application sends to an LLM (OpenAI, Anthropic and Google
//! request formats) so it costs fewer tokens while keeping what matters, and keeps every original
//! retrievable by hash (compress-cache-retrieve). It is target-independent: the same code runs
//! natively and in WebAssembly, where `wasm` (the only module that imports wasm-bindgen) exposes
//! it to JavaScript.
//!
//! ```
//! use headroom::{Config, Headroom, RequestOptions};
//! # fn main() -> headroom::Result<()> {
//! let mut hr = Headroom::new(Config::default())?;
//! let request = r#"[{"role":"user","content":"hello"}]"#;
//! let result = hr.compress(request, &RequestOptions::default())?;
//! assert_eq!(result.tokens_before, result.tokens_after);
//! # Ok(())
//! # }
//! ```
// Denied everywhere; only `ml::wasm_gemm` (tract's GEMM kernel interface, wasm SIMD builds) allows it.
#![deny(unsafe_code)]

pub mod ccr;
pub mod clock;
pub mod config;
pub(crate) mod digest;
pub mod engine;
pub mod error;
pub(crate) mod fasthash;
pub(crate) mod json;
pub mod message;
#[cfg(feature = "ml")]
pub mod ml;
pub mod simulate;
pub mod tokens;
pub mod transforms;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
#[cfg(all(target_arch = "wasm32", feature = "ml"))]
pub mod wasm_ml;

#[cfg(all(feature = "cuda", target_arch = "wasm32"))]
compile_error!("the `cuda` feature (ort) is for native builds only; build wasm with `ml` instead");

pub use ccr::{find_markers, hash as content_hash, marker, retrieve_tool, SharedStore, RETRIEVE_TOOL_NAME};
pub use config::{
    CacheAlignerConfig, CacheAlignerMode, CacheOptimizerConfig, CcrConfig, Config, Limits, Mode, PriceConfig,
    Provider, RelevanceConfig, RequestOptions, RollingWindowConfig, SmartCrusherConfig, ToolProfile,
};
pub use config::{Granularity, LlmlinguaConfig, MlDevice};
#[cfg(feature = "ml")]
pub use ml::{
    llmlingua::{compress as llmlingua_compress, CompressOptions, Compressed},
    set_shared_model, shared_model, MlModel, TokenClassifier,
};
pub use engine::{CompressResult, Headroom, Stats, TransformStats};
pub use error::{Error, ErrorKind, Result};
pub use message::{detect_provider, Conversation, Role};
pub use tokens::{model_info, Encoding, ModelInfo, TokenCounter};
pub use transforms::{default_pipeline, Context, Transform};

/// Decodes SmartCrusher's table format (see `transforms::smart_crusher::table`) back into JSON.
/// Marker lines for omitted items are skipped; the original is retrievable by their hash.
pub fn decode_table(text: &str) -> Result<serde_json::Value> {
    transforms::smart_crusher::table::decode(text)
        .map(|d| d.value)
        .map_err(|e| Error::validation("invalid_table", format!("not a valid headroom table: {e}")))
}

/// The engine's version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
