//! ContentRouter: sends each tool output to the compressor that fits its detected content type
//! (SmartCrusher for JSON; the search, log, diff and text compressors for the rest) and applies
//! the result through the one CCR path: a lossy result is used only if its original could be
//! stored, and it always carries a marker naming the hash (on its own line for text). Mixed
//! content (prose with fenced code, JSON blocks, log or diff excerpts) is split by `mixed.rs` and
//! each part is routed on its own, with its own marker.

use super::detect::{detect_content_type, json_shaped, ContentType};
use super::mixed::{self, PartKind};
use super::smart_crusher::{self, CrushParams};
use super::text_common::TextCompression;
use super::{diff, log, search, text, Context, Transform};
use crate::ccr;
use crate::config::{ContentRouterConfig, SmartCrusherConfig};
use crate::error::Result;
use crate::message::{BlockKind, Conversation};
use crate::tokens::TokenCounter;
use serde::Serialize;
use serde_json::Value;

pub struct ContentRouter;

/// The text compressors, by name (`SearchCompressor` ... in JS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Search,
    Log,
    Diff,
    Text,
}

impl TextKind {
    pub fn from_name(name: &str) -> Option<TextKind> {
        match name {
            "search" => Some(TextKind::Search),
            "log" => Some(TextKind::Log),
            "diff" => Some(TextKind::Diff),
            "text" => Some(TextKind::Text),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            TextKind::Search => "search",
            TextKind::Log => "log",
            TextKind::Diff => "diff",
            TextKind::Text => "text",
        }
    }

    /// Runs the compressor (no marker, no store).
    pub fn run(self, content: &str, query: &str, cfg: &ContentRouterConfig) -> TextCompression {
        match self {
            TextKind::Search => search::compress(content, query, &cfg.search),
            TextKind::Log => log::compress(content, query, &cfg.log),
            TextKind::Diff => diff::compress(content, query, &cfg.diff),
            TextKind::Text => text::compress(content, query, &cfg.text),
        }
    }
}

/// A text compressor's result with its CCR marker applied (what the standalone API returns).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextResult {
    pub compressed: String,
    pub original_count: usize,
    pub compressed_count: usize,
    pub unit: &'static str,
    /// compressed tokens / original tokens.
    pub compression_ratio: f64,
    /// The retrieval hash when something was dropped.
    pub hash: Option<String>,
}

/// Runs a text compressor and applies the CCR rule: a lossy result gets its original stored (via
/// `store`, which returns the hash or `None` when lossy steps are not allowed) and a marker line.
/// Returns `None` when the result would not save tokens or may not be applied.
pub fn compress_text(
    kind: TextKind,
    content: &str,
    query: &str,
    cfg: &ContentRouterConfig,
    counter: TokenCounter,
    store: &mut dyn FnMut(&str, &str) -> bool,
) -> Option<TextResult> {
    let r = kind.run(content, query, cfg);
    if r.compressed == content {
        return None;
    }
    // The hash is known before storing (it is the content's), so the original is stored only
    // once the result is known to save tokens: a stored original always has its marker in the
    // output (and brings the retrieve tool), never a dangling one.
    let (compressed, hash) = if r.lossless {
        (r.compressed, None)
    } else {
        let h = ccr::hash(content);
        let summary = format!("{} {} compressed to {}", r.original_count, r.unit, r.compressed_count);
        let sep = if r.compressed.ends_with('\n') || r.compressed.is_empty() { "" } else { "\n" };
        (format!("{}{sep}{}", r.compressed, ccr::marker(&summary, &h)), Some(h))
    };
    let before = counter.count(content);
    let after = counter.count(&compressed);
    if after >= before {
        return None;
    }
    if let Some(h) = &hash {
        if !store(content, h) {
            return None;
        }
    }
    Some(TextResult {
        compressed,
        original_count: r.original_count,
        compressed_count: r.compressed_count,
        unit: r.unit,
        compression_ratio: if before == 0 { 1.0 } else { after as f64 / before as f64 },
        hash,
    })
}

/// Whether a text already went through Headroom (so compressing again changes nothing).
fn already_compressed(text: &str) -> bool {
    text.starts_with(smart_crusher::table::SIGNATURE) || !ccr::find_markers(text).is_empty()
}

impl Transform for ContentRouter {
    fn name(&self) -> &'static str {
        "content_router"
    }

    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool> {
        let cfg = &ctx.config.content_router;
        if !cfg.enabled {
            return Ok(false);
        }
        let mut changed = false;
        for mi in 0..conv.messages.len() {
            for bi in 0..conv.messages[mi].blocks.len() {
                let (text, tool_id, tool_name, is_error) = {
                    let m = &conv.messages[mi];
                    let b = &m.blocks[bi];
                    if b.kind != BlockKind::ToolResult || !b.editable || m.frozen || b.text.is_empty() {
                        continue;
                    }
                    (b.text.clone(), b.tool_id.clone(), b.tool_name.clone(), b.is_error)
                };
                if ctx.skip_tool(tool_name.as_deref()) || already_compressed(&text) {
                    continue;
                }
                let tokens = ctx.counter.count(&text) as u64;
                if tokens < cfg.min_tokens || (is_error && tokens < cfg.min_error_tokens) {
                    continue;
                }
                let query = ctx.query_for(conv, mi, tool_id.as_deref());
                if let Some((new_text, labels)) = route(&text, tokens as usize, &query, tool_name.as_deref(), ctx) {
                    if conv.messages[mi].set_block_text(bi, new_text) {
                        for label in labels {
                            ctx.note(label);
                        }
                        changed = true;
                    }
                }
            }
        }
        Ok(changed)
    }
}

/// Originals a candidate rendering needs stored. They are committed to the store (through
/// `Context::store_original`, the one CCR gate) only for the rendering actually used.
struct Pending {
    allow: bool,
    /// (hash, original).
    originals: Vec<(String, String)>,
}

impl Pending {
    /// Keeps `original` under `h = ccr::hash(original)` (every compressor computes it once, for
    /// its marker); false when lossy steps are off.
    fn put_hashed(&mut self, original: &str, h: &str) -> bool {
        if self.allow {
            self.originals.push((h.to_string(), original.to_string()));
        }
        self.allow
    }
}

/// Compresses one tool output; returns the new text and the labels for `transformsApplied`.
/// `tokens` is `text`'s token count (the caller has it).
fn route(text: &str, tokens: usize, query: &str, tool: Option<&str>, ctx: &mut Context<'_>) -> Option<(String, Vec<String>)> {
    // JSON is parsed once: the parse that confirms it is the value SmartCrusher works on
    // (detection would otherwise read the whole text a second time to validate it).
    let mut json = (ctx.config.smart_crusher.enabled && json_shaped(text)).then(|| smart_crusher::parse_json_output(text)).flatten().map(|v| (v, tokens));
    let detected = if json.is_some() { ContentType::Json } else { detect_content_type(text).content_type };
    let mut pending = Pending { allow: !ctx.lossless_only, originals: Vec::new() };
    // Mixed content first (prose with fenced blocks or JSON blocks): each part on its own.
    let out = route_mixed(detected, text, query, tool, ctx, &mut pending).or_else(|| {
        pending.originals.clear();
        route_whole(detected, json.take(), text, query, tool, ctx, &mut pending).map(|(t, l)| (t, vec![l]))
    })?;
    for (h, original) in pending.originals {
        ctx.store_original_hashed(original, h)?;
    }
    Some(out)
}

/// One output (or one prose part of a mixed one) by its detected type.
fn route_whole(
    detected: ContentType,
    json: Option<(Value, usize)>,
    text: &str,
    query: &str,
    tool: Option<&str>,
    ctx: &Context<'_>,
    pending: &mut Pending,
) -> Option<(String, String)> {
    let cfg = &ctx.config.content_router;
    let kind = match detected {
        ContentType::Json => return crush_json(text, json, query, tool, ctx, pending),
        ContentType::SearchResults => TextKind::Search,
        ContentType::BuildOutput => TextKind::Log,
        ContentType::Diff => TextKind::Diff,
        ContentType::PlainText if cfg.plain_text => TextKind::Text,
        // Markup and code lose meaning when lines are cut: they pass through.
        _ => return None,
    };
    run_text(kind, text, query, ctx, pending)
}

fn run_text(kind: TextKind, text: &str, query: &str, ctx: &Context<'_>, pending: &mut Pending) -> Option<(String, String)> {
    let cfg = &ctx.config.content_router;
    let r = compress_text(kind, text, query, cfg, ctx.counter, &mut |original, h| pending.put_hashed(original, h))?;
    Some((r.compressed, format!("{}:{}", kind.label(), if r.hash.is_some() { "lossy" } else { "lossless" })))
}

/// Splits mixed content (see `mixed.rs`) and routes each part; `None` when the output is not
/// mixed or no part got smaller.
fn route_mixed(
    detected: ContentType,
    text: &str,
    query: &str,
    tool: Option<&str>,
    ctx: &Context<'_>,
    pending: &mut Pending,
) -> Option<(String, Vec<String>)> {
    // Whole JSON, search results, diffs and markup have one structure of their own.
    if !matches!(detected, ContentType::PlainText | ContentType::SourceCode | ContentType::BuildOutput) {
        return None;
    }
    let mut parts = mixed::split(text)?;
    // Source code with no fence is code, whatever literals it holds.
    if detected == ContentType::SourceCode && !parts.iter().any(|p| matches!(p.kind, PartKind::Fenced { .. })) {
        return None;
    }
    let cfg = &ctx.config.content_router;
    let mut labels = vec!["mixed".to_string()];
    let mut changed = false;
    for part in &mut parts {
        let body = part.body.as_str();
        if body.trim().is_empty() || already_compressed(body) || (ctx.counter.count(body) as u64) < cfg.min_tokens {
            continue;
        }
        let got = match &part.kind {
            PartKind::Json => crush_json(body, None, query, tool, ctx, pending),
            PartKind::Prose => route_whole(detect_content_type(body).content_type, None, body, query, tool, ctx, pending),
            PartKind::Fenced { info } => {
                let hint = mixed::info_hint(info);
                match (hint, detect_content_type(body).content_type) {
                    (Some("json"), _) | (_, ContentType::Json) => crush_json(body, None, query, tool, ctx, pending),
                    (Some("diff"), _) | (_, ContentType::Diff) => run_text(TextKind::Diff, body, query, ctx, pending),
                    (_, ContentType::SearchResults) => run_text(TextKind::Search, body, query, ctx, pending),
                    (_, ContentType::BuildOutput) => run_text(TextKind::Log, body, query, ctx, pending),
                    // Prose in a fence marked as text or output; never code.
                    (Some("output"), ContentType::PlainText) if !info.is_empty() && cfg.plain_text => {
                        run_text(TextKind::Text, body, query, ctx, pending)
                    }
                    _ => None,
                }
            }
        };
        if let Some((mut new_body, label)) = got {
            // The part keeps its line structure: what ended a line still does (a fence's
            // closing line must stay on a line of its own).
            if part.body.ends_with('\n') && !new_body.ends_with('\n') {
                new_body.push('\n');
            }
            part.body = new_body;
            if !labels.contains(&label) {
                labels.push(label);
            }
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    let out = mixed::join(&parts);
    (ctx.counter.count(&out) < ctx.counter.count(text)).then_some((out, labels))
}

/// SmartCrusher on `text`; `json` is its parsed value when the caller has it.
/// `json`: the text already parsed, and its token count.
fn crush_json(text: &str, json: Option<(Value, usize)>, query: &str, tool: Option<&str>, ctx: &Context<'_>, pending: &mut Pending) -> Option<(String, String)> {
    let cfg: &SmartCrusherConfig = &ctx.config.smart_crusher;
    let profile = ctx.profile(tool);
    let base = profile.and_then(|p| p.max_items).unwrap_or(cfg.max_items_after_crush) as f64;
    let bias = profile.map_or(1.0, |p| p.bias);
    let max_items = ((base * bias).round() as usize).max(1);
    let mut params = CrushParams { config: cfg, max_items, query, allow_lossy: !ctx.lossless_only, counter: ctx.counter };
    let mut crushed = match json {
        Some((value, tokens)) => smart_crusher::crush_counted(text, value, tokens, &params)?,
        None => smart_crusher::crush(text, &params)?,
    };
    // A lossy result always names its hash (SmartCrusher computes it for the markers).
    let stored = match &crushed.hash {
        Some(h) => pending.put_hashed(text, h),
        None => !crushed.lossy,
    };
    if !stored {
        params.allow_lossy = false;
        crushed = smart_crusher::crush(text, &params)?;
    }
    Some((crushed.output, format!("smart_crusher:{}", crushed.strategy)))
}
