//! SmartCrusher: compresses JSON tool outputs. Lossless first (minified JSON, or the table format
//! of `table.rs` when it saves enough tokens); lossy only when the output is still over
//! `minTokensToCrush` and an array has more than `maxItemsAfterCrush` items. Then `select.rs`
//! picks the items to keep, long opaque strings become markers, and every marker names the hash
//! of the original text, which the caller stores (compress-cache-retrieve).

pub mod select;
pub mod table;

use crate::ccr;
use crate::config::SmartCrusherConfig;
use crate::tokens::TokenCounter;
use serde_json::Value;

/// What one call of `crush` needs.
#[derive(Clone, Copy)]
pub struct CrushParams<'a> {
    pub config: &'a SmartCrusherConfig,
    /// `maxItemsAfterCrush`, after tool profiles (`maxItems`, `bias`).
    pub max_items: usize,
    pub query: &'a str,
    /// Whether lossy steps may run (the caller can store the original).
    pub allow_lossy: bool,
    pub counter: TokenCounter,
}

/// A smaller rendering of a JSON tool output.
#[derive(Debug, Clone)]
pub struct Crushed {
    pub output: String,
    pub lossy: bool,
    /// `minify`, `table`, `select`, `select+table`.
    pub strategy: &'static str,
    pub tokens_before: usize,
    pub tokens_after: usize,
    pub items_before: usize,
    pub items_after: usize,
    /// For a lossy result, the hash of `text` its markers name (computed once, here).
    pub hash: Option<String>,
}

/// Strings longer than this (in chars) are replaced by a marker in lossy mode.
const LONG_STRING: usize = 2000;
/// Base64-looking strings longer than this are replaced by a marker in lossy mode.
const LONG_BASE64: usize = 256;

/// Parses a tool output as JSON: an object or array, or a string holding one (double-encoded).
pub fn parse_json_output(text: &str) -> Option<Value> {
    let t = text.trim();
    if !(t.starts_with('{') || t.starts_with('[') || t.starts_with('"')) {
        return None;
    }
    // The request parser (serde_json's value, without its scratch copy), serde_json for what it
    // declines.
    let parse = |t: &str| crate::json::parse_within(t, usize::MAX).or_else(|| serde_json::from_str::<Value>(t).ok());
    match parse(t)? {
        v @ (Value::Object(_) | Value::Array(_)) => Some(v),
        Value::String(inner) => match parse(inner.trim())? {
            v @ (Value::Object(_) | Value::Array(_)) => Some(v),
            _ => None,
        },
        _ => None,
    }
}

/// Compresses `text` if it is JSON and a smaller rendering exists; `None` means pass through.
pub fn crush(text: &str, p: &CrushParams<'_>) -> Option<Crushed> {
    if !p.config.enabled {
        return None;
    }
    let value = parse_json_output(text)?;
    crush_counted(text, value, p.counter.count(text), p)
}

/// `crush` of a text its caller has already parsed (`value` is `parse_json_output(text)`) and
/// counted (`tokens_before`).
pub fn crush_counted(text: &str, value: Value, tokens_before: usize, p: &CrushParams<'_>) -> Option<Crushed> {
    let cfg = p.config;
    if !cfg.enabled {
        return None;
    }
    if (tokens_before as u64) < cfg.min_tokens_to_crush {
        return None;
    }
    let items_before = count_items(&value);
    let mut best: Option<Crushed> = None;
    // Keeps the candidate with the fewest tokens, and only if it beats the input.
    let consider = |best: &mut Option<Crushed>, output: String, lossy: bool, strategy: &'static str, items_after: usize| {
        let tokens_after = p.counter.count(&output);
        let current = best.as_ref().map_or(tokens_before, |b| b.tokens_after);
        if tokens_after < current {
            *best = Some(Crushed { output, lossy, strategy, tokens_before, tokens_after, items_before, items_after, hash: None });
        }
    };

    // Lossy runs only when the output would still be over `minTokensToCrush` after lossless
    // compaction and something is long enough to cut. When that is plain from the size alone
    // (over 4 bytes a token on average), the lossless forms are not tokenised at all.
    // (Lossless forms are rarely under a tenth of the input's size, hence the input length.)
    let lossy_allowed = p.allow_lossy && !cfg.lossless_only && has_cuttable(&value, p.max_items, cfg, 0);
    let clearly_over = text.len() as u64 > 40 * cfg.min_tokens_to_crush;
    if !(lossy_allowed && clearly_over) {
        let minified = value.to_string();
        let table = render_tables(&value, cfg);
        // Minified JSON is the honest baseline; the table must beat it by the configured ratio.
        let minified_tokens = if minified.len() == text.trim().len() { tokens_before } else { p.counter.count(&minified) };
        consider(&mut best, minified, false, "minify", items_before);
        if let Some(t) = table {
            let t_tokens = p.counter.count(&t);
            if (t_tokens as f64) <= minified_tokens as f64 * (1.0 - cfg.lossless_min_savings_ratio) {
                consider(&mut best, t, false, "table", items_before);
            }
        }
    }
    let lossless_tokens = best.as_ref().map_or(tokens_before, |b| b.tokens_after);
    if lossy_allowed && (clearly_over || lossless_tokens as u64 > cfg.min_tokens_to_crush) {
        let hash = ccr::hash(text);
        let mut reduced = value;
        if shrink(&mut reduced, p, &hash, 0) {
            let items_after = count_items(&reduced);
            if let Some(t) = render_tables(&reduced, cfg) {
                consider(&mut best, t, true, "select+table", items_after);
            }
            consider(&mut best, reduced.to_string(), true, "select", items_after);
        }
        if let Some(b) = best.as_mut().filter(|b| b.lossy) {
            b.hash = Some(hash);
        }
    }
    best
}

/// Whether lossy reduction has anything to cut: an array over the item budget or a long string.
fn has_cuttable(v: &Value, max_items: usize, cfg: &SmartCrusherConfig, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match v {
        Value::Array(a) => {
            (a.len() > max_items && a.len() as u64 >= cfg.min_items_to_analyze)
                || a.iter().any(|x| has_cuttable(x, max_items, cfg, depth + 1))
        }
        Value::Object(o) => {
            is_big_map(o, max_items, cfg)
                || o.iter().any(|(k, x)| match x {
                    Value::Object(inner) if SCHEMA_MAPS.contains(&k.as_str()) => {
                        inner.values().any(|y| has_cuttable(y, max_items, cfg, depth + 2))
                    }
                    _ => has_cuttable(x, max_items, cfg, depth + 1),
                })
        }
        Value::String(s) => s.len() > LONG_BASE64,
        _ => false,
    }
}

fn count_items(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.iter().filter(|x| !table::is_marker(x)).count(),
        Value::Object(o) => o.values().filter(|x| x.is_array()).map(count_items).sum(),
        _ => 0,
    }
}

/// Lossy reduction in place: long arrays keep their selected items plus a marker element; long
/// opaque strings become markers. Returns whether anything changed.
fn shrink(v: &mut Value, p: &CrushParams<'_>, hash: &str, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match v {
        Value::Array(items) => {
            let mut changed = false;
            if items.len() > p.max_items && items.len() as u64 >= p.config.min_items_to_analyze {
                let kept = select::select(items, p.query, p.config, p.max_items);
                if kept.indices.len() < items.len() {
                    let n = items.len();
                    let mut taken: Vec<Value> = Vec::with_capacity(kept.indices.len() + 1);
                    for &i in &kept.indices {
                        if let Some(item) = items.get_mut(i) {
                            taken.push(item.take());
                        }
                    }
                    let summary = format!("{} of {n} items omitted, kept {}", n - taken.len(), why(&kept).join(", "));
                    taken.push(Value::String(ccr::marker(&summary, hash)));
                    *items = taken;
                    changed = true;
                }
            }
            for item in items.iter_mut() {
                changed |= shrink(item, p, hash, depth + 1);
            }
            changed
        }
        Value::Object(o) => {
            let mut changed = false;
            if is_big_map(o, p.max_items, p.config) {
                changed |= shrink_map(o, p, hash);
            }
            for (key, val) in o.iter_mut() {
                match val {
                    // A JSON Schema's `properties` (a tool's parameters) is a definition, not
                    // data: its entries are never dropped, only what is inside them is reduced.
                    Value::Object(inner) if SCHEMA_MAPS.contains(&key.as_str()) => {
                        for v in inner.values_mut() {
                            changed |= shrink(v, p, hash, depth + 2);
                        }
                    }
                    _ => changed |= shrink(val, p, hash, depth + 1),
                }
            }
            changed
        }
        Value::String(s) => {
            let len = s.chars().count();
            let kind = if len > LONG_BASE64 && looks_base64(s) {
                "base64"
            } else if len > LONG_STRING && looks_html(s) {
                "HTML"
            } else if len > LONG_STRING {
                "text"
            } else {
                return false;
            };
            let preview: String = s.chars().take(if kind == "text" { 200 } else { 0 }).collect();
            let summary = format!("{kind} string of {len} chars omitted");
            *s = if preview.is_empty() { ccr::marker(&summary, hash) } else { format!("{preview}… {}", ccr::marker(&summary, hash)) };
            true
        }
        _ => false,
    }
}

/// Keys whose object value is a JSON Schema map of definitions, never reduced as a map.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "definitions", "$defs"];

/// A flat map with more keys than this is reduced like an array even when its values are not
/// records (a config map, a translation table, counters by name).
const MAP_MIN_KEYS: usize = 100;
/// The key of the marker entry a reduced map ends with.
pub const MAP_MARKER_KEY: &str = "[headroom]";

/// Whether `o` is a map (keys are data, e.g. ids) big enough to reduce like an array: more
/// entries than the item budget and either mostly record values (a dict keyed by id) or very
/// many keys. Records with a few dozen named fields are not maps.
fn is_big_map(o: &serde_json::Map<String, Value>, max_items: usize, cfg: &SmartCrusherConfig) -> bool {
    let n = o.len();
    if n <= max_items || (n as u64) < cfg.min_items_to_analyze || o.contains_key(MAP_MARKER_KEY) {
        return false;
    }
    let records = o.values().filter(|v| v.is_object()).count();
    records * 10 >= n * 8 || n > MAP_MIN_KEYS
}

/// Keeps the entries of a big map that `select` would keep of the same entries as an array (the
/// key takes part in matching, as `@key`), in their order, then a marker entry.
fn shrink_map(o: &mut serde_json::Map<String, Value>, p: &CrushParams<'_>, hash: &str) -> bool {
    let items: Vec<Value> = o
        .iter()
        .map(|(k, v)| match v {
            Value::Object(inner) => {
                let mut m = inner.clone();
                m.insert("@key".into(), Value::String(k.clone()));
                Value::Object(m)
            }
            other => serde_json::json!({"@key": k, "@value": other}),
        })
        .collect();
    let kept = select::select(&items, p.query, p.config, p.max_items);
    let n = o.len();
    if kept.indices.len() >= n {
        return false;
    }
    let old = std::mem::take(o);
    let keep: std::collections::BTreeSet<usize> = kept.indices.iter().copied().collect();
    for (i, (k, v)) in old.into_iter().enumerate() {
        if keep.contains(&i) {
            o.insert(k, v);
        }
    }
    let summary = format!("{} of {n} keys omitted, kept {}", n - o.len(), why(&kept).join(", "));
    o.insert(MAP_MARKER_KEY.into(), Value::String(ccr::marker(&summary, hash)));
    true
}

/// Why items were kept, for a marker's summary.
fn why(kept: &select::Kept) -> Vec<String> {
    let mut why = vec!["first/last".to_string()];
    for (count, what) in [
        (kept.errors, "errors"),
        (kept.query_matches, "query matches"),
        (kept.outliers, "anomalies"),
        (kept.relevant, "relevant"),
    ] {
        if count > 0 {
            why.push(format!("{count} {what}"));
        }
    }
    if kept.duplicates_dropped > 0 {
        why.push(format!("{} duplicates dropped", kept.duplicates_dropped));
    }
    why
}

fn looks_base64(s: &str) -> bool {
    let body = s.split_once(";base64,").map_or(s, |(_, b)| b);
    let sample: Vec<u8> = body.bytes().take(4096).collect();
    !sample.is_empty()
        && !sample.contains(&b' ')
        && sample.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'\n' | b'\r'))
}

fn looks_html(s: &str) -> bool {
    let head: String = s.chars().take(512).collect::<String>().to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype") || head.contains("<div") || head.contains("<body")
}

/// Renders `v` in the table format if it holds at least one array of objects that fits a table.
pub fn render_tables(v: &Value, cfg: &SmartCrusherConfig) -> Option<String> {
    if table::has_placeholder_like(v) {
        return None;
    }
    let mut skeleton = v.clone();
    let mut sections = String::new();
    let mut next = 1;
    collect_tables(&mut skeleton, cfg, &mut sections, &mut next, 0);
    if next == 1 {
        return None;
    }
    Some(format!("{}\n{}\n{}", table::SIGNATURE, skeleton, sections.trim_end()))
}

fn collect_tables(v: &mut Value, cfg: &SmartCrusherConfig, out: &mut String, next: &mut usize, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Array(items) => {
            let rows = match items.last() {
                Some(last) if table::is_marker(last) => &items[..items.len() - 1],
                _ => &items[..],
            };
            if rows.len() as u64 >= cfg.min_items_to_analyze.max(2) {
                let cols = table::columns(rows, 0.8, 6);
                // Several item shapes (events with a `type`...): one table per shape, unless one
                // table of all columns is mostly full anyway.
                let sparse = cols.as_ref().is_none_or(|c| table::fill_rate(rows, c) < 0.75);
                if let Some(buckets) = sparse.then(|| table::buckets(rows)).flatten() {
                    let id = *next;
                    *next += 1;
                    table::render_buckets(id, items, &buckets, out);
                    *v = table::placeholder(id);
                    return;
                }
                if let Some(cols) = cols {
                    let id = *next;
                    *next += 1;
                    table::render_section(id, items, &cols, out);
                    *v = table::placeholder(id);
                    return;
                }
            }
            for item in items.iter_mut() {
                collect_tables(item, cfg, out, next, depth + 1);
            }
        }
        Value::Object(o) => {
            // A map of records (a dict keyed by id): a table whose rows start with the key.
            let records = o.iter().filter(|(k, _)| k.as_str() != MAP_MARKER_KEY).count();
            if records as u64 >= cfg.min_items_to_analyze.max(2) && records > 0 {
                let marker = o.get(MAP_MARKER_KEY).filter(|m| table::is_marker(m)).and_then(Value::as_str);
                let entries: Vec<(&String, &Value)> = o.iter().filter(|(k, _)| k.as_str() != MAP_MARKER_KEY).collect();
                if marker.is_some() || !o.contains_key(MAP_MARKER_KEY) {
                    let values: Vec<Value> = entries.iter().map(|(_, v)| (*v).clone()).collect();
                    if let Some(cols) = table::columns(&values, 0.8, 6) {
                        let id = *next;
                        *next += 1;
                        table::render_map_section(id, &entries, &cols, marker, out);
                        *v = table::placeholder(id);
                        return;
                    }
                }
            }
            for val in o.values_mut() {
                collect_tables(val, cfg, out, next, depth + 1);
            }
        }
        _ => {}
    }
}
