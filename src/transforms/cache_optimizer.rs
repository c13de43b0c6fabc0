//! Provider cache optimizer: makes the request's prefix cacheable the way each provider caches.
//!
//! Anthropic caches only up to explicit `cache_control` breakpoints (at most 4 per request). This
//! places up to two: at the end of the stable head (the system prompt, or its stable part before
//! the dynamic tail, or the tools when the system prompt itself is volatile), and on the last
//! message before the newest user turn, so the next request of the conversation reads the whole
//! history from cache. Only prefixes of at least `cacheOptimizer.minCacheableTokens` get one, the
//! existing ones are kept and counted, and nothing at or before the last existing breakpoint
//! changes (the frozen prefix).
//!
//! OpenAI and Google cache the longest repeated prefix on their own: nothing to insert. The
//! engine reports what would break it (a volatile system prompt, tools sent in a different order
//! than on the previous request) through the cache fields and warnings; `prompt_cache_key` and
//! every other body field pass through untouched.

use super::cache_aligner::{detect, instruction_indices};
use super::{Context, Transform};
use crate::config::Provider;
use crate::error::Result;
use crate::message::anthropic::{add_cache_breakpoint, split_system_with_breakpoint};
use crate::message::{BlockKind, Conversation, Origin, Role};
use serde_json::Value;

/// Anthropic's limit on breakpoints in one request.
pub const MAX_BREAKPOINTS: usize = 4;

pub struct CacheOptimizer;

/// Whether `retrieve_tool::RetrieveTool` (the last step) will add the tool to this body.
fn retrieve_tool_coming(conv: &Conversation, ctx: &Context<'_>) -> bool {
    let wanted = match ctx.config.ccr.inject_tool {
        crate::config::InjectTool::Never => false,
        crate::config::InjectTool::Always => true,
        crate::config::InjectTool::Auto => !ctx.markers.is_empty(),
    };
    wanted && conv.body.as_ref().is_some_and(|b| !super::retrieve_tool::body_has_tool(b))
}

/// Breakpoints already in the request: tools, system blocks, message blocks (and blocks nested
/// in tool results).
pub fn count_breakpoints(conv: &Conversation) -> usize {
    fn in_parts(v: Option<&Value>) -> usize {
        let Some(Value::Array(parts)) = v else { return 0 };
        parts.iter().map(|p| usize::from(p.get("cache_control").is_some()) + in_parts(p.get("content"))).sum()
    }
    let tools = match conv.tools() {
        Some(Value::Array(t)) => t.iter().filter(|t| t.get("cache_control").is_some()).count(),
        _ => 0,
    };
    tools
        + conv
            .messages
            .iter()
            .map(|m| match m.origin {
                Origin::SystemField => in_parts(Some(&m.raw)),
                Origin::List => in_parts(m.raw.get("content")),
            })
            .sum::<usize>()
}

impl Transform for CacheOptimizer {
    fn may_add_tokens(&self) -> bool {
        true // splitting a system prompt at its cache breakpoint can shift a token
    }

    fn name(&self) -> &'static str {
        "cache_optimizer"
    }

    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool> {
        if !ctx.config.cache_optimizer.enabled || conv.provider != Provider::Anthropic {
            return Ok(false);
        }
        let existing = count_breakpoints(conv);
        let mut budget = MAX_BREAKPOINTS.saturating_sub(existing);
        if budget == 0 {
            return Ok(false);
        }
        let min = ctx.config.cache_optimizer.min_cacheable_tokens;
        let aligner = &ctx.config.cache_aligner;
        let sep = aligner.dynamic_tail_separator.as_str();
        let counter = ctx.counter;
        // The tools as they will be sent: with the retrieve tool when the last step will add it, so
        // a second pass over this output (which has it) places the same breakpoints.
        let tool_tokens = match (conv.tools(), retrieve_tool_coming(conv, ctx)) {
            (Some(Value::Array(t)), true) => {
                let mut with = t.clone();
                with.push(crate::ccr::retrieve_tool(conv.provider));
                counter.count(&Value::Array(with).to_string()) as u64
            }
            (None, true) if conv.body.is_some() => counter.count(&Value::Array(vec![crate::ccr::retrieve_tool(conv.provider)]).to_string()) as u64,
            (t, _) => t.map_or(0, |t| counter.count(&t.to_string()) as u64),
        };
        let tools_marked = matches!(conv.tools(), Some(Value::Array(t)) if t.last().is_some_and(|t| t.get("cache_control").is_some()));
        let messages_marked = conv.messages.iter().any(|m| m.blocks.iter().any(|b| b.cache_control));
        let mut changed = false;

        // The system prompt: its text, whether it is stable, and where a dynamic tail starts.
        let sys = instruction_indices(conv).into_iter().find(|&i| conv.messages.get(i).is_some_and(|m| m.origin == Origin::SystemField));
        let mut system_volatile = false;
        if let Some(si) = sys.and_then(|i| conv.messages.get(i).map(|m| (i, m))) {
            let (_, m) = si;
            let text = m.text();
            let head = if sep.trim().is_empty() { text.as_str() } else { text.split(sep).next().unwrap_or("") };
            system_volatile = !detect(head, aligner).is_empty();
        }

        // 1. The end of the stable head. Only when no message carries a breakpoint: the head
        // comes before them and would sit inside the frozen prefix.
        if !messages_marked && conv.frozen_len() == 0 {
            let mut placed = false;
            if let Some(si) = sys {
                let system_tokens = conv.messages.get(si).map_or(0, |m| counter.count_message(m) as u64);
                let Some(m) = conv.messages.get_mut(si) else { return Ok(changed) };
                // The tail split: the last text block holding the separator.
                let split_at = m
                    .blocks
                    .iter()
                    .rev()
                    .find(|b| b.kind == BlockKind::Text)
                    .and_then(|b| if sep.trim().is_empty() { None } else { b.text.find(sep).map(|i| (i, b.text.get(..i).unwrap_or(""))) });
                if let Some((at, stable)) = split_at {
                    let stable_tokens = tool_tokens + counter.count(stable) as u64;
                    if !system_volatile && stable_tokens >= min && split_system_with_breakpoint(m, at) {
                        placed = true;
                    }
                } else if !system_volatile && tool_tokens + system_tokens >= min && add_cache_breakpoint(m) {
                    placed = true;
                }
            }
            if !placed && !tools_marked && tool_tokens >= min {
                if let Some(Value::Array(tools)) = conv.body.as_mut().and_then(|b| b.get_mut("tools")) {
                    if let Some(Value::Object(last)) = tools.last_mut() {
                        let mut cc = serde_json::Map::new();
                        cc.insert("type".into(), Value::from("ephemeral"));
                        last.insert("cache_control".into(), Value::Object(cc));
                        placed = true;
                    }
                }
            }
            if placed {
                budget -= 1;
                changed = true;
            }
        }

        // 2. The last message before the newest user turn: the history the next request shares.
        // Useless when the system prompt changes every request (the whole prefix would).
        if budget > 0 && !system_volatile {
            let newest = conv.messages.iter().rposition(|m| m.role == Role::User && !m.has_kind(BlockKind::ToolResult));
            if let Some(t) = newest.filter(|&t| t > 0) {
                let c = t - 1;
                let prefix: u64 = tool_tokens + conv.messages.iter().take(c + 1).map(|m| counter.count_message(m) as u64).sum::<u64>();
                let frozen = conv.frozen_len();
                if let Some(m) = conv.messages.get_mut(c) {
                    let eligible = m.origin == Origin::List
                        && !m.role.is_instruction()
                        && c >= frozen
                        && !m.blocks.iter().any(|b| b.cache_control)
                        && prefix >= min;
                    if eligible && add_cache_breakpoint(m) {
                        changed = true;
                    }
                }
            }
        }
        Ok(changed)
    }
}
