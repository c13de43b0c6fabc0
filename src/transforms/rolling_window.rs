//! RollingWindow: when a request is over the model's context limit (minus `outputBufferTokens`),
//! drops the oldest tool units (an assistant message's tool calls with all their results), then
//! the oldest turns, until it fits. Everything dropped is stored through CCR as the JSON array of
//! the original messages and replaced by one marker message saying what went and how to get it
//! back.
//!
//! Never dropped: the system prompt, the frozen (cached) prefix unless nothing else fits (with a
//! warning), the first user message after them (usually the task, and it keeps the request
//! starting with a user turn), and the last `keepTurns` turns. A request that cannot fit comes
//! back unchanged, with a warning, rather than broken.
//!
//! Why the marker replaces whole runs: Anthropic and Google want user and assistant turns to
//! alternate, and one inserted message keeps that only between two user-side messages. So the
//! marker (an assistant message) takes the place of everything after a kept user message up to
//! the next turn: the oldest turns when turns are dropped, else the rest of the oldest turn that
//! lost a tool unit. Tool units elsewhere are removed as call/result pairs, which alternation
//! allows; any drop that would put two same-role messages side by side is not made.

use super::{Context, Transform};
use crate::ccr::{marker, retrieve_tool};
use crate::config::{InjectTool, Provider};
use crate::error::{Error, Result};
use crate::message::{BlockKind, Conversation, Message, Origin, Role};
use serde_json::Value;
use std::collections::HashMap;

pub struct RollingWindow;

/// Tokens the retrieve tool will add when a marker appears and the request lacks it.
fn retrieve_tool_reserve(conv: &Conversation, ctx: &Context<'_>) -> u64 {
    if ctx.config.ccr.inject_tool == InjectTool::Never {
        return 0;
    }
    if conv.body.as_ref().is_some_and(super::retrieve_tool::body_has_tool) {
        return 0;
    }
    ctx.counter.count(&retrieve_tool(conv.provider).to_string()) as u64
}

fn is_turn_start(m: &Message) -> bool {
    m.role == Role::User && !m.has_kind(BlockKind::ToolResult)
}

/// The side of the conversation a message is on, for alternation (tool results are user-side).
fn side(m: &Message) -> bool {
    m.role == Role::Assistant
}

/// What to drop and where the marker goes.
struct Plan {
    drop: Vec<bool>,
    /// The original index the marker is inserted before.
    marker_at: usize,
    saved: u64,
}

struct Planner<'c> {
    conv: &'c Conversation,
    counts: &'c [u64],
    strict: bool,
    /// Message indices by tool id (calls and results alike).
    by_tool_id: HashMap<&'c str, Vec<usize>>,
}

impl<'c> Planner<'c> {
    fn new(conv: &'c Conversation, counts: &'c [u64]) -> Planner<'c> {
        let mut by_tool_id: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, m) in conv.messages.iter().enumerate() {
            for b in &m.blocks {
                if matches!(b.kind, BlockKind::ToolCall | BlockKind::ToolResult) {
                    if let Some(id) = b.tool_id.as_deref() {
                        let list = by_tool_id.entry(id).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        let strict = matches!(conv.provider, Provider::Anthropic | Provider::Google);
        Planner { conv, counts, strict, by_tool_id }
    }

    fn msg(&self, i: usize) -> Option<&'c Message> {
        self.conv.messages.get(i)
    }

    /// Every message tied to `start` by tool ids, transitively (an atomic tool unit).
    fn unit(&self, start: usize) -> Vec<usize> {
        let mut members = vec![start];
        let mut k = 0;
        while let Some(&i) = members.get(k) {
            k += 1;
            let Some(m) = self.msg(i) else { continue };
            for b in &m.blocks {
                if let Some(list) = b.tool_id.as_deref().and_then(|id| self.by_tool_id.get(id)) {
                    for &j in list {
                        if !members.contains(&j) {
                            members.push(j);
                        }
                    }
                }
            }
        }
        members.sort_unstable();
        members
    }

    /// Whether dropping `drop` (plus the marker before `marker_at`, if any) leaves a valid
    /// request: no tool call or result without its partner, and, for Anthropic and Google, no new
    /// pair of same-side neighbours and a user turn first.
    fn valid(&self, drop: &[bool], marker_at: Option<usize>) -> bool {
        let dropped = |i: usize| drop.get(i).copied().unwrap_or(false);
        for list in self.by_tool_id.values() {
            let n = list.iter().filter(|&&i| dropped(i)).count();
            if n != 0 && n != list.len() {
                return false;
            }
        }
        if !self.strict {
            return true;
        }
        let first_list = self.conv.messages.iter().position(|m| m.origin == Origin::List);
        // (original index, or None for the marker; assistant side?)
        let mut prev: Option<(Option<usize>, bool)> = None;
        for (i, m) in self.conv.messages.iter().enumerate() {
            let marker = (marker_at == Some(i)).then_some((None, true));
            let kept = (!dropped(i) && m.origin == Origin::List).then(|| (Some(i), side(m)));
            for e in [marker, kept].into_iter().flatten() {
                match prev {
                    Some((p, pside)) => {
                        let adjacent_before = matches!((p, e.0), (Some(a), Some(b)) if b == a + 1);
                        if !adjacent_before && pside == e.1 {
                            return false;
                        }
                    }
                    // An assistant message must not newly open the conversation.
                    None => {
                        if e.1 && (e.0.is_none() || e.0 != first_list) {
                            return false;
                        }
                    }
                }
                prev = Some(e);
            }
        }
        true
    }

    /// The cheap form of `valid` for one tool unit just marked in `drop`: the unit is closed
    /// under tool ids, so only the new neighbours around its members need checking.
    fn unit_ok(&self, drop: &[bool], members: &[usize]) -> bool {
        if !self.strict {
            return true;
        }
        let dropped = |i: usize| drop.get(i).copied().unwrap_or(false);
        let list = |i: usize| self.msg(i).is_some_and(|m| m.origin == Origin::List);
        for &j in members {
            let prev = (0..j).rev().find(|&i| !dropped(i) && list(i));
            let next = (j + 1..self.conv.messages.len()).find(|&i| !dropped(i) && list(i));
            match (prev.and_then(|i| self.msg(i)), next.and_then(|i| self.msg(i))) {
                (Some(p), Some(n)) if side(p) == side(n) => return false,
                (None, Some(n)) if side(n) => return false,
                _ => {}
            }
        }
        true
    }

    fn droppable(&self, i: usize, floor: usize) -> bool {
        i >= floor && self.msg(i).is_some_and(|m| !m.role.is_instruction())
    }

    /// Plans drops so the request needs at most `budget` tokens (marker included), or `None`.
    fn plan(&self, floor: usize, keep_turns: usize, over: u64, marker_tokens: u64) -> Option<Plan> {
        let n = self.conv.messages.len();
        // The anchor: the first user message at or after the protected head.
        let anchor = (floor..n).find(|&i| self.msg(i).is_some_and(|m| m.role == Role::User))?;
        let zone_start = anchor + 1;
        let starts: Vec<usize> = (0..n).filter(|&i| self.msg(i).is_some_and(is_turn_start)).collect();
        let keep = keep_turns.max(1);
        let tail_start = if starts.len() >= keep { *starts.get(starts.len() - keep)? } else { 0 };
        if tail_start <= zone_start {
            return None;
        }
        // Segments of the zone: [start, end), the first (the anchor's turn) without a question.
        let mut bounds = vec![zone_start];
        bounds.extend(starts.iter().copied().filter(|&s| s > zone_start && s < tail_start));
        bounds.push(tail_start);
        let segments: Vec<(usize, usize)> = bounds.windows(2).filter_map(|w| Some((*w.first()?, *w.get(1)?))).collect();
        let in_zone = |i: usize| i >= zone_start && i < tail_start && self.droppable(i, floor);
        let need = over + marker_tokens;
        let mut drop = vec![false; n];
        let mut saved = 0u64;
        let cost = |i: usize| self.counts.get(i).copied().unwrap_or(0);

        // Phase 1: tool units, oldest first.
        for i in zone_start..tail_start {
            if saved >= need {
                break;
            }
            if drop.get(i).copied().unwrap_or(true) || !self.msg(i).is_some_and(|m| m.role == Role::Assistant && m.has_kind(BlockKind::ToolCall)) {
                continue;
            }
            let unit = self.unit(i);
            if !unit.iter().all(|&j| in_zone(j)) {
                continue;
            }
            for &j in &unit {
                if let Some(d) = drop.get_mut(j) {
                    *d = true;
                }
            }
            if self.unit_ok(&drop, &unit) {
                saved += unit.iter().map(|&j| cost(j)).sum::<u64>();
            } else {
                for &j in &unit {
                    if let Some(d) = drop.get_mut(j) {
                        *d = false;
                    }
                }
            }
        }
        let mut phase2 = false;
        // Phase 2: whole turns, oldest first.
        for &(s, e) in &segments {
            if saved >= need {
                break;
            }
            phase2 = true;
            for j in s..e {
                if in_zone(j) && !drop.get(j).copied().unwrap_or(true) {
                    if let Some(d) = drop.get_mut(j) {
                        *d = true;
                    }
                    saved += cost(j);
                }
            }
        }
        if saved < need || !drop.iter().any(|&d| d) {
            return None;
        }
        // The marker's place: the start of the dropped turns, or the rest of the oldest turn
        // that lost a tool unit (dropped whole, so the marker sits between two user turns).
        let marker_at = if phase2 {
            zone_start
        } else {
            let first = drop.iter().position(|&d| d)?;
            let &(s, e) = segments.iter().find(|&&(s, e)| first >= s && first < e)?;
            let rest = if s == zone_start { s } else { s + 1 };
            for j in rest..e {
                if in_zone(j) && !drop.get(j).copied().unwrap_or(true) {
                    if let Some(d) = drop.get_mut(j) {
                        *d = true;
                    }
                    saved += cost(j);
                }
            }
            (rest..e).find(|&j| drop.get(j).copied().unwrap_or(false))?
        };
        if !self.valid(&drop, Some(marker_at)) {
            return None;
        }
        Some(Plan { drop, marker_at, saved })
    }
}

impl Transform for RollingWindow {
    fn name(&self) -> &'static str {
        "rolling_window"
    }

    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool> {
        let context_limit = ctx.model.context_limit;
        let budget = context_limit.saturating_sub(ctx.output_buffer_tokens);
        let counts: Vec<u64> = conv.messages.iter().map(|m| ctx.counter.count_message(m) as u64).collect();
        let tools = conv.tools().map_or(0, |t| ctx.counter.count(&t.to_string()) as u64);
        // The retrieve tool comes with the first marker; if an earlier transform left one, it is
        // part of this request's size already.
        let tool_reserve = retrieve_tool_reserve(conv, ctx);
        let tool_coming = !ctx.markers.is_empty() || ctx.config.ccr.inject_tool == InjectTool::Always;
        let total = crate::tokens::REPLY_PRIMING_TOKENS as u64
            + tools
            + counts.iter().sum::<u64>()
            + if tool_coming { tool_reserve } else { 0 };
        if total <= budget {
            return Ok(false);
        }
        let keep = ctx.keep_turns as usize;
        let output_buffer = ctx.output_buffer_tokens;
        let cannot_fit = move |why: &str| {
            format!(
                "rolling_window: the request is {total} tokens, over the {budget}-token budget (context limit {context_limit} minus outputBufferTokens {output_buffer}), and {why}; it was left unchanged"
            )
        };
        if !ctx.config.rolling_window.enabled {
            ctx.warnings.push(cannot_fit("rollingWindow is disabled"));
            return Ok(false);
        }
        // The marker's size with the real numbers is known only after planning; this template
        // (longest numbers, a hash-sized field) bounds it.
        let probe = summary(999_999, 999_999, u64::MAX / 2, 999_999, budget);
        let probe_msg = conv.new_text_message(Role::Assistant, &marker(&probe, "f0e1d2c3b4a5968778695a4b"));
        let marker_tokens =
            ctx.counter.count_message(&probe_msg) as u64 + 8 + if tool_coming { 0 } else { tool_reserve };
        let over = total - budget;
        let head = conv.messages.iter().take_while(|m| m.role.is_instruction()).count();
        let frozen = conv.frozen_len();
        let planner = Planner::new(conv, &counts);
        let mut into_frozen = false;
        let plan = match planner.plan(head.max(frozen), keep, over, marker_tokens) {
            Some(p) => Some(p),
            None if frozen > head => {
                into_frozen = true;
                planner.plan(head, keep, over, marker_tokens)
            }
            None => None,
        };
        let Some(plan) = plan else {
            ctx.warnings.push(cannot_fit(&format!(
                "cannot fit without dropping the system prompt, the first user message or the last {} turn(s)",
                keep.max(1)
            )));
            return Ok(false);
        };

        let mut dropped_raw = Vec::new();
        let (mut turns, mut results) = (0u64, 0u64);
        for (i, m) in conv.messages.iter().enumerate() {
            if plan.drop.get(i).copied().unwrap_or(false) {
                dropped_raw.push(m.to_value());
                turns += u64::from(is_turn_start(m));
                results += m.blocks.iter().filter(|b| b.kind == BlockKind::ToolResult).count() as u64;
            }
        }
        let count = dropped_raw.len() as u64;
        let stored = serde_json::to_string(&Value::Array(dropped_raw))
            .map_err(|e| Error::compression("serialize_failed", e.to_string()))?;
        let Some(hash) = ctx.store_original(&stored) else {
            ctx.warnings.push(cannot_fit(
                "dropping turns is a lossy step, which is not allowed here (CCR is off, or the retrieve tool cannot be added without breaking a cached prefix)",
            ));
            return Ok(false);
        };
        let text = marker(&summary(turns, results, plan.saved, count, budget), &hash);
        let marker_msg = conv.new_text_message(Role::Assistant, &text);
        let old = std::mem::take(&mut conv.messages);
        let mut marker_msg = Some(marker_msg);
        for (i, m) in old.into_iter().enumerate() {
            if i == plan.marker_at {
                if let Some(mm) = marker_msg.take() {
                    conv.messages.push(mm);
                }
            }
            if !plan.drop.get(i).copied().unwrap_or(false) {
                conv.messages.push(m);
            }
        }
        if into_frozen {
            ctx.warnings.push(format!(
                "rolling_window: the request could only fit by dropping messages inside the cached (frozen) prefix; the provider's prompt cache will miss on this request ({count} messages dropped)"
            ));
        }
        Ok(true)
    }
}

fn summary(turns: u64, results: u64, tokens: u64, messages: u64, budget: u64) -> String {
    format!(
        "{turns} earlier turn(s) and {results} tool result(s) ({messages} messages, {tokens} tokens) were dropped to fit the {budget}-token context budget; the original is a JSON array of those messages"
    )
}
