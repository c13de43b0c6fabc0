//! The pipeline step for the ML compressor (`llmlingua` in the config). It runs after
//! ContentRouter on text tool outputs, and on the text of messages the caller lists in
//! `compressibleMessages`; never on other user or assistant messages. Markers already in a text
//! (from ContentRouter) are kept verbatim. Every change stores the original and carries its own
//! CCR marker, through the same `Context::store_original` gate as every lossy step.

use super::llmlingua::{compress_protected, CompressOptions};
use super::MlModel;
use crate::ccr;
use crate::clock;
use crate::error::Result;
use crate::message::{BlockKind, Conversation};
use crate::transforms::detect::{detect_content_type, ContentType};
use crate::transforms::{Context, Transform};
use std::sync::Arc;

/// Name in `transformsApplied`, `timing` and stats.
pub const NAME: &str = "llmlingua";

/// The step. It runs its own model, else the process-wide one (`ml::shared_model`); without
/// either it does nothing (and warns when the config enables it).
#[derive(Default)]
pub struct MlCompressor {
    pub model: Option<Arc<MlModel>>,
}

impl Transform for MlCompressor {
    fn name(&self) -> &'static str {
        NAME
    }

    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool> {
        let Some(cfg) = ctx.config.llmlingua.as_ref().filter(|c| c.enabled) else { return Ok(false) };
        let Some(model) = self.model.clone().or_else(super::shared_model) else {
            ctx.warnings.push("llmlingua is enabled but no model is loaded (LLMLinguaCompressor.load() in JS; ml::set_shared_model or Headroom::set_ml_model in Rust); skipped".into());
            return Ok(false);
        };
        let started = clock::now_ms();
        let mut changed = false;
        for mi in 0..conv.messages.len() {
            let listed = ctx.compressible_messages.contains(&mi);
            for bi in 0..conv.messages[mi].blocks.len() {
                let (text, tool_name) = {
                    let m = &conv.messages[mi];
                    let b = &m.blocks[bi];
                    let eligible = b.kind == BlockKind::ToolResult || (listed && b.kind == BlockKind::Text);
                    if !eligible || !b.editable || m.frozen || b.text.is_empty() {
                        continue;
                    }
                    (b.text.clone(), b.tool_name.clone())
                };
                if is_skipped(ctx, tool_name.as_deref(), &text) {
                    continue;
                }
                let before = ctx.counter.count(&text) as u64;
                if before < cfg.min_tokens {
                    continue;
                }
                let (rate, label) = match detect_content_type(&text).content_type {
                    ContentType::Json => (cfg.json_rate, "json"),
                    ContentType::SourceCode => (cfg.code_rate, "code"),
                    _ => (Some(cfg.text_rate.unwrap_or(cfg.rate)), "text"),
                };
                let Some(rate) = rate else { continue };
                let remaining = match cfg.deadline_ms {
                    Some(d) => {
                        let left = d - (clock::now_ms() - started);
                        if left <= 0.0 {
                            ctx.warnings.push(format!("llmlingua: deadlineMs ({d} ms) reached; the remaining content passes through unchanged"));
                            return Ok(changed);
                        }
                        Some(left)
                    }
                    None => None,
                };
                let opts = CompressOptions {
                    rate: Some(rate),
                    target_tokens: None,
                    force_tokens: cfg.force_tokens.clone(),
                    force_reserve_digit: cfg.force_reserve_digit,
                    drop_consecutive: cfg.drop_consecutive,
                    deadline_ms: remaining,
                    granularity: cfg.granularity,
                };
                let r = compress_protected(&model, &text, &opts, ctx.counter, &marker_spans(&text))?;
                ctx.warnings.extend(r.warnings);
                if r.compressed_tokens >= r.original_tokens {
                    continue;
                }
                // The hash is known before storing, so the marker's cost is checked first and
                // nothing is stored for a result that would not pay for its marker.
                let hash = ccr::hash(&text);
                let summary = format!("{} tokens compressed to {} by llmlingua", r.original_tokens, r.compressed_tokens);
                let sep = if r.compressed.ends_with('\n') || r.compressed.is_empty() { "" } else { "\n" };
                let new_text = format!("{}{sep}{}", r.compressed, ccr::marker(&summary, &hash));
                if ctx.counter.count(&new_text) as u64 >= before {
                    continue;
                }
                if ctx.store_original(&text).is_none() {
                    continue;
                }
                if conv.messages[mi].set_block_text(bi, new_text) {
                    ctx.note(format!("{NAME}:{label}"));
                    changed = true;
                }
            }
        }
        Ok(changed)
    }
}

/// Excluded tools, and SmartCrusher tables (structured; dropping words would corrupt them).
fn is_skipped(ctx: &Context<'_>, tool: Option<&str>, text: &str) -> bool {
    ctx.skip_tool(tool) || text.starts_with(crate::transforms::smart_crusher::table::SIGNATURE)
}

/// Byte spans of the CCR markers in `text` (`[headroom: ...hash=...]`), kept verbatim.
pub fn marker_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("[headroom: ") {
        let s = from + i;
        let Some(h) = text[s..].find("hash=") else { break };
        let Some(e) = text[s + h..].find(']') else { break };
        let end = s + h + e + 1;
        spans.push((s, end));
        from = end;
    }
    spans
}
