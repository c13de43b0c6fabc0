//! The ML token-classifier compressor (feature `ml`): a BERT-style token classifier scores every
//! token of a text as keep (class 1) or drop, and `llmlingua` turns those scores into a shorter
//! text with the LLMLingua-2 inference algorithm.
//!
//! One seam, `TokenClassifier`, with a tract backend on every target (`tract.rs`) and an ONNX
//! Runtime backend on native servers with the `cuda` feature (`ort.rs`). `MlModel` pairs a
//! classifier with its `tokenizer.json`. Both are runtime inputs (bytes and a string): nothing is
//! embedded in the engine, so the core wasm module stays small.

pub mod int8_weight;
pub mod llmlingua;
pub mod tract;
pub mod transform;
// The one module with unsafe code: tract's kernel interface is raw pointers (see its docs).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
pub mod wasm_gemm;

#[cfg(feature = "cuda")]
pub mod ort;

use crate::error::{Error, Result};
use std::borrow::Cow;
use tokenizers::Tokenizer;

/// Keep/drop scores for one window of token ids.
pub trait TokenClassifier: Send + Sync {
    /// `[drop, keep]` logits for each id of `input_ids` (one window, special tokens included,
    /// at most `max_window_tokens` long).
    fn logits(&self, input_ids: &[i64]) -> Result<Vec<[f32; 2]>>;

    /// Which backend runs the model (`"tract"`, `"ort-cpu"`, `"ort-cuda"`).
    fn backend(&self) -> &'static str;
}

/// Where the model runs (`llmlingua.device`): without the `cuda` feature, always tract on the
/// CPU (and `cuda` is a configuration error).
pub use crate::config::MlDevice as Device;

/// Windows longer than this are never built: BERT-family encoders have 512 positions.
pub const DEFAULT_MAX_WINDOW_TOKENS: usize = 512;

/// A loaded model: the classifier and its tokenizer.
pub struct MlModel {
    classifier: Box<dyn TokenClassifier>,
    tokenizer: Tokenizer,
    /// Special-token ids put before / after each window's ids (`[CLS]` / `[SEP]`, `<s>` / `</s>`).
    prefix: Vec<i64>,
    suffix: Vec<i64>,
    max_window_tokens: usize,
}

impl std::fmt::Debug for MlModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlModel").field("backend", &self.classifier.backend()).finish_non_exhaustive()
    }
}

/// One tokenized text: ids without special tokens, and the byte span of each in the text.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub ids: Vec<i64>,
    pub offsets: Vec<(usize, usize)>,
}

impl MlModel {
    /// Loads an ONNX token classifier (`model`: the file's bytes) and its `tokenizer.json`, on
    /// the backend `device` selects (tract unless the `cuda` feature is on).
    pub fn load(model: &[u8], tokenizer_json: &str, device: Device) -> Result<MlModel> {
        MlModel::load_cow(Cow::Borrowed(model), tokenizer_json, device)
    }

    /// Like `load`, taking the model's bytes by value: they are freed as soon as they are
    /// parsed, before the graph is optimised, which lowers the load's peak memory (in wasm, the
    /// memory the instance keeps).
    pub fn load_owned(model: Vec<u8>, tokenizer_json: &str, device: Device) -> Result<MlModel> {
        MlModel::load_cow(Cow::Owned(model), tokenizer_json, device)
    }

    fn load_cow(model: Cow<'_, [u8]>, tokenizer_json: &str, device: Device) -> Result<MlModel> {
        let classifier = load_classifier(model, device)?;
        MlModel::with_classifier(classifier, tokenizer_json)
    }

    /// Pairs any classifier (a custom backend) with a tokenizer.
    pub fn with_classifier(classifier: Box<dyn TokenClassifier>, tokenizer_json: &str) -> Result<MlModel> {
        let mut tokenizer = Tokenizer::from_bytes(tokenizer_json.as_bytes())
            .map_err(|e| Error::config("invalid_tokenizer", format!("tokenizer.json could not be loaded: {e}")))?;
        // Exported tokenizer.json files often pad and truncate to a training length; windows are
        // made here instead.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::config("invalid_tokenizer", format!("tokenizer.json truncation: {e}")))?;
        let (prefix, suffix) = special_affixes(&tokenizer)?;
        Ok(MlModel { classifier, tokenizer, prefix, suffix, max_window_tokens: DEFAULT_MAX_WINDOW_TOKENS })
    }

    /// Caps windows at `n` tokens, special tokens included (for models with fewer positions, or
    /// to trade context for speed). At least 8.
    pub fn set_max_window_tokens(&mut self, n: usize) {
        self.max_window_tokens = n.max(8);
    }

    pub fn max_window_tokens(&self) -> usize {
        self.max_window_tokens
    }

    pub fn backend(&self) -> &'static str {
        self.classifier.backend()
    }

    /// Ids (without special tokens) and byte offsets of `text`.
    pub fn tokenize(&self, text: &str) -> Result<Tokens> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::compression("tokenize_failed", format!("tokenizer failed: {e}")))?;
        Ok(Tokens {
            ids: enc.get_ids().iter().map(|&i| i as i64).collect(),
            offsets: enc.get_offsets().to_vec(),
        })
    }

    /// The ids the model sees for `text` with its special tokens (what `tokenizer(text)` gives).
    pub fn encode_with_specials(&self, text: &str) -> Result<Vec<i64>> {
        let t = self.tokenize(text)?;
        Ok(self.window_ids(&t.ids))
    }

    /// `prefix + ids + suffix`.
    pub fn window_ids(&self, ids: &[i64]) -> Vec<i64> {
        let mut v = Vec::with_capacity(ids.len() + self.prefix.len() + self.suffix.len());
        v.extend_from_slice(&self.prefix);
        v.extend_from_slice(ids);
        v.extend_from_slice(&self.suffix);
        v
    }

    /// Tokens of content that fit in one window.
    pub fn window_capacity(&self) -> usize {
        self.max_window_tokens.saturating_sub(self.prefix.len() + self.suffix.len()).max(1)
    }

    /// Raw logits for ids that already carry their special tokens.
    pub fn logits(&self, input_ids: &[i64]) -> Result<Vec<[f32; 2]>> {
        if input_ids.len() > self.max_window_tokens {
            return Err(Error::compression(
                "window_too_long",
                format!("{} tokens is over the window limit ({})", input_ids.len(), self.max_window_tokens),
            ));
        }
        // Ids come from this model's tokenizer, except through `mlLogits` (a benchmark export):
        // one outside the vocabulary is a typed error here, not an out-of-range gather in the
        // backend.
        let vocab = self.tokenizer.get_vocab_size(true) as i64;
        if let Some(bad) = input_ids.iter().find(|&&id| !(0..vocab).contains(&id)) {
            return Err(Error::validation("invalid_token_id", format!("token id {bad} is outside the vocabulary (0..{vocab})")));
        }
        if input_ids.is_empty() {
            return Ok(Vec::new());
        }
        let out = self.classifier.logits(input_ids)?;
        if out.len() != input_ids.len() {
            return Err(Error::compression(
                "bad_model_output",
                format!("the model returned {} scores for {} tokens", out.len(), input_ids.len()),
            ));
        }
        Ok(out)
    }

    /// Keep probabilities (softmax class 1) for `ids` (no special tokens; at most
    /// `window_capacity()` of them).
    pub fn keep_probs(&self, ids: &[i64]) -> Result<Vec<f32>> {
        let logits = self.logits(&self.window_ids(ids))?;
        let start = self.prefix.len();
        Ok(logits[start..start + ids.len()].iter().map(|l| keep_prob(*l)).collect())
    }
}

/// The process-wide model (one per wasm instance): what `LLMLinguaCompressor.load()` sets and
/// `unloadModel()` clears in JS, and what every engine's `llmlingua` step uses unless
/// `Headroom::set_ml_model` gave it its own.
static SHARED: std::sync::RwLock<Option<std::sync::Arc<MlModel>>> = std::sync::RwLock::new(None);

/// Replaces the process-wide model.
pub fn set_shared_model(model: Option<std::sync::Arc<MlModel>>) {
    match SHARED.write() {
        Ok(mut g) => *g = model,
        Err(poisoned) => *poisoned.into_inner() = model,
    }
}

/// The process-wide model, if one is loaded.
pub fn shared_model() -> Option<std::sync::Arc<MlModel>> {
    match SHARED.read() {
        Ok(g) => g.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Softmax of two logits, class 1.
pub fn keep_prob(l: [f32; 2]) -> f32 {
    1.0 / (1.0 + (l[0] - l[1]).exp())
}

/// The special tokens the tokenizer's post-processor puts around a single sequence, found by
/// encoding a probe text with and without them.
fn special_affixes(tok: &Tokenizer) -> Result<(Vec<i64>, Vec<i64>)> {
    let err = |e: tokenizers::Error| Error::config("invalid_tokenizer", format!("tokenizer failed on a probe text: {e}"));
    let probe = "a";
    let bare: Vec<u32> = tok.encode(probe, false).map_err(err)?.get_ids().to_vec();
    let full: Vec<u32> = tok.encode(probe, true).map_err(err)?.get_ids().to_vec();
    let at = (0..=full.len().saturating_sub(bare.len()))
        .find(|&i| full[i..].starts_with(&bare))
        .ok_or_else(|| Error::config("invalid_tokenizer", "the tokenizer's post-processor changes the text's own tokens"))?;
    let to_i64 = |s: &[u32]| s.iter().map(|&i| i as i64).collect::<Vec<_>>();
    Ok((to_i64(&full[..at]), to_i64(&full[at + bare.len()..])))
}

/// The classifier backend for `device`.
#[cfg(not(feature = "cuda"))]
fn load_classifier(model: Cow<'_, [u8]>, device: Device) -> Result<Box<dyn TokenClassifier>> {
    if device == Device::Cuda {
        return Err(Error::config(
            "cuda_not_built",
            "llmlingua.device 'cuda' needs a native build with the `cuda` feature; use 'auto' or 'cpu'",
        ));
    }
    Ok(Box::new(tract::TractClassifier::load_cow(model)?))
}

/// With `cuda`: ONNX Runtime (CUDA, else CPU); `auto` falls back to tract when the ONNX Runtime
/// library cannot be loaded.
#[cfg(feature = "cuda")]
fn load_classifier(model: Cow<'_, [u8]>, device: Device) -> Result<Box<dyn TokenClassifier>> {
    if device == Device::Auto && !ort::available() {
        return Ok(Box::new(tract::TractClassifier::load_cow(model)?));
    }
    Ok(Box::new(ort::OrtClassifier::load(&model[..], device)?))
}

/// Which tensor a model input receives, by its ONNX name (every backend maps inputs the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    Ids,
    /// All ones (one window, no padding).
    Mask,
    /// All zeros (BERT exports often declare it).
    TokenTypes,
}

impl Input {
    pub(crate) fn from_name(name: &str) -> Result<Input> {
        match name {
            "input_ids" => Ok(Input::Ids),
            "attention_mask" => Ok(Input::Mask),
            "token_type_ids" => Ok(Input::TokenTypes),
            other => Err(Error::config(
                "invalid_model",
                format!("the model has an input '{other}'; expected input_ids, attention_mask and optionally token_type_ids"),
            )),
        }
    }
}
