//! Which items of a long array to keep when lossy compression is allowed: the union of position
//! anchors, errors, items the query names, structural and numeric outliers, change points and
//! BM25-relevant items, with the count sized by information saturation.

use crate::config::SmartCrusherConfig;
use crate::fasthash::{FastMap, FastSet};
use crate::transforms::relevance::{has_error_word, query_identifiers, query_terms, word_ids, word_ids_into, Bm25};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

/// Why items were kept (for the marker's summary).
#[derive(Debug, Default, Clone)]
pub struct Kept {
    pub indices: Vec<usize>,
    pub errors: usize,
    pub query_matches: usize,
    pub outliers: usize,
    pub relevant: usize,
    pub duplicates_dropped: usize,
}

const ERROR_STATUS: &[&str] =
    &["error", "err", "failed", "failure", "fail", "critical", "fatal", "crashed", "timeout", "denied", "rejected", "unhealthy", "down", "aborted"];
const STATUS_KEYS: &[&str] = &["status", "state", "level", "severity", "result", "outcome", "conclusion", "health"];
const CODE_KEYS: &[&str] = &["status_code", "statusCode", "http_status", "code", "exit_code", "exitCode"];

fn item_is_error(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.iter().any(|(k, val)| {
            if STATUS_KEYS.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                if let Some(s) = val.as_str() {
                    if ERROR_STATUS.iter().any(|e| s.eq_ignore_ascii_case(e)) {
                        return true;
                    }
                }
            }
            if CODE_KEYS.contains(&k.as_str()) {
                if let Some(n) = val.as_f64() {
                    if (k.contains("exit") || k.contains("Exit")) && n != 0.0 {
                        return true;
                    }
                    if (400.0..600.0).contains(&n) && k != "code" {
                        return true;
                    }
                }
            }
            if ["error", "errors", "exception"].iter().any(|e| k.eq_ignore_ascii_case(e)) {
                return !val.is_null() && val != &Value::Bool(false) && val.as_array().is_none_or(|a| !a.is_empty());
            }
            match val {
                Value::String(s) => s.len() <= ERROR_TEXT_MAX && has_error_word(s),
                Value::Object(_) | Value::Array(_) => item_is_error(val),
                _ => false,
            }
        }),
        Value::Array(a) => a.iter().any(item_is_error),
        Value::String(s) => s.len() <= ERROR_TEXT_MAX && has_error_word(s),
        _ => false,
    }
}

fn type_tag(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Numeric keys looked at, at most: past 32 the key list stops growing after the item that
/// passed it, and one item with thousands of numeric keys stops it here.
const MAX_NUMERIC_KEYS: usize = 256;

/// Numeric series per field (top-level keys of object items, or the items themselves): the
/// (item index, value) pairs of the items that have a number there, in item order. Sparse, so
/// memory follows the numbers present, not keys x items. Filled item by item (`add`).
struct NumericSeries<'a> {
    /// The items are all numbers: one series of the items themselves.
    all_numbers: bool,
    column: FastMap<&'a str, usize>,
    series: Vec<Vec<(usize, f64)>>,
}

impl<'a> NumericSeries<'a> {
    /// The fields: the numeric keys of the first items (see `MAX_NUMERIC_KEYS`).
    fn new(items: &'a [Value]) -> Self {
        if items.iter().all(Value::is_number) {
            return NumericSeries { all_numbers: true, column: FastMap::default(), series: vec![Vec::new()] };
        }
        let mut keys: Vec<&str> = Vec::new();
        'items: for it in items {
            if let Some(o) = it.as_object() {
                for (k, v) in o {
                    if v.is_number() && !keys.contains(&k.as_str()) {
                        if keys.len() == MAX_NUMERIC_KEYS {
                            break 'items;
                        }
                        keys.push(k.as_str());
                    }
                }
            }
            if keys.len() > 32 {
                break;
            }
        }
        let column = keys.iter().enumerate().map(|(j, k)| (*k, j)).collect();
        NumericSeries { all_numbers: false, column, series: vec![Vec::new(); keys.len()] }
    }

    fn add(&mut self, i: usize, item: &Value) {
        if self.all_numbers {
            if let (Some(x), Some(col)) = (item.as_f64(), self.series.first_mut()) {
                col.push((i, x));
            }
            return;
        }
        let Some(o) = item.as_object() else { return };
        for (k, v) in o {
            if let (Some(x), Some(col)) = (v.as_f64(), self.column.get(k.as_str()).and_then(|&j| self.series.get_mut(j))) {
                col.push((i, x));
            }
        }
    }
}

/// The number of items worth keeping: the knee of the curve of distinct words covered as items
/// are added (Kneedle). Repetitive data saturates early; varied data keeps the full budget.
fn saturation_k<'d>(docs: impl ExactSizeIterator<Item = &'d [u64]>, max: usize) -> usize {
    let n = docs.len();
    if n <= max {
        return n;
    }
    // Words each item adds to those before it; their total is every distinct word.
    let mut seen: FastSet<u64> = FastSet::default();
    let new_words: Vec<usize> = docs
        .map(|d| {
            let before = seen.len();
            seen.extend(d.iter().copied());
            seen.len() - before
        })
        .collect();
    let total = seen.len();
    if total == 0 {
        return max.min(n);
    }
    let mut covered = 0;
    let mut best = (0.0f64, n);
    for (i, added) in new_words.iter().enumerate() {
        covered += added;
        let x = (i + 1) as f64 / n as f64;
        let y = covered as f64 / total as f64;
        if y - x > best.0 {
            best = (y - x, i + 1);
        }
    }
    if best.0 < 0.1 {
        return max;
    }
    best.1.clamp(max.min(4), max)
}

/// The best BM25 matches that are kept even past the saturation budget.
const TOP_RELEVANT: usize = 3;
/// Strings longer than this (descriptions, documents) are not scanned for error words: a tool's
/// description that mentions errors does not report one.
const ERROR_TEXT_MAX: usize = 200;

/// What one field (a top-level key of object items) looks like across the items.
struct FieldStats<'a> {
    name: &'a str,
    count: usize,
    /// Items per value type (`type_tag`).
    types: [usize; 6],
    /// Short string values (<= 40 bytes): their slot in `counts`, while there are at most
    /// `CATEGORIES` of them; past that the field is not categorical and they are dropped.
    /// FastHasher although the input chooses them: never more than `CATEGORIES` + 1 keys, so
    /// crafted collisions cost a few comparisons at most (SipHash was most of this map's time).
    values: FastMap<&'a str, u8>,
    counts: Vec<usize>,
    too_many_values: bool,
    /// Short string values seen, in all.
    strings: usize,
}

/// A field with more distinct values than this is not categorical.
const CATEGORIES: usize = 20;
/// `Entry::slot` of a value that is not a counted short string.
const NO_SLOT: u8 = u8::MAX;

/// One top-level entry of one item, as the second pass of the structural ranking needs it
/// (8 bytes: one per field of every item is held at once).
struct Entry {
    field: u32,
    /// The value's slot in its field's `counts` (there are at most `CATEGORIES` + 1).
    slot: u8,
    tag: u8,
}

/// Structural outliers: items with a rare field, a value of a rare type for its field, or a rare
/// value of a categorical field. Gathered item by item (`add`, while the item is in cache), then
/// ranked from the compact entries alone (`rank`). Fields are found by position first (records
/// of one shape list their keys in the same order), by name otherwise.
struct Structure<'a> {
    fields: Vec<FieldStats<'a>>,
    // Field names are the tool output's text: SipHash here (see `first_of` in `select`).
    by_name: HashMap<&'a str, usize>,
    entries: Vec<Entry>,
    /// Where each item's entries start in `entries`.
    starts: Vec<u32>,
    all_objects: bool,
}

impl<'a> Structure<'a> {
    /// For `n` items; when the first item looks like a record (at most 64 fields), the entries
    /// are reserved for items shaped like it (growth by doubling would hold up to twice that).
    /// `try_reserve`: a size past what the target can address is no reservation, not a panic
    /// (usize is 32 bits in wasm).
    fn new(items: &[Value]) -> Self {
        let n = items.len();
        let per_item = items.first().and_then(Value::as_object).map_or(0, |o| o.len());
        let mut entries = Vec::new();
        if per_item <= 64 {
            let _ = entries.try_reserve(n.saturating_mul(per_item));
        }
        Structure { fields: Vec::new(), by_name: HashMap::new(), entries, starts: Vec::with_capacity(n), all_objects: true }
    }

    fn add(&mut self, item: &'a Value) {
        let Some(o) = item.as_object() else {
            self.all_objects = false;
            return;
        };
        // More entries than u32 counts: not ranked (no input of that size reaches here).
        let Ok(start) = u32::try_from(self.entries.len()) else {
            self.all_objects = false;
            return;
        };
        if !self.all_objects {
            return;
        }
        self.starts.push(start);
        for (pos, (k, v)) in o.iter().enumerate() {
            let f = match self.fields.get(pos) {
                Some(f) if f.name == k.as_str() => pos,
                _ => {
                    let fields = &mut self.fields;
                    *self.by_name.entry(k.as_str()).or_insert_with(|| {
                        fields.push(FieldStats {
                            name: k.as_str(),
                            count: 0,
                            types: [0; 6],
                            values: FastMap::default(),
                            counts: Vec::new(),
                            too_many_values: false,
                            strings: 0,
                        });
                        fields.len() - 1
                    })
                }
            };
            let tag = type_tag(v);
            let mut slot = NO_SLOT;
            if let Some(stats) = self.fields.get_mut(f) {
                stats.count += 1;
                stats.types[tag as usize] += 1;
                if let Some(s) = v.as_str().filter(|s| s.len() <= 40) {
                    stats.strings += 1;
                    if !stats.too_many_values {
                        // invariant: counts.len() <= CATEGORIES here, so it fits a u8 below NO_SLOT.
                        let next = stats.counts.len() as u8;
                        let at = *stats.values.entry(s).or_insert(next);
                        if at == next {
                            stats.counts.push(0);
                        }
                        if let Some(c) = stats.counts.get_mut(at as usize) {
                            *c += 1;
                        }
                        slot = at;
                        if stats.counts.len() > CATEGORIES {
                            stats.too_many_values = true;
                            stats.values = FastMap::default();
                            stats.counts = Vec::new();
                        }
                    }
                }
            }
            self.entries.push(Entry { field: f as u32, slot, tag });
        }
    }

    fn rank(&self, n: usize, ranked: &mut Vec<(f64, usize, u8)>) {
        if !self.all_objects {
            return;
        }
        let rare = (n as f64 * 0.1).max(1.0) as usize;
        for (i, &start) in self.starts.iter().enumerate() {
            let end = self.starts.get(i + 1).map_or(self.entries.len(), |&e| e as usize);
            for e in self.entries.get(start as usize..end).unwrap_or(&[]) {
                let Some(f) = self.fields.get(e.field as usize) else { continue };
                if f.count <= rare && self.fields.len() > 1 {
                    ranked.push((4.0, i, 0));
                }
                // A value of a rare type for its field (a null where others have strings...).
                if f.types[e.tag as usize] <= rare {
                    ranked.push((4.0, i, 0));
                }
                let categorical = !f.too_many_values && f.counts.len() > 1 && f.strings >= n / 2;
                if categorical && f.counts.get(e.slot as usize).is_some_and(|&c| c <= rare) {
                    ranked.push((4.0, i, 0));
                }
            }
        }
    }
}

pub fn select(items: &[Value], query: &str, cfg: &SmartCrusherConfig, max_items: usize) -> Kept {
    let n = items.len();
    let mut kept = Kept::default();
    if n <= max_items {
        kept.indices = (0..n).collect();
        return kept;
    }
    // Every item's minified JSON in one buffer, one line each (minified JSON has no raw line
    // break, so no text found within a line spans two items), and its words (hashed) in another.
    // One pass over the items gathers everything read from their values (a pass per signal
    // over a large array missed the cache on every item: 3x slower per item at 10k items).
    let mut bytes: Vec<u8> = Vec::new();
    let mut spans: Vec<Range<usize>> = Vec::with_capacity(n);
    let mut is_error: Vec<bool> = Vec::with_capacity(n);
    let mut numeric = NumericSeries::new(items);
    let mut structure = Structure::new(items);
    for (i, v) in items.iter().enumerate() {
        let start = bytes.len();
        // Writing a Value to a Vec cannot fail; an error would only leave that item's text short.
        let _ = serde_json::to_writer(&mut bytes, v);
        spans.push(start..bytes.len());
        bytes.push(b'\n');
        is_error.push(item_is_error(v));
        numeric.add(i, v);
        structure.add(v);
    }
    // Growth by doubling leaves up to half of a buffer unused: give it back (memory peaks here).
    bytes.shrink_to_fit();
    // serde_json writes UTF-8; were it not to, the texts would be empty (no panic).
    let buf = String::from_utf8(bytes).unwrap_or_default();
    let texts: Vec<&str> = spans.iter().map(|r| buf.get(r.clone()).unwrap_or("")).collect();
    let mut ids_buf: Vec<u64> = Vec::new();
    let mut doc_spans: Vec<Range<usize>> = Vec::with_capacity(n);
    for t in &texts {
        let start = ids_buf.len();
        word_ids_into(t, &mut ids_buf);
        doc_spans.push(start..ids_buf.len());
    }
    ids_buf.shrink_to_fit();
    let docs = || doc_spans.iter().map(|r| ids_buf.get(r.clone()).unwrap_or(&[]));

    // Identical items count once.
    // Keyed by text the tool output chose: std's SipHash (random keys natively), not FastHasher,
    // whose collisions are easy to craft.
    let mut candidate = vec![true; n];
    if cfg.dedup_identical_items {
        // Sized up front: growing rehashes every key seen so far (SipHash over whole items).
        let mut first_of: HashMap<&str, usize> = HashMap::with_capacity(n);
        for (i, t) in texts.iter().enumerate() {
            if first_of.insert(t, i).is_some() {
                candidate[i] = false;
                kept.duplicates_dropped += 1;
            }
        }
    }
    let k = saturation_k(docs(), max_items);
    let mut keep: BTreeSet<usize> = BTreeSet::new();

    // Must keep: what the user asked about, then errors (bounded so a log of errors still shrinks).
    let hard_cap = 2 * max_items;
    let ids: Vec<String> = query_identifiers(query).into_iter().map(|s| s.to_lowercase()).collect();
    if !ids.is_empty() {
        // ASCII items (lower-casing keeps the spans): one search per identifier over all of them;
        // otherwise item by item.
        let matches: Vec<usize> = if buf.is_ascii() && ids.iter().all(|id| !id.contains('\n')) {
            // Lower-cased a chunk of items at a time (~64 KB), so memory stays flat.
            const CHUNK: usize = 1 << 16;
            let mut hit = vec![false; n];
            let mut lower = String::new();
            let mut first = 0;
            while let Some(start) = spans.get(first).map(|r| r.start) {
                let mut last = first + 1;
                while spans.get(last).is_some_and(|r| r.end - start <= CHUNK) {
                    last += 1;
                }
                let end = spans.get(last - 1).map_or(start, |r| r.end);
                lower.clear();
                lower.push_str(buf.get(start..end).unwrap_or(""));
                lower.make_ascii_lowercase();
                for id in &ids {
                    for (at, _) in lower.match_indices(id.as_str()) {
                        let i = first + spans[first..last].partition_point(|r| r.end <= start + at);
                        if let Some(h) = hit.get_mut(i) {
                            *h = true;
                        }
                    }
                }
                first = last;
            }
            (0..n).filter(|&i| candidate[i] && hit[i]).collect()
        } else {
            (0..n)
                .filter(|&i| candidate[i] && {
                    let lower = texts[i].to_lowercase();
                    ids.iter().any(|id| lower.contains(id.as_str()))
                })
                .collect()
        };
        // An identifier that matches more items than the budget (a region every third item is
        // in) does not single anything out: those items compete on the other signals instead.
        if matches.len() <= max_items {
            for i in matches {
                if keep.len() < hard_cap && keep.insert(i) {
                    kept.query_matches += 1;
                }
            }
        }
    }
    let errors: Vec<usize> = (0..n).filter(|&i| candidate[i] && is_error[i]).collect();
    let room = hard_cap.saturating_sub(keep.len());
    let chosen: Vec<usize> = if errors.len() <= room {
        errors
    } else if room >= 2 {
        // More errors than fit: first, last and evenly spaced between.
        (0..room).map(|j| errors[j * (errors.len() - 1) / (room - 1)]).collect()
    } else {
        errors.into_iter().take(room).collect()
    };
    for i in chosen {
        if keep.insert(i) {
            kept.errors += 1;
        }
    }

    // Position anchors, shifted by words like "latest" or "first" in the query.
    let q = query.to_lowercase();
    let (mut ff, mut lf) = (cfg.first_fraction, cfg.last_fraction);
    if ["latest", "last", "recent", "newest", "end", "tail"].iter().any(|w| q.contains(w)) {
        (ff, lf) = (lf.min(ff), ff.max(lf));
    } else if ["first", "oldest", "earliest", "beginning", "head"].iter().any(|w| q.contains(w)) {
        (ff, lf) = (ff.max(lf), lf.min(ff));
    }
    let n_first = ((k as f64 * ff).ceil() as usize).max(1);
    let n_last = ((k as f64 * lf).ceil() as usize).max(1);
    for i in (0..n).filter(|&i| candidate[i]).take(n_first) {
        keep.insert(i);
    }
    for i in (0..n).rev().filter(|&i| candidate[i]).take(n_last) {
        keep.insert(i);
    }

    // Ranked candidates: numeric outliers and change points, structural outliers, relevance.
    let mut ranked: Vec<(f64, usize, u8)> = Vec::new();
    for series in numeric.series {
        let vals: Vec<f64> = series.iter().map(|&(_, x)| x).collect();
        if vals.len() < 5 {
            continue;
        }
        let (mean, std) = mean_std(&vals);
        if std <= 0.0 || !std.is_finite() {
            continue;
        }
        for &(i, x) in &series {
            let z = (x - mean).abs() / std;
            if z > cfg.variance_threshold {
                ranked.push((10.0 + z, i, 0));
            }
        }
        if cfg.preserve_change_points && n >= 10 {
            // Item i is a change point when the W items before it and the W from it all have
            // a number here (consecutive entries of the series) and their means differ.
            const W: usize = 5;
            for j in W..series.len().saturating_sub(W - 1) {
                let i = series[j].0;
                if series[j - W].0 + W != i || series[j + W - 1].0 != i + W - 1 || i + W >= n {
                    continue;
                }
                let shift = (mean_std(&vals[j..j + W]).0 - mean_std(&vals[j - W..j]).0).abs() / std;
                if shift > cfg.variance_threshold {
                    ranked.push((5.0 + shift, i, 0));
                }
            }
        }
    }
    // Rare fields and rare values of categorical fields.
    structure.rank(n, &mut ranked);
    let terms: Vec<u64> = query_terms(query).iter().flat_map(|t| word_ids(t)).collect();
    let bm = Bm25::with_params(&terms, docs(), cfg.relevance.bm25_k1, cfg.relevance.bm25_b);
    let scores: Vec<f64> = (0..n).map(|d| bm.score(d)).collect();
    let max_score = scores.iter().copied().fold(0.0, f64::max);
    if max_score > 0.0 {
        // The few best matches may go past k (like numeric anomalies), so that errors and
        // anchors cannot crowd out what the query asks about; the rest rank above structural
        // outliers (4.0).
        let mut best: Vec<usize> = (0..n).filter(|&i| scores[i] > 0.0).collect();
        best.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        best.truncate(TOP_RELEVANT);
        for (i, s) in scores.iter().enumerate() {
            if *s > 0.0 && *s >= cfg.relevance.relevance_threshold * max_score {
                let base = if best.contains(&i) && *s >= 0.5 * max_score { 10.0 } else { 4.5 };
                ranked.push((base + s / max_score, i, 1));
            }
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (score, i, kind) in ranked {
        // Numeric anomalies (score >= 10) may go past k up to the hard cap; the rest fill up to k.
        let limit = if score >= 10.0 { hard_cap } else { k };
        if keep.len() >= limit {
            continue;
        }
        if candidate[i] && keep.insert(i) {
            if kind == 0 {
                kept.outliers += 1;
            } else {
                kept.relevant += 1;
            }
        }
    }
    kept.indices = keep.into_iter().collect();
    kept
}
