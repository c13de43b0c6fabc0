//! ContentRouter: sends each tool output to the compressor that fits its content (SmartCrusher
//! for JSON) and applies the result through the one CCR path: a lossy result is used only if
//! its original could be stored, and its text always carries a marker naming the hash.

use super::smart_crusher::{self, CrushParams};
use super::{Context, Transform};
use crate::ccr;
use crate::error::Result;
use crate::message::{BlockKind, Conversation};

pub struct ContentRouter;

/// Whether a text already went through Headroom (so compressing again changes nothing).
fn already_compressed(text: &str) -> bool {
    text.starts_with(smart_crusher::table::SIGNATURE) || !ccr::find_markers(text).is_empty()
}

impl Transform for ContentRouter {
    fn name(&self) -> &'static str {
        "content_router"
    }

    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool> {
        if !ctx.config.content_router.enabled {
            return Ok(false);
        }
        let mut changed = false;
        for mi in 0..conv.messages.len() {
            for bi in 0..conv.messages[mi].blocks.len() {
                let (text, tool_id, tool_name) = {
                    let m = &conv.messages[mi];
                    let b = &m.blocks[bi];
                    if b.kind != BlockKind::ToolResult || !b.editable || m.frozen || b.text.is_empty() {
                        continue;
                    }
                    (b.text.clone(), b.tool_id.clone(), b.tool_name.clone())
                };
                if ctx.skip_tool(tool_name.as_deref()) || already_compressed(&text) {
                    continue;
                }
                if (ctx.counter.count(&text) as u64) < ctx.config.content_router.min_tokens {
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
    let cfg = &ctx.config.smart_crusher;
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
