//! `Headroom`: the engine's one entry point. Validates a request at the edge, parses it into the
//! canonical model, runs the pipeline (with per-transform timing, fail-safe rollback and an
//! optional deadline), writes the provider format back out and keeps per-instance stats.

use crate::ccr::SharedStore;
use crate::clock::Stopwatch;
use crate::config::{Config, Mode, Provider, RequestOptions};
use crate::error::{Error, Result};
use crate::message::Conversation;
use crate::tokens::{model_info, pricing, Encoding, ModelInfo, TokenCounter};
use crate::transforms::cache_aligner::{cache_metrics, CacheMetrics};
use crate::transforms::{default_pipeline, Context, Transform};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The outcome of `compress` / `simulate`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompressResult {
    /// The messages in the request's provider format (without Anthropic/Google top-level system).
    pub messages: Value,
    /// The whole body (tools included) when a body was passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub tokens_saved: u64,
    /// tokens_after / tokens_before (1.0 when nothing changed).
    pub compression_ratio: f64,
    pub transforms_applied: Vec<String>,
    pub markers: Vec<String>,
    pub warnings: Vec<String>,
    /// Milliseconds per transform, plus `total`.
    pub timing: BTreeMap<String, f64>,
    pub mode: Mode,
    pub provider: Provider,
    pub model: String,
    /// In audit mode: what optimize would have saved (nothing was changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub potential_tokens_saved: Option<u64>,
    /// For a bare messages array: tool definitions to add to the request (the retrieve tool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,

    // Prompt-cache fields (issue 4), on every result; see `transforms::cache_aligner::CacheMetrics`.
    /// 16 hex digits over the model, tools and system prompt before its dynamic tail.
    pub stable_prefix_hash: String,
    /// 0-1: the share of the system prompt before its first volatile value.
    pub cache_alignment_score: f64,
    /// Tokens of the prefix a provider cache can serve (0 below `minCacheableTokens`).
    pub cacheable_tokens: u64,
    /// Whether `stablePrefixHash` equals the previous request's on this instance.
    pub estimated_cache_hit: bool,

    // Simulate only (issue 4); see `simulate`.
    /// `tokensSaved` at the model's input price (none for a model without a known price).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_savings_usd: Option<f64>,
    /// The same as text: `"$0.0042 per request"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_savings: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_breakdown: Option<BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waste_signals: Option<BTreeMap<String, u64>>,
}

/// What the previous request on an instance looked like, for `estimatedCacheHit` and the
/// tool-order warning.
#[derive(Debug, Clone, Default)]
struct CacheState {
    prefix_hash: Option<String>,
    tools_order_hash: Option<String>,
    tools_set_hash: Option<String>,
}

/// Per-transform totals.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformStats {
    pub applied: u64,
    pub failed: u64,
    pub total_ms: f64,
}

/// Per-instance statistics (`hr.stats()`), after the seed's `get_stats()`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub requests_total: u64,
    pub requests_failed: u64,
    pub requests_by_mode: BTreeMap<String, u64>,
    pub tokens_before_total: u64,
    pub tokens_after_total: u64,
    pub tokens_saved_total: u64,
    /// In audit mode: what optimize would have saved.
    pub potential_tokens_saved_total: u64,
    pub savings_percent: f64,
    pub transforms: BTreeMap<String, TransformStats>,
    pub markers_total: u64,
    pub store_entries: u64,
}

/// The engine. Cheap to create; holds its config, its CCR store and its stats.
pub struct Headroom {
    config: Config,
    store: SharedStore,
    pipeline: Vec<Box<dyn Transform>>,
    stats: Stats,
    cache_state: CacheState,
}

impl Headroom {
    /// A new engine with its own store. The config is validated here.
    pub fn new(config: Config) -> Result<Headroom> {
        config.validate()?;
        let store = SharedStore::new(&config.ccr);
        Ok(Headroom { config, store, pipeline: default_pipeline(), stats: Stats::default(), cache_state: CacheState::default() })
    }

    /// A new engine running `pipeline` instead of the default one (Rust users can add their own
    /// transforms; see `transforms::default_pipeline`).
    pub fn with_pipeline(config: Config, pipeline: Vec<Box<dyn Transform>>) -> Result<Headroom> {
        let mut hr = Headroom::new(config)?;
        hr.pipeline = pipeline;
        Ok(hr)
    }

    /// A new engine that shares `store` (so markers from either are retrievable from both).
    pub fn with_store(config: Config, store: SharedStore) -> Result<Headroom> {
        config.validate()?;
        Ok(Headroom { config, store, pipeline: default_pipeline(), stats: Stats::default(), cache_state: CacheState::default() })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Compresses a request (JSON text of a messages array or a provider body) in the options'
    /// mode, or the config's `defaultMode`.
    pub fn compress(&mut self, request: &str, options: &RequestOptions) -> Result<CompressResult> {
        let mode = options.mode.unwrap_or(self.config.default_mode);
        let total = Stopwatch::start();
        let parsed = self.parse_request(request);
        self.finish(total, parsed, options, mode)
    }

    /// `compress`, taking the request text by value: it is freed as soon as it is parsed, so a
    /// 10 MB request is not held twice while the pipeline runs (the wasm layer uses this).
    pub fn compress_owned(&mut self, request: String, options: &RequestOptions) -> Result<CompressResult> {
        let mode = options.mode.unwrap_or(self.config.default_mode);
        let total = Stopwatch::start();
        let parsed = self.parse_request(&request);
        drop(request);
        self.finish(total, parsed, options, mode)
    }

    /// Runs the pipeline and returns the plan; callers make no provider call.
    pub fn simulate(&mut self, request: &str, options: &RequestOptions) -> Result<CompressResult> {
        let total = Stopwatch::start();
        let parsed = self.parse_request(request);
        self.finish(total, parsed, options, Mode::Simulate)
    }

    fn finish(&mut self, total: Stopwatch, parsed: Result<Value>, options: &RequestOptions, mode: Mode) -> Result<CompressResult> {
        let result = parsed.and_then(|value| self.run(total, value, options, mode)).map(|(r, m)| self.track_cache(r, m));
        self.record(&result, mode);
        result
    }

    /// The original content behind a marker's hash, or `None` when unknown or expired.
    pub fn retrieve(&self, hash: &str) -> Result<Option<String>> {
        self.store.retrieve(hash)
    }

    /// Answers the model's `headroom_retrieve` call (any provider format) with the tool-result
    /// message to append.
    pub fn answer_retrieve_call(&self, call: &Value) -> Result<Value> {
        crate::ccr::answer_retrieve_call(&self.store, call)
    }

    /// A standalone text compressor (`kind`: search, log, diff, text) over this engine's store:
    /// lossy results store their original and carry a marker. `config_json` is that compressor's
    /// config (e.g. `SearchConfig`), or empty for defaults.
    pub fn compress_text(&self, kind: &str, content: &str, query: &str, config_json: &str) -> Result<crate::transforms::router::TextResult> {
        use crate::transforms::router::{compress_text, TextKind, TextResult};
        let kind = TextKind::from_name(kind)
            .ok_or_else(|| Error::config("unknown_compressor", format!("unknown compressor '{kind}': use search, log, diff or text")))?;
        let cfg = text_config(kind, config_json)?;
        let counter = self.counter(None);
        let store = self.store.clone();
        let result = compress_text(kind, content, query, &cfg, counter, &mut |original, h| {
            store.put_hashed(h.to_string(), original.to_string());
            true
        });
        Ok(result.unwrap_or_else(|| {
            let r = kind.run(content, query, &cfg);
            TextResult {
                compressed: content.to_string(),
                original_count: r.original_count,
                compressed_count: r.original_count,
                unit: r.unit,
                compression_ratio: 1.0,
                hash: None,
            }
        }))
    }

    /// Tokens in `text` for `model` (the config's model when `None`).
    pub fn count_text(&self, text: &str, model: Option<&str>) -> usize {
        self.counter(model).count(text)
    }

    /// Tokens a whole request costs, counted the way providers bill it.
    pub fn count_request(&self, request: &str, model: Option<&str>) -> Result<usize> {
        let value = self.parse_request(request)?;
        let conv = Conversation::parse(value, self.config.provider)?;
        let model = model.map(str::to_string).or_else(|| conv.model.clone());
        Ok(self.counter(model.as_deref()).count_conversation(&conv))
    }

    /// Counts with an explicit tiktoken encoding (`o200k_base`, `cl100k_base`).
    pub fn count_with_encoding(text: &str, encoding: &str) -> Result<usize> {
        let enc = Encoding::from_name(encoding).ok_or_else(|| {
            Error::config("unknown_encoding", format!("unknown encoding '{encoding}': use o200k_base or cl100k_base"))
        })?;
        Ok(enc.count(text))
    }

    pub fn model_info(&self, model: Option<&str>) -> ModelInfo {
        model_info(model.unwrap_or(&self.config.model), &self.config.model_context_limits)
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.store_entries = self.store.lock().len() as u64;
        s
    }

    fn counter(&self, model: Option<&str>) -> TokenCounter {
        TokenCounter::for_model(&self.model_info(model))
    }

    /// Size and depth limits, then JSON parsing; all failures are `ValidationError`s.
    fn parse_request(&self, request: &str) -> Result<Value> {
        let limits = &self.config.limits;
        if request.len() as u64 > limits.max_request_bytes {
            return Err(Error::validation(
                "request_too_large",
                format!("the request is {} bytes, over limits.maxRequestBytes ({})", request.len(), limits.max_request_bytes),
            )
            .with("bytes", request.len() as u64)
            .with("limit", limits.max_request_bytes));
        }
        // Our parser first (no scratch copy of long strings), held to the depth limit; what it
        // declines is measured (too deep is the error), then parsed by serde_json.
        let max_depth = usize::try_from(limits.max_json_depth).unwrap_or(usize::MAX);
        if let Some(v) = crate::json::parse_within(request, max_depth) {
            return Ok(v);
        }
        let depth = json_depth(request);
        if depth as u64 > limits.max_json_depth {
            return Err(Error::validation(
                "json_too_deep",
                format!("the request nests {depth} levels deep, over limits.maxJsonDepth ({})", limits.max_json_depth),
            )
            .with("depth", depth as u64)
            .with("limit", limits.max_json_depth));
        }
        serde_json::from_str(request).map_err(|e| Error::validation("invalid_json", format!("the request is not valid JSON: {e}")))
    }

    /// Sets `estimatedCacheHit` against the previous request, warns when the same tools arrive
    /// in a different order (which breaks every provider's prefix cache), and remembers this one.
    fn track_cache(&mut self, mut r: CompressResult, m: CacheMetrics) -> CompressResult {
        let prev = &self.cache_state;
        r.estimated_cache_hit = prev.prefix_hash.as_deref() == Some(m.stable_prefix_hash.as_str());
        if prev.tools_set_hash.as_deref() == Some(m.tools_set_hash.as_str())
            && prev.tools_order_hash.as_deref() != Some(m.tools_order_hash.as_str())
        {
            r.warnings.push(
                "the tool definitions are the same as on the previous request but in a different order, which changes the prompt prefix and misses the provider's cache; send them in a fixed order".into(),
            );
        }
        self.cache_state = CacheState {
            prefix_hash: Some(m.stable_prefix_hash),
            tools_order_hash: Some(m.tools_order_hash),
            tools_set_hash: Some(m.tools_set_hash),
        };
        r
    }

    /// `total` started before the request was parsed, so the reported total time includes it.
    fn run(&self, total: Stopwatch, value: Value, options: &RequestOptions, mode: Mode) -> Result<(CompressResult, CacheMetrics)> {
        let had_body = value.is_object();
        let provider = options.provider.or(self.config.provider);
        let mut conv = Conversation::parse(value, provider)?;
        let frozen = conv.freeze_prefix(options.frozen_messages.unwrap_or(0) as usize);
        let model_name = options.model.clone().or_else(|| conv.model.clone()).unwrap_or_else(|| self.config.model.clone());
        let info = model_info(&model_name, &self.config.model_context_limits);
        let counter = TokenCounter::for_model(&info);
        let tokens_before = counter.count_conversation(&conv) as u64;
        let output_buffer_tokens = options.output_buffer_tokens.unwrap_or(self.config.output_buffer_tokens);
        // Simulate describes the request as it came in (see `simulate`).
        let report = (mode == Mode::Simulate).then(|| {
            let budget = info.context_limit.saturating_sub(output_buffer_tokens);
            (
                crate::simulate::block_breakdown(&conv, &counter),
                crate::simulate::waste_signals(&conv, &counter, &self.config, budget, tokens_before),
            )
        });

        // Adding the retrieve tool to a request whose tools sit inside a cached prefix would break
        // that cache: then only lossless steps run (and the warning says so).
        let tool_would_break_cache = frozen > 0
            && conv.body.as_ref().is_some_and(|b| !crate::transforms::retrieve_tool::body_has_tool(b))
            && self.config.ccr.inject_tool != crate::config::InjectTool::Never;
        let lossless_only = !self.config.ccr.enabled || tool_would_break_cache;
        let tool_profiles = options.tool_profiles.as_ref().unwrap_or(&self.config.tool_profiles);
        let mut timing = BTreeMap::new();
        let mut applied = Vec::new();
        let mut potential = None;

        // Audit changes nothing: the pipeline runs on a copy, with a scratch store, only to
        // report what optimize would save.
        let scratch_store;
        let store = if mode == Mode::Audit {
            scratch_store = SharedStore::new(&self.config.ccr);
            &scratch_store
        } else {
            &self.store
        };
        let mut ctx = Context {
            config: &self.config,
            mode,
            model: &info,
            counter,
            output_buffer_tokens,
            keep_turns: options.keep_turns.unwrap_or(self.config.rolling_window.keep_turns),
            tool_profiles,
            query: options.query.clone(),
            store,
            warnings: Vec::new(),
            markers: Vec::new(),
            lossless_only,
            tools_to_add: Vec::new(),
            notes: Vec::new(),
            compressible_messages: options.compressible_messages.iter().flatten().map(|&i| i as usize).collect(),
        };
        if tool_would_break_cache {
            ctx.warnings.push(format!(
                "the first {frozen} messages are a cached prefix that covers the tools, and the retrieve tool is not among them: only lossless compression was applied"
            ));
        }
        // The request as it came, for audit's answer and for the never-more-tokens fallback. Block
        // texts are shared, so this costs the request's skeleton, not its content.
        let pristine = conv.clone();
        let mut work = conv;
        let deadline = self.config.limits.deadline_ms;
        // Tokens added on purpose by transforms that may add them (see Transform::may_add_tokens).
        let mut allowed_extra = 0u64;
        for t in &self.pipeline {
            if let Some(d) = deadline {
                if total.elapsed_ms() > d && !t.always_run() {
                    ctx.warnings.push(format!("{} skipped: limits.deadlineMs ({d} ms) reached", t.name()));
                    continue;
                }
            }
            let sw = Stopwatch::start();
            let snapshot = work.clone();
            let (nw, nm, nt) = (ctx.warnings.len(), ctx.markers.len(), ctx.tools_to_add.len());
            ctx.notes.clear();
            match t.apply(&mut work, &mut ctx) {
                Ok(true) => {
                    applied.push(t.name().to_string());
                    applied.append(&mut ctx.notes);
                    // Tokens it added on purpose are allowed. Counted only when it changed
                    // something (the snapshot is the conversation before it): each count of a
                    // large request hashes all of its long texts for the memo.
                    if t.may_add_tokens() {
                        let before = counter.count_conversation(&snapshot) as u64;
                        allowed_extra += (counter.count_conversation(&work) as u64).saturating_sub(before);
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    work = snapshot;
                    ctx.warnings.truncate(nw);
                    ctx.markers.truncate(nm);
                    ctx.tools_to_add.truncate(nt);
                    ctx.warnings.push(format!("{} failed and left its content unchanged: {e}", t.name()));
                }
            }
            timing.insert(t.name().to_string(), sw.elapsed_ms());
        }
        // Audit answers with the request as it came; otherwise `pristine` stays for the fallback.
        let (out, markers, mut warnings, tools, pristine) = if mode == Mode::Audit {
            let would = counter.count_conversation(&work) as u64;
            potential = Some(tokens_before.saturating_sub(would));
            applied.clear();
            (pristine, Vec::new(), ctx.warnings, Vec::new(), None)
        } else {
            (work, ctx.markers, ctx.warnings, ctx.tools_to_add, Some(pristine))
        };
        let mut tokens_after = if mode == Mode::Audit { tokens_before } else { counter.count_conversation(&out) as u64 };
        // Never send more than was given: if the savings do not pay for what compression adds
        // (markers, the retrieve tool), send the request as it came.
        let (out, markers, tools) = match pristine {
            Some(original) if tokens_after > tokens_before + allowed_extra => {
                tokens_after = tokens_before;
                applied.clear();
                warnings.push(format!("compression would have added tokens ({tokens_before} -> {}); the request is sent unchanged", counter.count_conversation(&out)));
                (original, Vec::new(), Vec::new())
            }
            _ => (out, markers, tools),
        };
        timing.insert("total".into(), total.elapsed_ms());
        let ratio = if tokens_before == 0 { 1.0 } else { tokens_after as f64 / tokens_before as f64 };
        let request_value = if had_body { Some(out.to_request()) } else { None };
        let cache = cache_metrics(&out, &info.model, &self.config, &counter, tokens_after);
        let tokens_saved = tokens_before.saturating_sub(tokens_after);
        let price = pricing::price_for(&info.model, &self.config.pricing);
        let savings_usd = match (mode, price) {
            (Mode::Simulate, Some(p)) => Some(pricing::usd(tokens_saved, p.input)),
            (Mode::Simulate, None) => {
                warnings.push(format!(
                    "no price is known for model '{}', so no cost estimate was made; add it under `pricing`",
                    info.model
                ));
                None
            }
            _ => None,
        };
        let (block_breakdown, waste_signals) = match report {
            Some((b, w)) => (Some(b), Some(w)),
            None => (None, None),
        };
        let result = CompressResult {
            messages: out.messages_value(),
            request: request_value,
            tokens_before,
            tokens_after,
            tokens_saved,
            compression_ratio: ratio,
            transforms_applied: applied,
            markers,
            warnings,
            timing,
            mode,
            provider: out.provider,
            model: info.model,
            potential_tokens_saved: potential,
            tools: if tools.is_empty() { None } else { Some(tools) },
            stable_prefix_hash: cache.stable_prefix_hash.clone(),
            cache_alignment_score: cache.cache_alignment_score,
            cacheable_tokens: cache.cacheable_tokens,
            estimated_cache_hit: false,
            estimated_savings_usd: savings_usd,
            estimated_savings: savings_usd.map(pricing::format_per_request),
            block_breakdown,
            waste_signals,
        };
        Ok((result, cache))
    }

    fn record(&mut self, result: &Result<CompressResult>, mode: Mode) {
        let s = &mut self.stats;
        s.requests_total += 1;
        *s.requests_by_mode.entry(mode.as_str().to_string()).or_insert(0) += 1;
        match result {
            Err(_) => s.requests_failed += 1,
            Ok(r) => {
                s.tokens_before_total += r.tokens_before;
                s.tokens_after_total += r.tokens_after;
                s.tokens_saved_total += r.tokens_saved;
                s.potential_tokens_saved_total += r.potential_tokens_saved.unwrap_or(0);
                s.markers_total += r.markers.len() as u64;
                for name in &r.transforms_applied {
                    s.transforms.entry(name.clone()).or_default().applied += 1;
                }
                for (name, ms) in &r.timing {
                    if name != "total" {
                        s.transforms.entry(name.clone()).or_default().total_ms += ms;
                    }
                }
                for w in &r.warnings {
                    if let Some((name, _)) = w.split_once(" failed and left its content unchanged") {
                        s.transforms.entry(name.to_string()).or_default().failed += 1;
                    }
                }
            }
        }
        s.savings_percent = if s.tokens_before_total == 0 {
            0.0
        } else {
            100.0 * s.tokens_saved_total as f64 / s.tokens_before_total as f64
        };
    }
}

/// The router config with one compressor's settings taken from `config_json`.
pub fn text_config(kind: crate::transforms::router::TextKind, config_json: &str) -> Result<crate::config::ContentRouterConfig> {
    use crate::transforms::router::TextKind;
    let mut cfg = crate::config::ContentRouterConfig::default();
    let text = config_json.trim();
    if text.is_empty() || text == "null" {
        return Ok(cfg);
    }
    let bad = |e: serde_json::Error| Error::config("invalid_config", format!("invalid compressor configuration: {e}"));
    match kind {
        TextKind::Search => cfg.search = serde_json::from_str(text).map_err(bad)?,
        TextKind::Log => cfg.log = serde_json::from_str(text).map_err(bad)?,
        TextKind::Diff => cfg.diff = serde_json::from_str(text).map_err(bad)?,
        TextKind::Text => {
            cfg.text = serde_json::from_str(text).map_err(bad)?;
            if !(cfg.text.target_ratio > 0.0 && cfg.text.target_ratio <= 1.0) {
                return Err(Error::config("invalid_value", "targetRatio must be a number in (0, 1]"));
            }
        }
    }
    Ok(cfg)
}

/// Maximum nesting depth of arrays/objects in JSON text, found with a single byte scan (no
/// recursion, so hostile nesting cannot overflow the stack).
pub fn json_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses an options JSON text, mapping errors to `ConfigurationError`.
pub fn parse_options(text: Option<&str>) -> Result<RequestOptions> {
    match text {
        None => Ok(RequestOptions::default()),
        Some(t) => RequestOptions::from_json(t),
    }
}

/// The result as JSON text (what the wasm layer returns).
pub fn to_json_text<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::compression("serialize_failed", e.to_string()))
}

/// The ML compressor's model (feature `ml`). The engine holds it; the `llmlingua` config decides
/// whether and how it is used.
#[cfg(feature = "ml")]
impl Headroom {
    /// Attaches the model this engine's `llmlingua` step runs; with `None` the step uses the
    /// process-wide model (`ml::set_shared_model`, what `LLMLinguaCompressor.load()` sets in JS).
    /// The step sits after ContentRouter; a custom pipeline without it gets it there (or at the end).
    pub fn set_ml_model(&mut self, model: Option<std::sync::Arc<crate::ml::MlModel>>) {
        use crate::ml::transform::{MlCompressor, NAME};
        let step: Box<dyn Transform> = Box::new(MlCompressor { model });
        if let Some(i) = self.pipeline.iter().position(|t| t.name() == NAME) {
            self.pipeline[i] = step;
        } else {
            let at = self.pipeline.iter().position(|t| t.name() == "content_router").map_or(self.pipeline.len(), |i| i + 1);
            self.pipeline.insert(at, step);
        }
    }
}
