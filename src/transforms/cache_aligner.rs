//! CacheAligner: finds volatile content in system prompts (dates, times, timestamps, UUIDs, JWTs,
//! hashes, request/session IDs, key-like strings, version stamps) that changes the prompt's bytes
//! between requests and so defeats provider prefix caching.
//!
//! `detect` (the default; see `CacheAlignerConfig`) only warns. `rewrite` moves each sentence that
//! holds volatile content to a dynamic tail after `dynamicTailSeparator` at the end of the system
//! prompt: the prefix before it becomes byte-stable and the information stays in the prompt.
//! `cache_metrics` gives the engine the per-request cache fields (prefix hash, alignment score,
//! cacheable tokens), computed on what is actually sent.

use super::{Context, Transform};
use crate::config::{CacheAlignerConfig, CacheAlignerMode, Config, Provider};
use crate::error::Result;
use crate::message::{BlockKind, Conversation};
use crate::tokens::TokenCounter;
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

pub struct CacheAligner;

/// A volatile span of a text, in byte offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volatile {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
}

const MONTH: &str = "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
const WEEKDAY: &str = "(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\\.?,?\\s+)?";

/// The structural patterns, compiled once per process (or wasm instance). Word boundaries are
/// ASCII (`(?-u:\b)`): Unicode ones push the regex engine off its DFA onto a backtracker, which
/// cost ~3.7 ms per 5 KB system prompt (natively); a date glued to a non-ASCII letter now counts
/// as a word of its own.
fn patterns() -> &'static [(&'static str, Regex)] {
    static PATTERNS: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let specs: Vec<(&'static str, String)> = vec![
            (
                "timestamp",
                r"(?-u:\b)\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?:\s?(?:UTC|GMT))?".into(),
            ),
            ("date", r"(?-u:\b)\d{4}-\d{2}-\d{2}(?-u:\b)".into()),
            ("date", r"(?-u:\b)\d{1,2}/\d{1,2}/\d{2,4}(?-u:\b)".into()),
            ("date", format!(r"(?i)(?-u:\b){WEEKDAY}{MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}(?-u:\b)")),
            ("date", format!(r"(?i)(?-u:\b){WEEKDAY}\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}\.?,?\s+\d{{4}}(?-u:\b)")),
            (
                "time",
                r"(?-u:\b)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp]\.?[Mm](?-u:\b)\.?)?(?:\s?(?:UTC|GMT|Z|[ECMP][SD]T)(?-u:\b))?".into(),
            ),
            ("unix_timestamp", r"(?-u:\b)1[5-9]\d{8}(?:\d{3})?(?-u:\b)".into()),
            ("uuid", r"(?-u:\b)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?-u:\b)".into()),
            ("jwt", r"(?-u:\b)eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*".into()),
            (
                "api_key",
                r"(?-u:\b)(?:sk|pk|rk)[-_](?:live[-_]|test[-_]|proj[-_]|ant[-_])?[A-Za-z0-9_-]{16,}|(?-u:\b)gh[pousr]_[A-Za-z0-9]{20,}|(?-u:\b)AKIA[0-9A-Z]{16}(?-u:\b)|(?-u:\b)AIza[0-9A-Za-z_-]{30,}|(?-u:\b)xox[abprs]-[A-Za-z0-9-]{10,}".into(),
            ),
            ("hex_hash", r"(?-u:\b)[0-9a-fA-F]{16,}(?-u:\b)".into()),
            (
                "version",
                r"(?i)(?-u:\b)(?:version|build|release|revision|rev)(?-u:\b)\s*(?:id|number|no\.?)?\s*[:=#]?\s*v?\d[0-9A-Za-z.+-]*[0-9A-Za-z]|(?-u:\b)v?\d+\.\d+\.\d+[-+][0-9A-Za-z.-]*[0-9A-Za-z]".into(),
            ),
            ("high_entropy", r"[A-Za-z0-9+/_=-]{20,}".into()),
        ];
        specs
            .into_iter()
            // invariant: every pattern above is a constant checked by the unit tests; one that
            // failed to compile would be skipped rather than take the engine down.
            .filter_map(|(kind, p)| Regex::new(&p).ok().map(|r| (kind, r)))
            .collect()
    })
}

/// Labels whose value is volatile when followed by an id suffix (`request_id: ...`, `Session ID =`).
const ID_LABELS: &[&str] =
    &["request", "req", "session", "trace", "span", "correlation", "conversation", "run", "transaction", "user", "job"];
/// Labels whose value is volatile as they stand.
const PLAIN_LABELS: &[&str] = &["nonce", "timestamp"];

/// Normalized Shannon entropy of `s`'s bytes: 1.0 when every byte differs.
fn entropy(s: &str) -> f64 {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    let h: f64 = counts.iter().filter(|&&c| c > 0).map(|&c| {
        let p = c as f64 / n;
        -p * p.log2()
    }).sum();
    h / n.min(64.0).log2()
}

/// Whether a candidate token looks random (a key, a token) rather than a word or identifier.
fn looks_random(s: &str, threshold: f64) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let letters = s.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits < 3 || letters < 3 {
        return false;
    }
    // Long same-case letter runs are words (`backup_config_2024`), not randomness.
    let mut run = 0;
    let mut last_upper = None;
    for b in s.bytes() {
        if b.is_ascii_alphabetic() {
            let up = b.is_ascii_uppercase();
            run = if last_upper == Some(up) { run + 1 } else { 1 };
            last_upper = Some(up);
            if run >= 8 {
                return false;
            }
        } else {
            run = 0;
            last_upper = None;
        }
    }
    entropy(s) >= threshold
}

/// Values after `label[ _-]?id` (or after the plain label) and `:` / `=` / ` is `. `lower` is
/// `text` in ASCII lowercase (same byte offsets).
fn labeled_values(text: &str, lower: &str, label: &str, need_id: bool, out: &mut Vec<Volatile>) {
    let label = label.to_ascii_lowercase();
    if label.is_empty() {
        return;
    }
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(found) = lower.get(from..).and_then(|rest| rest.find(&label)) {
        let at = from + found;
        from = at + label.len();
        if at > 0 && bytes.get(at - 1).is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let mut i = at + label.len();
        let mut had_id = false;
        for suffix in ["_id", "-id", " id", "id"] {
            if lower.get(i..).is_some_and(|r| r.starts_with(suffix)) {
                i += suffix.len();
                had_id = true;
                break;
            }
        }
        if need_id && !had_id {
            continue;
        }
        if bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue; // part of a longer word (`sessions`, `userid_map`)
        }
        while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
            i += 1;
        }
        if bytes.get(i).is_some_and(|b| *b == b':' || *b == b'=') {
            i += 1;
        } else if lower.get(i..).is_some_and(|r| r.starts_with("is ")) {
            i += 3;
        } else {
            continue;
        }
        while bytes.get(i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'`')) {
            i += 1;
        }
        let start = i;
        while bytes.get(i).is_some_and(|b| {
            !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\'' | b'`' | b',' | b';' | b')' | b']' | b'}' | b'>' | b'<')
        }) {
            i += 1;
        }
        let mut end = i;
        while end > start && bytes.get(end - 1).is_some_and(|b| *b == b'.') {
            end -= 1;
        }
        let Some(value) = text.get(start..end) else { continue };
        if !value.is_empty() && (value.len() >= 4 || value.bytes().any(|b| b.is_ascii_digit())) {
            out.push(Volatile { start, end, kind: "labeled_id" });
        }
    }
}

/// Every volatile span of `text`, sorted and merged (overlaps joined).
pub fn detect(text: &str, cfg: &CacheAlignerConfig) -> Vec<Volatile> {
    let mut found = Vec::new();
    for (kind, re) in patterns() {
        for m in re.find_iter(text) {
            let s = m.as_str();
            let keep = match *kind {
                "hex_hash" => s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_alphabetic()),
                "high_entropy" => looks_random(s, cfg.entropy_threshold),
                _ => true,
            };
            if keep {
                found.push(Volatile { start: m.start(), end: m.end(), kind });
            }
        }
    }
    let lower = text.to_ascii_lowercase();
    for label in ID_LABELS {
        labeled_values(text, &lower, label, true, &mut found);
    }
    for label in PLAIN_LABELS {
        labeled_values(text, &lower, label, false, &mut found);
    }
    for label in &cfg.extra_dynamic_labels {
        labeled_values(text, &lower, label.trim(), false, &mut found);
    }
    found.sort_by_key(|v| (v.start, std::cmp::Reverse(v.end)));
    let mut merged: Vec<Volatile> = Vec::with_capacity(found.len());
    for v in found {
        match merged.last_mut() {
            Some(last) if v.start < last.end => last.end = last.end.max(v.end),
            _ => merged.push(v),
        }
    }
    merged
}

/// Splits `text` into what stays (every sentence without volatile content, in place) and the
/// sentences that move to the dynamic tail, in order.
fn split_volatile(text: &str, spans: &[Volatile]) -> (String, Vec<String>) {
    let mut kept_lines: Vec<String> = Vec::new();
    let mut moved = Vec::new();
    let mut line_start = 0;
    for line in text.split('\n') {
        let line_end = line_start + line.len();
        let in_line: Vec<(usize, usize)> = spans
            .iter()
            .filter(|v| v.start < line_end && v.end > line_start)
            .map(|v| (v.start.saturating_sub(line_start), v.end.min(line_end) - line_start))
            .collect();
        if in_line.is_empty() {
            kept_lines.push(line.to_string());
        } else {
            let mut kept = Vec::new();
            for (s, e) in sentences(line, &in_line) {
                let Some(sentence) = line.get(s..e) else { continue };
                let sentence = sentence.trim();
                if sentence.is_empty() {
                    continue;
                }
                if in_line.iter().any(|&(vs, ve)| vs < e && ve > s) {
                    moved.push(sentence.to_string());
                } else {
                    kept.push(sentence.to_string());
                }
            }
            if !kept.is_empty() {
                let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
                kept_lines.push(format!("{indent}{}", kept.join(" ")));
            }
        }
        line_start = line_end + 1;
    }
    (kept_lines.join("\n"), moved)
}

/// Sentence ranges of `line`: a sentence ends after `.`, `!` or `?` followed by whitespace,
/// unless that point lies inside a volatile span (`Jan. 7`).
fn sentences(line: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?')
            && bytes.get(i + 1).is_some_and(|n| n.is_ascii_whitespace())
            && !spans.iter().any(|&(s, e)| s <= i && i < e)
        {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < line.len() {
        out.push((start, line.len()));
    }
    out
}

/// Trailing whitespace off each line, and runs of spaces inside a line (not its indentation)
/// collapsed to one.
fn normalize_whitespace(text: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let line = line.trim_end();
            let indent_len = line.len() - line.trim_start().len();
            let (indent, rest) = line.split_at(indent_len);
            let mut out = String::from(indent);
            let mut prev_space = false;
            for c in rest.chars() {
                let space = c == ' ' || c == '\t';
                if !(space && prev_space) {
                    out.push(if space { ' ' } else { c });
                }
                prev_space = space;
            }
            out
        })
        .collect();
    lines.join("\n")
}

fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut newlines = 0;
    for c in text.chars() {
        if c == '\n' {
            newlines += 1;
            if newlines > 2 {
                continue;
            }
        } else if !(c == ' ' || c == '\t' || c == '\r') || newlines == 0 {
            newlines = 0;
        }
        out.push(c);
    }
    out
}

/// Indices of the instruction messages at the head of the request (the system prompt).
pub fn instruction_indices(conv: &Conversation) -> Vec<usize> {
    conv.messages.iter().take_while(|m| m.role.is_instruction()).enumerate().map(|(i, _)| i).collect()
}

/// The separator, or `None` when it is blank (a blank one would match everywhere).
fn separator(cfg: &CacheAlignerConfig) -> Option<&str> {
    let s = cfg.dynamic_tail_separator.as_str();
    if s.trim().is_empty() { None } else { Some(s) }
}

/// The part of `text` before the dynamic tail, and the tail's content after the separator.
fn split_tail<'t>(text: &'t str, sep: Option<&str>) -> (&'t str, Option<&'t str>) {
    match sep.and_then(|s| text.find(s).map(|i| (i, s.len()))) {
        Some((i, n)) => (text.get(..i).unwrap_or(text), text.get(i + n..)),
        None => (text, None),
    }
}

fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

impl Transform for CacheAligner {
    fn may_add_tokens(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "cache_aligner"
    }

    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool> {
        let cfg = &ctx.config.cache_aligner;
        if cfg.mode == CacheAlignerMode::Off {
            return Ok(false);
        }
        let sep = separator(cfg);
        // (message, block, volatile spans in the part before the tail)
        let mut found: Vec<(usize, usize, Vec<Volatile>)> = Vec::new();
        let mut target: Option<(usize, usize)> = None;
        for mi in instruction_indices(conv) {
            let Some(m) = conv.messages.get(mi) else { continue };
            for (bi, b) in m.blocks.iter().enumerate() {
                if b.kind != BlockKind::Text {
                    continue;
                }
                if b.editable && !m.frozen {
                    target = Some((mi, bi));
                }
                let (head, _) = split_tail(&b.text, sep);
                let spans = detect(head, cfg);
                if !spans.is_empty() {
                    found.push((mi, bi, spans));
                }
            }
        }
        let needs_format = cfg.mode == CacheAlignerMode::Rewrite && (cfg.normalize_whitespace || cfg.collapse_blank_lines);
        if found.is_empty() && !needs_format {
            return Ok(false);
        }
        if !found.is_empty() {
            let mut samples = Vec::new();
            for (mi, bi, spans) in &found {
                let text = conv.messages.get(*mi).and_then(|m| m.blocks.get(*bi)).map_or("", |b| b.text.as_str());
                for v in spans {
                    if samples.len() < 4 {
                        let value = text.get(v.start..v.end).unwrap_or("");
                        // Warnings end up in logs: secrets and identifiers are named, not shown.
                        samples.push(match v.kind {
                            "date" | "time" | "timestamp" | "version" => format!("{} '{}'", v.kind, excerpt(value)),
                            kind => format!("{kind} ({} chars)", value.len()),
                        });
                    }
                }
            }
            let total: usize = found.iter().map(|f| f.2.len()).sum();
            if cfg.mode == CacheAlignerMode::Detect {
                ctx.warnings.push(format!(
                    "cache_aligner: the system prompt holds {total} volatile value(s) ({}) that change its bytes between requests and defeat provider prompt caching; cacheAligner.mode \"rewrite\" moves them to a dynamic tail",
                    samples.join(", ")
                ));
                return Ok(false);
            }
        }
        // Rewrite.
        if sep.is_none() && !found.is_empty() {
            ctx.warnings.push("cache_aligner: cacheAligner.dynamicTailSeparator is blank, so nothing was moved".into());
            return Ok(false);
        }
        let Some((tmi, tbi)) = target else {
            if !found.is_empty() {
                ctx.warnings.push(
                    "cache_aligner: the system prompt holds volatile values but sits inside the cached (frozen) prefix or cannot be edited; left unchanged".into(),
                );
            }
            return Ok(false);
        };
        let mut moved_all: Vec<String> = Vec::new();
        let mut edits: Vec<(usize, usize, String, Option<String>)> = Vec::new();
        for mi in instruction_indices(conv) {
            let Some(m) = conv.messages.get(mi) else { continue };
            for (bi, b) in m.blocks.iter().enumerate() {
                if b.kind != BlockKind::Text || !b.editable || m.frozen {
                    continue;
                }
                let (head, tail) = split_tail(&b.text, sep);
                let spans = found.iter().find(|f| f.0 == mi && f.1 == bi).map(|f| f.2.as_slice()).unwrap_or(&[]);
                let (mut stable, moved) = if spans.is_empty() { (head.to_string(), Vec::new()) } else { split_volatile(head, spans) };
                if cfg.normalize_whitespace {
                    stable = normalize_whitespace(&stable);
                }
                if cfg.collapse_blank_lines {
                    stable = collapse_blank_lines(&stable);
                }
                moved_all.extend(moved);
                edits.push((mi, bi, stable, tail.map(str::to_string)));
            }
        }
        let mut changed = false;
        for (mi, bi, stable, tail) in edits {
            let is_target = (mi, bi) == (tmi, tbi);
            let mut tail_items: Vec<String> = tail.into_iter().filter(|t| !t.is_empty()).collect();
            if is_target {
                tail_items.append(&mut moved_all);
            }
            let new_text = match (sep, tail_items.is_empty()) {
                (Some(sep), false) => format!("{}{sep}{}", stable.trim_end(), tail_items.join("\n")),
                _ => stable,
            };
            if let Some(m) = conv.messages.get_mut(mi) {
                if m.blocks.get(bi).is_some_and(|b| *b.text != new_text) {
                    changed |= m.set_block_text(bi, new_text);
                }
            }
        }
        Ok(changed)
    }
}

/// The cache fields every result carries.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheMetrics {
    /// 16 hex digits of SHA-256 over the model, the tool definitions and the system prompt before
    /// its dynamic tail: equal across requests exactly when that prefix is byte-identical.
    pub stable_prefix_hash: String,
    /// The fraction of the system prompt's bytes before its first volatile value (1.0: none).
    pub cache_alignment_score: f64,
    /// Tokens of the prefix a provider cache can serve on the next request (0 below
    /// `cacheOptimizer.minCacheableTokens`).
    pub cacheable_tokens: u64,
    /// Hashes of the tool definitions in order and as a set, to tell a reordering apart.
    pub tools_order_hash: String,
    pub tools_set_hash: String,
}

/// The first 16 hex digits of the SHA-256 of `parts`, each followed by a 0 byte.
fn hex16(parts: &[&str]) -> String {
    let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        bytes.extend_from_slice(p.as_bytes());
        bytes.push(0);
    }
    let mut h = crate::digest::sha256_hex(&bytes);
    h.truncate(16);
    h
}

/// The cache fields of `conv` as it will be sent.
/// `total` is the request's token count (as `TokenCounter::count_conversation` gives it).
pub fn cache_metrics(conv: &Conversation, model: &str, config: &Config, counter: &TokenCounter, total: u64) -> CacheMetrics {
    let cfg = &config.cache_aligner;
    let sep = separator(cfg);
    let tools: Vec<String> = match conv.tools() {
        Some(Value::Array(list)) => list.iter().map(Value::to_string).collect(),
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    };
    let tools_text = tools.join(",");
    let mut sorted = tools.clone();
    sorted.sort();

    // The system prompt's text, and where its stable part ends.
    let mut full = String::new();
    let mut stable_end: Option<usize> = None;
    for mi in instruction_indices(conv) {
        let Some(m) = conv.messages.get(mi) else { continue };
        for b in m.blocks.iter().filter(|b| b.kind == BlockKind::Text) {
            if !full.is_empty() {
                full.push('\n');
            }
            if stable_end.is_none() {
                if let (head, Some(_)) = split_tail(&b.text, sep) {
                    stable_end = Some(full.len() + head.len());
                }
            }
            full.push_str(&b.text);
        }
    }
    let stable = full.get(..stable_end.unwrap_or(full.len())).unwrap_or(&full);
    let first_volatile = detect(&full, cfg).first().map(|v| v.start);
    let score = match first_volatile {
        Some(i) if !full.is_empty() => i as f64 / full.len() as f64,
        _ => 1.0,
    };

    // Tokens a cache can serve: with a volatile system prompt, the tools and the system prompt
    // up to its first volatile byte; else the whole request (`total`, without the reply
    // priming), and for Anthropic, which caches nothing without a breakpoint, the request up to
    // its last breakpoint.
    let tool_tokens = if tools.is_empty() { 0 } else { counter.count(&tools_text) };
    let has_bp = |m: &crate::message::Message| m.blocks.iter().any(|b| b.cache_control);
    let tools_bp = matches!(conv.tools(), Some(Value::Array(t)) if t.iter().any(|t| t.get("cache_control").is_some()));
    let mut cacheable = match (first_volatile, conv.provider) {
        (Some(i), _) => tool_tokens + counter.count(full.get(..i).unwrap_or("")),
        (None, Provider::Anthropic) => match conv.messages.iter().rposition(has_bp) {
            Some(last) => tool_tokens + conv.messages.iter().take(last + 1).map(|m| counter.count_message(m)).sum::<usize>(),
            None => tool_tokens,
        },
        (None, _) => (total as usize).saturating_sub(crate::tokens::REPLY_PRIMING_TOKENS),
    };
    if conv.provider == Provider::Anthropic && !conv.messages.iter().any(has_bp) {
        cacheable = if tools_bp { cacheable.min(tool_tokens) } else { 0 };
    }
    if (cacheable as u64) < config.cache_optimizer.min_cacheable_tokens {
        cacheable = 0;
    }
    CacheMetrics {
        stable_prefix_hash: hex16(&[model, &tools_text, stable]),
        cache_alignment_score: score,
        cacheable_tokens: cacheable as u64,
        tools_order_hash: hex16(&[&tools_text]),
        tools_set_hash: hex16(&[&sorted.join(",")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<&'static str> {
        let cfg = CacheAlignerConfig::default();
        detect(text, &cfg).iter().map(|v| v.kind).collect()
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(patterns().len(), 13);
    }

    #[test]
    fn finds_volatile_values() {
        assert_eq!(kinds("Today is Tuesday, January 7, 2025."), vec!["date"]);
        assert_eq!(kinds("Now: 2025-01-07T10:42:13Z"), vec!["timestamp"]);
        assert_eq!(kinds("date 7 Jan 2025 at 10:42 am UTC"), vec!["date", "time"]);
        assert_eq!(kinds("id 550e8400-e29b-41d4-a716-446655440000"), vec!["uuid"]);
        assert_eq!(kinds("at 1736245333"), vec!["unix_timestamp"]);
        assert_eq!(kinds("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123"), vec!["jwt"]);
        assert_eq!(kinds("commit 9fceb02d0ae598e95dc970b74767f19372d61af8"), vec!["hex_hash"]);
        assert_eq!(kinds("Request ID: req_8f3KQ2"), vec!["labeled_id"]);
        assert_eq!(kinds("key sk-proj-AbC123xYz789QwErTy"), vec!["api_key"]);
        assert_eq!(kinds("Build: 2025.01.07-4512"), vec!["version"]);
        assert_eq!(kinds("random Zq8Lp2Xv9Rt4Wm7Kd3Hs"), vec!["high_entropy"]);
        assert!(kinds("You are a helpful assistant. Use Python 3.11 and answer in English.").is_empty());
        assert!(kinds("backup_configuration_file_2024_final").is_empty());
        let cfg = CacheAlignerConfig { extra_dynamic_labels: vec!["session".into()], ..Default::default() };
        let text = "session: abc123 and sessions: none";
        let v = detect(text, &cfg);
        assert_eq!(v.len(), 1);
        assert_eq!(&text[v[0].start..v[0].end], "abc123");
    }

    #[test]
    fn moves_sentences_not_lines() {
        let text = "You are helpful. Today is January 7, 2025. Be brief.\nRules:\n- Request ID: r-42";
        let spans = detect(text, &CacheAlignerConfig::default());
        let (kept, moved) = split_volatile(text, &spans);
        assert_eq!(kept, "You are helpful. Be brief.\nRules:");
        assert_eq!(moved, vec!["Today is January 7, 2025.", "- Request ID: r-42"]);
    }

    #[test]
    fn whitespace_helpers() {
        assert_eq!(normalize_whitespace("a   b  \n  c\t\td"), "a b\n  c d");
        assert_eq!(collapse_blank_lines("a\n\n\n\nb\n\nc"), "a\n\nb\n\nc");
    }
}
