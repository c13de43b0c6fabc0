//! ContentRouter: sends each tool output to the compressor that fits its detected content type
//! (SmartCrusher for JSON; the search, log, diff and text compressors for the rest) and applies
//! the result through the one CCR path: a lossy result is used only if its original could be
//! stored, and it always carries a marker naming the hash (on its own line for text).

use super::detect::{detect_content_type, ContentType};
use super::smart_crusher::{self, CrushParams};
use super::text_common::TextCompression;
use super::{diff, log, search, text, Context, Transform};
use crate::ccr;
use crate::config::{ContentRouterConfig, SmartCrusherConfig};
use crate::error::Result;
use crate::message::{BlockKind, Conversation};
use crate::tokens::TokenCounter;
use serde::Serialize;

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
    store: &mut dyn FnMut(&str) -> Option<String>,
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
        if store(content).as_ref() != Some(h) {
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
                if let Some((new_text, label)) = route(&text, &query, tool_name.as_deref(), ctx) {
                    if conv.messages[mi].set_block_text(bi, new_text) {
                        ctx.note(label);
                        changed = true;
                    }
                }
            }
        }
        Ok(changed)
    }
}

/// Compresses one tool output; returns the new text and the label for `transformsApplied`.
fn route(text: &str, query: &str, tool: Option<&str>, ctx: &mut Context<'_>) -> Option<(String, String)> {
    let cfg = &ctx.config.content_router;
    let kind = match detect_content_type(text).content_type {
        ContentType::Json => return crush_json(text, query, tool, ctx),
        ContentType::SearchResults => TextKind::Search,
        ContentType::BuildOutput => TextKind::Log,
        ContentType::Diff => TextKind::Diff,
        ContentType::PlainText if cfg.plain_text => TextKind::Text,
        // Markup and code lose meaning when lines are cut: they pass through.
        _ => return None,
    };
    let counter = ctx.counter;
    let r = compress_text(kind, text, query, cfg, counter, &mut |original| ctx.store_original(original))?;
    Some((r.compressed, format!("{}:{}", kind.label(), if r.hash.is_some() { "lossy" } else { "lossless" })))
}

fn crush_json(text: &str, query: &str, tool: Option<&str>, ctx: &mut Context<'_>) -> Option<(String, String)> {
    let cfg: &SmartCrusherConfig = &ctx.config.smart_crusher;
    let profile = ctx.profile(tool);
    let base = profile.and_then(|p| p.max_items).unwrap_or(cfg.max_items_after_crush) as f64;
    let bias = profile.map_or(1.0, |p| p.bias);
    let max_items = ((base * bias).round() as usize).max(1);
    let mut params = CrushParams { config: cfg, max_items, query, allow_lossy: !ctx.lossless_only, counter: ctx.counter };
    let mut crushed = smart_crusher::crush(text, &params)?;
    if crushed.lossy && ctx.store_original(text).is_none() {
        params.allow_lossy = false;
        crushed = smart_crusher::crush(text, &params)?;
    }
    Some((crushed.output, format!("smart_crusher:{}", crushed.strategy)))
}
