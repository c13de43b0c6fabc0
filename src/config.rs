//! Configuration: the camelCase form of the seed's `HeadroomConfig`, with its defaults.
//! Every struct rejects unknown keys, so a typo is a `ConfigurationError`, never a silent no-op.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the pipeline does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Observe and count; never modify.
    Audit,
    /// Apply the transforms.
    #[default]
    Optimize,
    /// Run the transforms and return the plan; the caller makes no provider call.
    Simulate,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Audit => "audit",
            Mode::Optimize => "optimize",
            Mode::Simulate => "simulate",
        }
    }
}

/// The three provider request formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Openai,
    Anthropic,
    Google,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Google => "google",
        }
    }
}

/// Top-level configuration (`new Headroom(config)`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    /// Default model when a request names none (token encoding and context limit come from it).
    pub model: String,
    /// Request format; detected from each request's shape when absent.
    pub provider: Option<Provider>,
    pub default_mode: Mode,
    /// Tokens reserved for the model's answer when fitting the context window.
    pub output_buffer_tokens: u64,
    /// Context-limit overrides by model name; the longest matching prefix wins.
    pub model_context_limits: BTreeMap<String, u64>,
    pub smart_crusher: SmartCrusherConfig,
    pub cache_aligner: CacheAlignerConfig,
    pub cache_optimizer: CacheOptimizerConfig,
    pub rolling_window: RollingWindowConfig,
    pub content_router: ContentRouterConfig,
    pub ccr: CcrConfig,
    /// Per-tool settings by tool (function) name.
    pub tool_profiles: BTreeMap<String, ToolProfile>,
    /// Tools whose results are never compressed.
    pub exclude_tools: Vec<String>,
    pub limits: Limits,
    /// Price overrides (USD per 1M tokens) by model-name prefix, for `simulate()`'s estimates.
    pub pricing: BTreeMap<String, PriceConfig>,
    /// The ML compressor (opt-in; builds with the `ml` feature only). See `LlmlinguaConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llmlingua: Option<LlmlinguaConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model: "gpt-4o".into(),
            provider: None,
            default_mode: Mode::Optimize,
            output_buffer_tokens: 4000,
            model_context_limits: BTreeMap::new(),
            smart_crusher: SmartCrusherConfig::default(),
            cache_aligner: CacheAlignerConfig::default(),
            cache_optimizer: CacheOptimizerConfig::default(),
            rolling_window: RollingWindowConfig::default(),
            content_router: ContentRouterConfig::default(),
            ccr: CcrConfig::default(),
            tool_profiles: BTreeMap::new(),
            exclude_tools: Vec::new(),
            limits: Limits::default(),
            pricing: BTreeMap::new(),
            llmlingua: None,
        }
    }
}

/// SmartCrusher (JSON tool outputs); fields and defaults of the seed's `SmartCrusherConfig`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SmartCrusherConfig {
    pub enabled: bool,
    pub min_items_to_analyze: u64,
    pub min_tokens_to_crush: u64,
    pub variance_threshold: f64,
    pub uniqueness_threshold: f64,
    pub similarity_threshold: f64,
    pub max_items_after_crush: u64,
    pub preserve_change_points: bool,
    pub dedup_identical_items: bool,
    pub first_fraction: f64,
    pub last_fraction: f64,
    pub lossless_min_savings_ratio: f64,
    pub lossless_only: bool,
    pub relevance: RelevanceConfig,
}

impl Default for SmartCrusherConfig {
    fn default() -> Self {
        SmartCrusherConfig {
            enabled: true,
            min_items_to_analyze: 5,
            min_tokens_to_crush: 200,
            variance_threshold: 2.0,
            uniqueness_threshold: 0.1,
            similarity_threshold: 0.8,
            max_items_after_crush: 15,
            preserve_change_points: true,
            dedup_identical_items: true,
            first_fraction: 0.3,
            last_fraction: 0.15,
            lossless_min_savings_ratio: 0.15,
            lossless_only: false,
            relevance: RelevanceConfig::default(),
        }
    }
}

/// How items are scored against the user's query (BM25 here; no embedding model in the core).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RelevanceConfig {
    pub bm25_k1: f64,
    pub bm25_b: f64,
    pub relevance_threshold: f64,
}

impl Default for RelevanceConfig {
    fn default() -> Self {
        RelevanceConfig { bm25_k1: 1.5, bm25_b: 0.75, relevance_threshold: 0.25 }
    }
}

/// What CacheAligner does with volatile content in system prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheAlignerMode {
    Off,
    Detect,
    Rewrite,
}

/// Volatile content (dates, IDs, timestamps...) in system prompts, which breaks provider prefix
/// caches.
///
/// The default mode is `detect`: warnings and the cache metrics only. `rewrite` moves the
/// volatile sentences to a dynamic tail at the end of the system prompt; that keeps the
/// information but changes the prompt the user wrote (order, and so emphasis), and a detector can
/// misfire on content that is stable. Changing a prompt is the caller's call, so it is opt-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CacheAlignerConfig {
    pub mode: CacheAlignerMode,
    pub extra_dynamic_labels: Vec<String>,
    pub entropy_threshold: f64,
    pub normalize_whitespace: bool,
    pub collapse_blank_lines: bool,
    pub dynamic_tail_separator: String,
}

impl Default for CacheAlignerConfig {
    fn default() -> Self {
        CacheAlignerConfig {
            mode: CacheAlignerMode::Detect,
            extra_dynamic_labels: Vec::new(),
            entropy_threshold: 0.7,
            normalize_whitespace: false,
            collapse_blank_lines: false,
            dynamic_tail_separator: "\n\n---\n[Dynamic Context]\n".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CacheOptimizerConfig {
    pub enabled: bool,
    pub min_cacheable_tokens: u64,
}

impl Default for CacheOptimizerConfig {
    fn default() -> Self {
        CacheOptimizerConfig { enabled: true, min_cacheable_tokens: 1024 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RollingWindowConfig {
    pub enabled: bool,
    /// The last N turns are never dropped.
    pub keep_turns: u64,
}

impl Default for RollingWindowConfig {
    fn default() -> Self {
        RollingWindowConfig { enabled: true, keep_turns: 2 }
    }
}

/// Routes each tool output to SmartCrusher or a text compressor by its detected type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContentRouterConfig {
    pub enabled: bool,
    /// Tool outputs below this many tokens pass through untouched.
    pub min_tokens: u64,
    /// Error outputs (`is_error`) below this many tokens are kept verbatim.
    pub min_error_tokens: u64,
    /// Compress plain-text tool outputs (extractive, query-aware) as well.
    pub plain_text: bool,
    pub search: crate::transforms::search::SearchConfig,
    pub log: crate::transforms::log::LogConfig,
    pub diff: crate::transforms::diff::DiffConfig,
    pub text: crate::transforms::text::TextConfig,
}

impl Default for ContentRouterConfig {
    fn default() -> Self {
        ContentRouterConfig {
            enabled: true,
            min_tokens: 200,
            min_error_tokens: 1000,
            plain_text: true,
            search: Default::default(),
            log: Default::default(),
            diff: Default::default(),
            text: Default::default(),
        }
    }
}

/// When the `headroom_retrieve` tool is added to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InjectTool {
    /// Whenever the output contains a marker.
    Auto,
    Always,
    Never,
}

/// Compress-cache-retrieve: originals of everything dropped, kept for retrieval by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CcrConfig {
    pub enabled: bool,
    pub max_entries: u64,
    pub ttl_seconds: u64,
    pub inject_tool: InjectTool,
}

impl Default for CcrConfig {
    fn default() -> Self {
        CcrConfig { enabled: true, max_entries: 1000, ttl_seconds: 1800, inject_tool: InjectTool::Auto }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ToolProfile {
    pub skip_compression: bool,
    /// Overrides `smartCrusher.maxItemsAfterCrush` for this tool.
    pub max_items: Option<u64>,
    /// > 1 keeps more, < 1 keeps less (scales the item and line budgets).
    pub bias: f64,
}

impl Default for ToolProfile {
    fn default() -> Self {
        ToolProfile { skip_compression: false, max_items: None, bias: 1.0 }
    }
}

/// One model's prices, USD per 1M tokens (`pricing` in the config).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceConfig {
    pub input: f64,
    /// Input read from the provider's prompt cache; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    pub output: f64,
}

/// Resource bounds checked at the edge, before any work.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    pub max_request_bytes: u64,
    pub max_json_depth: u64,
    /// Soft deadline for the whole pipeline; transforms that would start after it are skipped
    /// with a warning. `None` (the default) keeps output deterministic.
    pub deadline_ms: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_request_bytes: 64 * 1024 * 1024, max_json_depth: 100, deadline_ms: None }
    }
}

/// Per-request options (`hr.compress(request, options)`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RequestOptions {
    pub mode: Option<Mode>,
    pub model: Option<String>,
    pub provider: Option<Provider>,
    pub output_buffer_tokens: Option<u64>,
    pub keep_turns: Option<u64>,
    pub tool_profiles: Option<BTreeMap<String, ToolProfile>>,
    /// What the user is asking about; defaults, per tool output, to the nearest user message
    /// before it plus its call's arguments.
    pub query: Option<String>,
    /// Treat the first N messages as cached by the provider: nothing in them changes.
    pub frozen_messages: Option<u64>,
    /// Indices of messages (documents) whose text the ML compressor may compress, whatever
    /// their role (`llmlingua`, `ml` builds).
    pub compressible_messages: Option<Vec<u64>>,
}

fn check_fraction(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() || !(0.0..=1.0).contains(&v) {
        return Err(Error::config("invalid_value", format!("{name} must be a number between 0 and 1, got {v}"))
            .with("field", name));
    }
    Ok(())
}

fn check_positive(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() || v < 0.0 {
        return Err(Error::config("invalid_value", format!("{name} must be a finite number >= 0, got {v}"))
            .with("field", name));
    }
    Ok(())
}

impl Config {
    /// Parses a JSON config; unknown keys, wrong types and out-of-range numbers are errors.
    pub fn from_json(text: &str) -> Result<Config> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "null" {
            return Ok(Config::default());
        }
        let config: Config = serde_json::from_str(trimmed).map_err(|e| {
            Error::config("invalid_config", format!("invalid configuration: {e}"))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Range checks that serde's types cannot express.
    pub fn validate(&self) -> Result<()> {
        let sc = &self.smart_crusher;
        check_positive("smartCrusher.varianceThreshold", sc.variance_threshold)?;
        check_fraction("smartCrusher.uniquenessThreshold", sc.uniqueness_threshold)?;
        check_fraction("smartCrusher.similarityThreshold", sc.similarity_threshold)?;
        check_fraction("smartCrusher.firstFraction", sc.first_fraction)?;
        check_fraction("smartCrusher.lastFraction", sc.last_fraction)?;
        check_fraction("smartCrusher.losslessMinSavingsRatio", sc.lossless_min_savings_ratio)?;
        check_positive("smartCrusher.relevance.bm25K1", sc.relevance.bm25_k1)?;
        check_fraction("smartCrusher.relevance.bm25B", sc.relevance.bm25_b)?;
        check_positive("smartCrusher.relevance.relevanceThreshold", sc.relevance.relevance_threshold)?;
        if sc.first_fraction + sc.last_fraction > 1.0 {
            return Err(Error::config(
                "invalid_value",
                "smartCrusher.firstFraction + smartCrusher.lastFraction must not exceed 1",
            ));
        }
        check_fraction("cacheAligner.entropyThreshold", self.cache_aligner.entropy_threshold)?;
        for (name, p) in &self.tool_profiles {
            if !p.bias.is_finite() || p.bias <= 0.0 {
                return Err(Error::config("invalid_value", format!("toolProfiles.{name}.bias must be a number > 0")));
            }
        }
        if let Some(d) = self.limits.deadline_ms {
            check_positive("limits.deadlineMs", d)?;
        }
        if self.limits.max_json_depth == 0 {
            return Err(Error::config("invalid_value", "limits.maxJsonDepth must be at least 1"));
        }
        if self.model.trim().is_empty() {
            return Err(Error::config("invalid_value", "model must not be empty"));
        }
        for (name, p) in &self.pricing {
            if name.trim().is_empty() {
                return Err(Error::config("invalid_value", "pricing keys must be non-empty model-name prefixes"));
            }
            check_positive(&format!("pricing.{name}.input"), p.input)?;
            check_positive(&format!("pricing.{name}.output"), p.output)?;
            if let Some(c) = p.cached_input {
                check_positive(&format!("pricing.{name}.cachedInput"), c)?;
            }
        }
        if let Some(l) = &self.llmlingua {
            l.validate()?;
        }
        for (name, limit) in &self.model_context_limits {
            if *limit == 0 {
                return Err(Error::config("invalid_value", format!("modelContextLimits.{name} must be > 0")));
            }
        }
        Ok(())
    }
}

/// What the ML compressor ranks (`llmlingua.granularity`, and the JS `compress` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// Each word by its own probability.
    #[default]
    Word,
    /// Each word by its segment's worth: the mean keep probability over the segment's tokens,
    /// raised by the share of them kept anyway (digits, force tokens), and averaged with its
    /// neighbours' (1/2 at distance 1, 1/4 at 2) so kept segments come in runs; segments are
    /// kept or dropped whole, best first; the segment at the threshold keeps its best words.
    /// Words that must be kept (digits, force tokens, markers) stay even in dropped segments.
    Segment,
}

/// Where the ML compressor's model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MlDevice {
    /// CUDA when built with `cuda` and a GPU is there, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

/// The ML token-classifier compressor (LLMLingua-2 algorithm; `ml` builds only). Present means
/// opt-in: `llmlingua: {}` turns it on with these defaults. It compresses text tool outputs after
/// ContentRouter, and the text of messages listed in `RequestOptions::compressible_messages`;
/// never other user or assistant messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LlmlinguaConfig {
    pub enabled: bool,
    /// Fraction of tokens kept in plain text (0-1].
    pub rate: f64,
    /// Rate for source code; code is left alone when absent (dropping words breaks it).
    pub code_rate: Option<f64>,
    /// Rate for JSON that SmartCrusher left as it was; JSON is left alone when absent.
    pub json_rate: Option<f64>,
    /// Rate for plain text; `rate` when absent.
    pub text_rate: Option<f64>,
    pub force_tokens: Vec<String>,
    pub force_reserve_digit: bool,
    pub drop_consecutive: bool,
    /// Budget for the whole step; past it the remaining text passes through, with a warning.
    pub deadline_ms: Option<f64>,
    pub device: MlDevice,
    /// Blocks under this many tokens pass through.
    pub min_tokens: u64,
    /// `"word"` (the default) or `"segment"`.
    pub granularity: Granularity,
}

impl Default for LlmlinguaConfig {
    fn default() -> Self {
        LlmlinguaConfig {
            enabled: true,
            rate: 0.5,
            code_rate: None,
            json_rate: None,
            text_rate: None,
            force_tokens: Vec::new(),
            force_reserve_digit: true,
            drop_consecutive: true,
            deadline_ms: None,
            device: MlDevice::Auto,
            min_tokens: 100,
            granularity: Granularity::Word,
        }
    }
}

fn check_rate(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() || v <= 0.0 || v > 1.0 {
        return Err(Error::config("invalid_value", format!("{name} must be a number in (0, 1], got {v}")).with("field", name));
    }
    Ok(())
}

impl LlmlinguaConfig {
    fn validate(&self) -> Result<()> {
        if !cfg!(feature = "ml") {
            return Err(Error::config(
                "ml_not_built",
                "the llmlingua option needs the ML build: import from 'headroom-wasm/ml' (in Rust, enable the `ml` feature)",
            )
            .with("field", "llmlingua"));
        }
        check_rate("llmlingua.rate", self.rate)?;
        for (name, r) in [("llmlingua.codeRate", self.code_rate), ("llmlingua.jsonRate", self.json_rate), ("llmlingua.textRate", self.text_rate)] {
            if let Some(r) = r {
                check_rate(name, r)?;
            }
        }
        if let Some(d) = self.deadline_ms {
            check_positive("llmlingua.deadlineMs", d)?;
        }
        if self.device == MlDevice::Cuda && !cfg!(feature = "cuda") {
            return Err(Error::config(
                "cuda_not_built",
                "llmlingua.device 'cuda' needs a native build with the `cuda` feature; use 'auto' or 'cpu'",
            )
            .with("field", "llmlingua.device"));
        }
        Ok(())
    }
}

impl RequestOptions {
    pub fn from_json(text: &str) -> Result<RequestOptions> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "null" {
            return Ok(RequestOptions::default());
        }
        serde_json::from_str(trimmed)
            .map_err(|e| Error::config("invalid_options", format!("invalid request options: {e}")))
    }
}
