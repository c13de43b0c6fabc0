//! The LLMLingua-2 inference algorithm over any `MlModel`.
//!
//! 1. The text is split into words: whitespace-separated spans, with force tokens at a span's
//!    start or end (`"moved."` with `"."` forced) split off as words of their own.
//! 2. It is tokenized once and cut into windows of at most the model's window length, each
//!    ending at a sentence or line end where one fits (else at a word end).
//! 3. Each window runs through the classifier; a token's keep probability is softmax class 1,
//!    and a word's is the mean over its tokens.
//! 4. Force tokens, words with digits (`forceReserveDigit`), CCR markers, and text left unscored
//!    past the deadline are always kept. The other words are ranked by probability; the
//!    threshold is the probability at which the kept words' cost in the target LLM's tokens
//!    meets `rate` (or `targetTokens`). It is found by bisection over the rank on the counted
//!    output, so adherence is measured on the real output (whitespace and all), not estimated.
//!    When the word at the threshold is long enough to step over the target by more than 1% of
//!    the original's tokens, the next-ranked words that still fit fill the rest.
//! 5. The output is the original bytes of the kept words in order. Gaps where words were dropped
//!    become one space, or the line breaks they held (one, or two at a paragraph break), so line
//!    structure survives; with `dropConsecutive`, a force token that would repeat the previous
//!    kept force token across a dropped stretch is dropped too.

use super::MlModel;
use crate::clock;
use crate::error::{Error, Result};
pub use crate::config::Granularity;
use crate::tokens::TokenCounter;
use serde::{Deserialize, Serialize};

/// Options of one compression (`compressor.compress(text, options)` in JS).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CompressOptions {
    /// Fraction of the target LLM's tokens to keep (0-1]. 0.5 when neither this nor
    /// `target_tokens` is given.
    pub rate: Option<f64>,
    /// Tokens to keep, instead of `rate`.
    pub target_tokens: Option<u64>,
    /// Strings always kept (`"\n"` needs no entry: line structure is always kept).
    pub force_tokens: Vec<String>,
    /// Keep every word that contains a digit.
    pub force_reserve_digit: bool,
    /// Drop a force token that would repeat the previous kept one across a dropped stretch.
    pub drop_consecutive: bool,
    /// Past this many milliseconds the remaining text passes through unscored (and a warning
    /// says so). `None`: no limit.
    pub deadline_ms: Option<f64>,
    /// What is ranked: single words (LLMLingua-2's token-level step, the default) or whole
    /// segments (lines, and sentences within long lines) by their tokens' mean keep probability,
    /// averaged with their neighbours'.
    pub granularity: Granularity,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            rate: None,
            target_tokens: None,
            force_tokens: Vec::new(),
            force_reserve_digit: true,
            drop_consecutive: true,
            deadline_ms: None,
            granularity: Granularity::Word,
        }
    }
}

pub const DEFAULT_RATE: f64 = 0.5;

/// Most words tried one by one when the threshold's word overshoots the target (each try
/// renders and counts the output once).
const FILL_TRIES: usize = 32;

impl CompressOptions {
    /// Parses the JSON of the options (empty or `null`: defaults).
    pub fn from_json(text: &str) -> Result<CompressOptions> {
        let t = text.trim();
        if t.is_empty() || t == "null" {
            return Ok(CompressOptions::default());
        }
        let o: CompressOptions = serde_json::from_str(t)
            .map_err(|e| Error::config("invalid_options", format!("invalid compress options: {e}")))?;
        o.validate()?;
        Ok(o)
    }

    pub fn validate(&self) -> Result<()> {
        if self.rate.is_some() && self.target_tokens.is_some() {
            return Err(Error::config("invalid_options", "give rate or targetTokens, not both"));
        }
        if let Some(r) = self.rate {
            if !r.is_finite() || r <= 0.0 || r > 1.0 {
                return Err(Error::config("invalid_value", format!("rate must be a number in (0, 1], got {r}")).with("field", "rate"));
            }
        }
        if let Some(d) = self.deadline_ms {
            if !d.is_finite() || d < 0.0 {
                return Err(Error::config("invalid_value", format!("deadlineMs must be a finite number >= 0, got {d}"))
                    .with("field", "deadlineMs"));
            }
        }
        Ok(())
    }
}

/// The result of one compression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compressed {
    pub compressed: String,
    pub original_tokens: u64,
    pub compressed_tokens: u64,
    /// 100 * (original - compressed) / original.
    pub savings_percentage: f64,
    pub warnings: Vec<String>,
}

/// A word of the text: a byte span, whether it must be kept, and whether it is a force token.
#[derive(Debug, Clone)]
struct Unit {
    start: usize,
    end: usize,
    must: bool,
    force: bool,
}

/// Compresses `text` with `model`; tokens are the target LLM's (`counter`).
pub fn compress(model: &MlModel, text: &str, opts: &CompressOptions, counter: TokenCounter) -> Result<Compressed> {
    compress_protected(model, text, opts, counter, &[])
}

/// Like `compress`, with byte ranges of `text` that are always kept verbatim (CCR markers).
/// Ranges must be sorted, disjoint and on char boundaries.
pub fn compress_protected(
    model: &MlModel,
    text: &str,
    opts: &CompressOptions,
    counter: TokenCounter,
    protected: &[(usize, usize)],
) -> Result<Compressed> {
    opts.validate()?;
    let started = clock::now_ms();
    let original_tokens = counter.count(text) as u64;
    let mut warnings = Vec::new();
    let mut units = split_units(text, &opts.force_tokens, opts.force_reserve_digit, protected);
    if units.is_empty() || original_tokens == 0 {
        return Ok(unchanged(text, original_tokens, warnings));
    }

    // Score every token, window by window.
    let toks = model.tokenize(text)?;
    let n = toks.ids.len();
    let windows = make_windows(text, &toks.offsets, model.window_capacity());
    let mut probs: Vec<Option<f32>> = vec![None; n];
    for (wi, &(a, b)) in windows.iter().enumerate() {
        if let Some(d) = opts.deadline_ms {
            if clock::now_ms() - started >= d {
                warnings.push(format!(
                    "llmlingua: deadlineMs ({d} ms) reached after {wi} of {} windows; the rest of the text passes through unchanged",
                    windows.len()
                ));
                break;
            }
        }
        for (i, p) in model.keep_probs(&toks.ids[a..b])?.into_iter().enumerate() {
            probs[a + i] = Some(p);
        }
    }

    // Word probability: the mean over its tokens; unscored words are kept.
    let mut sum = vec![0f32; units.len()];
    let mut count = vec![0u32; units.len()];
    let mut unscored = vec![false; units.len()];
    for (t, &(s, _)) in toks.offsets.iter().enumerate() {
        let u = units.partition_point(|u| u.end <= s);
        if u >= units.len() {
            continue;
        }
        match probs[t] {
            Some(p) => {
                sum[u] += p;
                count[u] += 1;
            }
            None => unscored[u] = true,
        }
    }
    let mut word_prob = vec![1f32; units.len()];
    for (i, u) in units.iter_mut().enumerate() {
        if unscored[i] || count[i] == 0 {
            // Text the model did not see (deadline, or characters the tokenizer drops) stays.
            u.must = true;
        } else {
            word_prob[i] = sum[i] / count[i] as f32;
        }
    }

    // Rank the optional words; keep the top k, with k found by bisection on the counted output.
    let mut order: Vec<usize> = (0..units.len()).filter(|&i| !units[i].must).collect();
    match opts.granularity {
        Granularity::Word => order.sort_by(|&a, &b| word_prob[b].total_cmp(&word_prob[a]).then(a.cmp(&b))),
        Granularity::Segment => {
            // A segment's worth per token it still costs: its tokens' keep probabilities summed,
            // over the tokens of its optional words (its words that must stay are kept anyway,
            // so keeping the rest of their segment costs less). That is the mean probability
            // raised by the share of tokens kept anyway. A segment without optional words
            // (unscored words are must-keep) is never ranked. Then smoothed with its
            // neighbours', so that kept segments come in runs (`smooth_segments`).
            let seg = segment_ids(text, &units);
            let segments = seg.last().map_or(0, |&s| s + 1);
            let (mut seg_sum, mut seg_optional) = (vec![0f32; segments], vec![0u32; segments]);
            for (i, &s) in seg.iter().enumerate() {
                seg_sum[s] += sum[i];
                if !units[i].must {
                    seg_optional[s] += count[i];
                }
            }
            let seg_prob: Vec<f32> =
                seg_sum.iter().zip(&seg_optional).map(|(&t, &o)| if o == 0 { f32::INFINITY } else { t / o as f32 }).collect();
            let seg_prob = smooth_segments(&seg_prob);
            order.sort_by(|&a, &b| {
                let (sa, sb) = (seg[a], seg[b]);
                seg_prob[sb]
                    .total_cmp(&seg_prob[sa])
                    .then(sa.cmp(&sb))
                    .then(word_prob[b].total_cmp(&word_prob[a]))
                    .then(a.cmp(&b))
            });
        }
    }
    let target = match opts.target_tokens {
        Some(t) => t,
        None => (opts.rate.unwrap_or(DEFAULT_RATE) * original_tokens as f64).round() as u64,
    };
    let keep_top = |k: usize| -> Vec<bool> {
        let mut keep: Vec<bool> = units.iter().map(|u| u.must).collect();
        for &i in &order[..k] {
            keep[i] = true;
        }
        keep
    };
    let count = |keep: &[bool]| -> (String, u64) {
        let out = render(text, &units, keep, opts.drop_consecutive);
        let c = counter.count(&out) as u64;
        (out, c)
    };
    let build = |k: usize| count(&keep_top(k));
    let (mut lo, mut hi) = (0usize, order.len());
    // Smallest k whose output reaches the target.
    while lo < hi {
        let mid = (lo + hi) / 2;
        if build(mid).1 >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let (mut out, mut tokens) = build(lo);
    if lo > 0 {
        let (o2, t2) = build(lo - 1);
        if target.abs_diff(t2) <= target.abs_diff(tokens) {
            (out, tokens) = (o2, t2);
        }
        // One long word at the threshold (a URL, a path, a code line) can step over the target
        // by several percent. Then keep the words under the threshold and fill the rest in rank
        // order, skipping any word that would overshoot: the kept set stays the best-ranked
        // words that fit, and the output lands within 1% of the original's tokens where the
        // words allow it.
        let slack = (original_tokens / 100).max(1);
        if target.abs_diff(tokens) > slack {
            let mut keep = keep_top(lo - 1);
            for &i in order[lo - 1..].iter().take(FILL_TRIES) {
                keep[i] = true;
                let (o, t) = count(&keep);
                if t > target + slack {
                    keep[i] = false;
                    continue;
                }
                if target.abs_diff(t) < target.abs_diff(tokens) {
                    (out, tokens) = (o, t);
                }
                if t + slack >= target {
                    break;
                }
            }
        }
    }
    if lo == 0 && tokens > target + target / 50 + 1 {
        warnings.push(format!(
            "llmlingua: the words that must be kept (force tokens, digits, markers, unscored text) already take {tokens} tokens, over the target of {target}"
        ));
    }
    if tokens >= original_tokens {
        return Ok(unchanged(text, original_tokens, warnings));
    }
    Ok(Compressed {
        compressed: out,
        original_tokens,
        compressed_tokens: tokens,
        savings_percentage: 100.0 * (original_tokens - tokens) as f64 / original_tokens as f64,
        warnings,
    })
}

/// Segments on each side whose scores count towards a segment's rank.
const SEGMENT_NEIGHBOURS: usize = 2;

/// Each segment's score averaged with its neighbours' (weights 1/2 at distance 1, 1/4 at 2), so
/// that a segment between good ones ranks above an equally scored one between poor ones: kept
/// segments come in longer runs with fewer gaps, and each gap costs the reader the place it was
/// in (on the quality benchmark, NLL 1.166 -> 1.108 nats/token at TextCompressor's size, rate
/// 0.5, no digit reservation; benches/results/ml_quality.md). Infinite scores (segments with
/// nothing optional, kept anyway) stay infinite and count as 1 for their neighbours.
fn smooth_segments(score: &[f32]) -> Vec<f32> {
    (0..score.len())
        .map(|i| {
            if score[i].is_infinite() {
                return f32::INFINITY;
            }
            let from = i.saturating_sub(SEGMENT_NEIGHBOURS);
            let to = (i + SEGMENT_NEIGHBOURS + 1).min(score.len());
            let (mut num, mut den) = (0f32, 0f32);
            for (j, &s) in score[from..to].iter().enumerate() {
                let w = 0.5f32.powi(i.abs_diff(from + j) as i32);
                num += w * s.min(1.0);
                den += w;
            }
            num / den
        })
        .collect()
}

fn unchanged(text: &str, tokens: u64, warnings: Vec<String>) -> Compressed {
    Compressed { compressed: text.to_string(), original_tokens: tokens, compressed_tokens: tokens, savings_percentage: 0.0, warnings }
}

/// Words of `text` (see the module docs). Protected ranges are single kept units.
fn split_units(text: &str, force: &[String], reserve_digit: bool, protected: &[(usize, usize)]) -> Vec<Unit> {
    // Whitespace-only force tokens add nothing: line structure is always kept.
    let mut force: Vec<&str> = force.iter().map(String::as_str).filter(|f| !f.trim().is_empty()).collect();
    force.sort_by_key(|f| std::cmp::Reverse(f.len()));
    let mut units = Vec::new();
    let mut pos = 0;
    for &(ps, pe) in protected.iter().chain(std::iter::once(&(text.len(), text.len()))) {
        if ps < pos || pe > text.len() {
            continue;
        }
        split_plain(text, pos, ps, &force, reserve_digit, &mut units);
        if pe > ps {
            units.push(Unit { start: ps, end: pe, must: true, force: false });
        }
        pos = pe;
    }
    units
}

fn split_plain(text: &str, from: usize, to: usize, force: &[&str], reserve_digit: bool, units: &mut Vec<Unit>) {
    let seg = &text[from..to];
    let mut i = 0;
    for part in seg.split(|c: char| c.is_whitespace()) {
        let (s0, e0) = (from + i, from + i + part.len());
        // Advance past this part and the one whitespace char that ended it.
        i += part.len();
        if let Some(c) = seg[i..].chars().next() {
            i += c.len_utf8();
        }
        if part.is_empty() {
            continue;
        }
        let (mut s, mut e) = (s0, e0);
        let mut tail = Vec::new();
        loop {
            let w = &text[s..e];
            // Split only where a word may end: never inside a run of letters and digits
            // ("grep" is not split out of "fgrep").
            let cuts = |a: &str, b: &str| !(ends_alnum(a) && starts_alnum(b));
            if let Some(f) = force.iter().find(|f| w.len() > f.len() && w.starts_with(**f) && cuts(f, &w[f.len()..])) {
                units.push(Unit { start: s, end: s + f.len(), must: true, force: true });
                s += f.len();
            } else if let Some(f) =
                force.iter().find(|f| w.len() > f.len() && w.ends_with(**f) && cuts(&w[..w.len() - f.len()], f))
            {
                tail.push(Unit { start: e - f.len(), end: e, must: true, force: true });
                e -= f.len();
            } else {
                break;
            }
        }
        let w = &text[s..e];
        // A force token with punctuation around it ("grep," or "(grep)") is still forced.
        let is_force = force.contains(&w) || force.contains(&w.trim_matches(|c: char| c.is_ascii_punctuation()));
        let must = is_force || (reserve_digit && w.bytes().any(|b| b.is_ascii_digit()));
        units.push(Unit { start: s, end: e, must, force: is_force });
        units.extend(tail.into_iter().rev());
    }
}

/// Each unit's segment, numbered in text order: a segment ends at a line break, and at a
/// sentence end (a word ending in `.`, `!` or `?` followed by a space) within a line.
fn segment_ids(text: &str, units: &[Unit]) -> Vec<usize> {
    let mut ids = Vec::with_capacity(units.len());
    let mut id = 0;
    let mut prev_end = None;
    for u in units {
        if let Some(pe) = prev_end {
            let gap = text.get(pe..u.start).unwrap_or("");
            let sentence_end = text.get(..pe).is_some_and(|t| t.ends_with(['.', '!', '?'])) && !gap.is_empty();
            if gap.contains('\n') || sentence_end {
                id += 1;
            }
        }
        ids.push(id);
        prev_end = Some(u.end);
    }
    ids
}

fn ends_alnum(s: &str) -> bool {
    s.chars().next_back().is_some_and(char::is_alphanumeric)
}

fn starts_alnum(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_alphanumeric)
}

/// Token windows `[a, b)` of at most `cap` tokens, each ending at a sentence or line end when
/// one falls inside it, else at a word end, else wherever the capacity runs out.
fn make_windows(text: &str, offsets: &[(usize, usize)], cap: usize) -> Vec<(usize, usize)> {
    let n = offsets.len();
    let mut sentence_end = vec![false; n];
    let mut word_end = vec![false; n];
    for i in 0..n {
        let end = offsets[i].1.min(text.len());
        let next = if i + 1 < n { offsets[i + 1].0.max(end) } else { text.len() };
        let gap = text.get(end..next).unwrap_or("");
        let last = text.get(..end).and_then(|t| t.chars().next_back());
        word_end[i] = i + 1 == n || gap.starts_with(char::is_whitespace);
        sentence_end[i] = i + 1 == n
            || gap.contains('\n')
            || (matches!(last, Some('.' | '!' | '?' | ';' | '。')) && gap.starts_with(char::is_whitespace));
    }
    let mut windows = Vec::new();
    let mut a = 0;
    while a < n {
        let limit = (a + cap).min(n);
        let b = if limit == n {
            n
        } else {
            (a + 1..=limit)
                .rev()
                .find(|&b| sentence_end[b - 1])
                .or_else(|| (a + 1..=limit).rev().find(|&b| word_end[b - 1]))
                .unwrap_or(limit)
        };
        windows.push((a, b));
        a = b;
    }
    windows
}

/// The kept units' original bytes, joined as the module docs describe.
fn render(text: &str, units: &[Unit], keep: &[bool], drop_consecutive: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<usize> = None;
    let mut dropped = false;
    for (i, u) in units.iter().enumerate() {
        if !keep[i] {
            dropped = true;
            continue;
        }
        if drop_consecutive && dropped && u.force {
            if let Some(p) = prev {
                if units[p].force && text[units[p].start..units[p].end] == text[u.start..u.end] {
                    continue;
                }
            }
        }
        let gap = &text[prev.map_or(0, |p| units[p].end)..u.start];
        if !dropped {
            out.push_str(gap);
        } else if prev.is_some() {
            out.push_str(&joiner(gap));
        } else {
            out.push_str(indent_before(gap));
        }
        out.push_str(&text[u.start..u.end]);
        prev = Some(i);
        dropped = false;
    }
    let tail = &text[prev.map_or(0, |p| units[p].end)..];
    if !dropped {
        out.push_str(tail);
    } else if tail.contains('\n') && text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// What replaces a stretch of dropped words: its line breaks (two for a blank line, else one)
/// plus the next line's indentation, or one space, or nothing between words that touched.
fn joiner(gap: &str) -> String {
    let newlines = gap.matches('\n').count();
    if newlines == 0 {
        return if gap.contains(char::is_whitespace) { " ".into() } else { String::new() };
    }
    let blank_line = gap.split('\n').skip(1).take(newlines.saturating_sub(1)).any(|l| l.trim().is_empty());
    let mut s = String::from(if blank_line { "\n\n" } else { "\n" });
    s.push_str(indent_before(gap));
    s
}

/// The indentation of the line the next kept word is on (kept even when the words before it on
/// that line were dropped), when the gap crosses a line break; else nothing.
fn indent_before(gap: &str) -> &str {
    if !gap.contains('\n') {
        return "";
    }
    let last = gap.rsplit('\n').next().unwrap_or("");
    &last[..last.len() - last.trim_start().len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units_text(text: &str, force: &[&str]) -> Vec<(String, bool)> {
        let force: Vec<String> = force.iter().map(|s| s.to_string()).collect();
        split_units(text, &force, true, &[]).into_iter().map(|u| (text[u.start..u.end].to_string(), u.must)).collect()
    }

    #[test]
    fn splits_force_tokens_at_word_edges() {
        let u = units_text("config was moved. see 3.14 (x) fgrep grep,", &[".", "(", ")", "grep"]);
        let words: Vec<&str> = u.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(words, ["config", "was", "moved", ".", "see", "3.14", "(", "x", ")", "fgrep", "grep", ","]);
        assert!(u[3].1 && u[5].1 && !u[0].1 && !u[9].1 && u[10].1 && !u[11].1);
        let u = units_text("(grep)", &["grep"]);
        assert_eq!(u, [("(grep)".to_string(), true)]);
    }

    #[test]
    fn render_keeps_lines() {
        let text = "alpha beta gamma\n  delta eps\n\nzeta eta\n";
        let units = split_units(text, &[], false, &[]);
        let keep_words = ["alpha", "gamma", "delta", "eta"];
        let keep: Vec<bool> = units.iter().map(|u| keep_words.contains(&&text[u.start..u.end])).collect();
        assert_eq!(render(text, &units, &keep, true), "alpha gamma\n  delta\n\neta\n");
        let keep_words = ["alpha", "eps"];
        let keep: Vec<bool> = units.iter().map(|u| keep_words.contains(&&text[u.start..u.end])).collect();
        assert_eq!(render(text, &units, &keep, true), "alpha\n  eps\n");
        let all = vec![true; units.len()];
        assert_eq!(render(text, &units, &all, true), text);
    }

    #[test]
    fn drops_consecutive_force_tokens() {
        let text = "a. b. c.";
        let force = vec![".".to_string()];
        let units = split_units(text, &force, false, &[]);
        let keep: Vec<bool> = units.iter().map(|u| u.force || &text[u.start..u.end] == "a").collect();
        assert_eq!(render(text, &units, &keep, true), "a.");
        assert_eq!(render(text, &units, &keep, false), "a. . .");
    }

    #[test]
    fn smoothing_ranks_segments_in_runs_first() {
        // Segments 1 and 4 score the same; 1 sits between good segments, 4 between poor ones.
        let s = smooth_segments(&[0.9, 0.5, 0.9, 0.1, 0.5, 0.1, f32::INFINITY]);
        assert!(s[1] > s[4], "{s:?}");
        assert!(s[6].is_infinite());
        // The kept-anyway segment counts as 1 for its neighbour, not as infinity.
        assert!(s[5].is_finite() && s[5] < 1.0, "{s:?}");
        // Equal scores stay equal.
        assert!(smooth_segments(&[0.3; 5]).iter().all(|&v| (v - 0.3).abs() < 1e-6));
        assert!(smooth_segments(&[]).is_empty());
    }

    #[test]
    fn windows_end_at_sentences() {
        let text = "one two. three four. five";
        let offsets = vec![(0, 3), (4, 7), (7, 8), (9, 14), (15, 19), (19, 20), (21, 25)];
        assert_eq!(make_windows(text, &offsets, 5), vec![(0, 3), (3, 7)]);
        // No sentence end fits: cut at a word end ("two" and "." touch, so not between them).
        assert_eq!(make_windows(text, &offsets, 2), vec![(0, 1), (1, 3), (3, 4), (4, 6), (6, 7)]);
    }
}
