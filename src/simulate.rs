//! What `simulate()` adds to a result: the cost estimate from the price table, where the
//! request's tokens go (`blockBreakdown`) and the waste found in it (`wasteSignals`). Both are
//! computed on the request as it came in, before any transform: they describe the caller's
//! traffic, and the result's token fields already describe what the pipeline made of it.

use crate::config::Config;
use crate::message::{BlockKind, Conversation, Role};
use crate::tokens::{TokenCounter, REPLY_PRIMING_TOKENS};
use crate::transforms::cache_aligner::{detect, instruction_indices};
use regex::Regex;
use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

/// Tokens by block kind: `system`, `user`, `assistant`, `tool_call`, `tool_result`, `image`,
/// `other`, `tool_definitions` and `overhead` (per-message framing and reply priming). The values
/// add up to the request's token count.
pub fn block_breakdown(conv: &Conversation, counter: &TokenCounter) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |k: &str, n: usize| *out.entry(k.to_string()).or_insert(0) += n as u64;
    add("overhead", REPLY_PRIMING_TOKENS);
    for m in &conv.messages {
        let total = counter.count_message(m);
        let mut blocks = 0;
        for b in &m.blocks {
            let n = counter.count_block(m, b);
            blocks += n;
            let kind = match (b.kind, m.role) {
                (BlockKind::Text, r) if r.is_instruction() => "system",
                (BlockKind::Text, Role::Assistant) => "assistant",
                (BlockKind::Text, _) => "user",
                (BlockKind::ToolCall, _) => "tool_call",
                (BlockKind::ToolResult, _) => "tool_result",
                (BlockKind::Image, _) => "image",
                (BlockKind::Other, _) => "other",
            };
            add(kind, n);
        }
        add("overhead", total.saturating_sub(blocks));
    }
    if let Some(tools) = conv.tools() {
        add("tool_definitions", counter.count(&tools.to_string()));
    }
    out.retain(|_, v| *v > 0);
    out
}

fn base64_run() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // invariant: a constant pattern; if it ever failed to compile the signal is just skipped.
    RE.get_or_init(|| Regex::new(r"[A-Za-z0-9+/]{200,}={0,2}").ok()).as_ref()
}

/// Waste by category, in tokens:
/// - `duplicate_tool_results`: tool results identical to an earlier one;
/// - `json_whitespace`: what minifying pretty-printed JSON tool results would save;
/// - `base64_blobs`: base64-looking runs of 200+ characters in any text;
/// - `volatile_system_prompt`: the volatile values that break prefix caching;
/// - `over_context_limit`: how far the request is over the context budget.
pub fn waste_signals(conv: &Conversation, counter: &TokenCounter, config: &Config, budget: u64, total: u64) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for m in &conv.messages {
        for b in &m.blocks {
            if b.kind == BlockKind::ToolResult && !b.text.is_empty() {
                if !seen.insert(b.text.as_str()) {
                    *out.entry("duplicate_tool_results".into()).or_insert(0) += counter.count(&b.text) as u64;
                } else if b.text.contains('\n') && b.text.trim_start().starts_with(['{', '[']) {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&b.text) {
                        let saved = counter.count(&b.text).saturating_sub(counter.count(&v.to_string()));
                        *out.entry("json_whitespace".into()).or_insert(0) += saved as u64;
                    }
                }
            }
            if let Some(re) = base64_run() {
                for run in re.find_iter(&b.text) {
                    *out.entry("base64_blobs".into()).or_insert(0) += counter.count(run.as_str()) as u64;
                }
            }
        }
    }
    for i in instruction_indices(conv) {
        let Some(m) = conv.messages.get(i) else { continue };
        let text = m.text();
        for v in detect(&text, &config.cache_aligner) {
            let n = counter.count(text.get(v.start..v.end).unwrap_or("")) as u64;
            *out.entry("volatile_system_prompt".into()).or_insert(0) += n;
        }
    }
    if total > budget {
        out.insert("over_context_limit".into(), total - budget);
    }
    out.retain(|_, v| *v > 0);
    out
}
