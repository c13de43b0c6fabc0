//! Extractive, query-aware compression of prose and other plain text (man pages, changelogs,
//! READMEs). The text is cut into small blocks (paragraphs of at most a few lines; a very long
//! line is cut into sentences), each block is scored by BM25 against the query, anchors
//! (numbers, identifiers, error words), headings and position, and the best blocks are kept in
//! their original order until the target share of the input is reached. Each run of removed
//! text becomes one `[…]`.

use super::text_common::{has_error_word, query_terms, Bm25, TextCompression};
use serde::{Deserialize, Serialize};

/// Settings for prose.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TextConfig {
    /// Share of the input's bytes to keep (0–1). The best block is kept even past it.
    pub target_ratio: f64,
    /// Inputs shorter than this (bytes) pass through untouched.
    pub min_chars: usize,
    /// Most lines in one block: a longer paragraph is cut into blocks of this size.
    pub block_lines: usize,
    /// Lines longer than this (bytes) are cut into sentences.
    pub long_line: usize,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig { target_ratio: 0.45, min_chars: 1500, block_lines: 8, long_line: 400 }
    }
}

/// The marker for a run of removed text.
const GAP: &str = "[…]";

/// A piece of the input: a whole line (with its terminator) or one sentence of a long line.
struct Unit {
    start: usize,
    end: usize,
    /// Starts a line.
    line_start: bool,
    blank: bool,
}

fn units(content: &str, long_line: usize) -> (Vec<Unit>, bool) {
    let mut out = Vec::new();
    let mut split_any = false;
    let mut pos = 0;
    for line in content.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        if line.len() <= long_line || blank {
            out.push(Unit { start: pos, end: pos + line.len(), line_start: true, blank });
        } else {
            split_any = true;
            let mut s = 0;
            let b = line.as_bytes();
            let mut i = 0;
            while i + 1 < b.len() {
                let at_end = matches!(b.get(i), Some(b'.' | b'?' | b'!')) && b.get(i + 1) == Some(&b' ');
                if at_end && i + 1 - s >= 40 {
                    // Sentence ends after the spaces that follow it.
                    let mut e = i + 1;
                    while b.get(e) == Some(&b' ') {
                        e += 1;
                    }
                    out.push(Unit { start: pos + s, end: pos + e, line_start: s == 0, blank: false });
                    s = e;
                    i = e;
                    continue;
                }
                i += 1;
            }
            if s < line.len() {
                out.push(Unit { start: pos + s, end: pos + line.len(), line_start: s == 0, blank: false });
            }
        }
        pos += line.len();
    }
    (out, split_any)
}

/// Whether a line reads as a heading: markdown `#`, an underline, or a short line in capitals.
fn is_heading(line: &str, next: Option<&str>) -> bool {
    let t = line.trim();
    if t.starts_with('#') {
        return true;
    }
    if next.is_some_and(|n| {
        let n = n.trim();
        n.len() >= 3 && (n.bytes().all(|b| b == b'=') || n.bytes().all(|b| b == b'-'))
    }) {
        return true;
    }
    t.len() <= 60 && t.chars().any(char::is_alphabetic) && !t.chars().any(char::is_lowercase)
}

/// Count of anchor tokens: numbers, identifiers (snake_case, camelCase, paths, `::`).
fn anchors(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric());
            w.len() >= 2
                && (w.bytes().any(|b| b.is_ascii_digit())
                    || w.contains('_')
                    || w.contains("::")
                    || (w.chars().skip(1).any(char::is_uppercase) && w.chars().any(char::is_lowercase)))
        })
        .count()
}

/// Compresses prose against `query`; see the module docs.
pub fn compress(content: &str, query: &str, config: &TextConfig) -> TextCompression {
    let (units, split_any) = units(content, config.long_line.max(80));
    let unit_name = if split_any { "sentences" } else { "lines" };
    let count = units.iter().filter(|u| !u.blank).count();
    let already = content.lines().any(|l| l.trim() == GAP) || content.contains(" […] ");
    if content.len() < config.min_chars || count < 4 || already {
        return TextCompression::unchanged(content, count, unit_name);
    }
    let text = |u: &Unit| content.get(u.start..u.end).unwrap_or("");

    // Blocks: runs of non-blank units, at most `block_lines` each.
    let mut blocks: Vec<(usize, usize)> = Vec::new(); // unit index range [a, b)
    let mut i = 0;
    while i < units.len() {
        if units.get(i).is_some_and(|u| u.blank) {
            i += 1;
            continue;
        }
        let a = i;
        while i < units.len() && i - a < config.block_lines.max(1) && units.get(i).is_some_and(|u| !u.blank) {
            i += 1;
        }
        blocks.push((a, i));
    }
    if blocks.len() < 2 {
        return TextCompression::unchanged(content, count, unit_name);
    }

    // Scores.
    let q = query_terms(query);
    let docs = blocks.iter().map(|&(a, b)| units.get(a..b).unwrap_or(&[]).iter().map(text));
    let bm = Bm25::over_texts(&q, docs);
    let nb = blocks.len();
    let scores: Vec<f64> = blocks
        .iter()
        .enumerate()
        .map(|(bi, &(a, b))| {
            let body: String = units.get(a..b).unwrap_or(&[]).iter().map(text).collect();
            let first_line = units.get(a).map(text).unwrap_or("");
            let next_line = units.get(a + 1).map(text);
            let len_norm = (bm.doc_len(bi).max(1) as f64).sqrt();
            let mut s = 3.0 * bm.score(bi);
            s += (anchors(&body) as f64 / len_norm).min(1.0) * 0.6;
            if has_error_word(&body) {
                s += 0.5;
            }
            if is_heading(first_line, next_line) {
                s += 0.4;
            }
            if bi == 0 {
                s += 1.5;
            } else if bi == 1 {
                s += 0.5;
            }
            if bi + 1 == nb {
                s += 0.5;
            }
            s
        })
        .collect();

    // Keep the best blocks within the byte budget.
    let total: usize = blocks.iter().map(|&(a, b)| units.get(a..b).unwrap_or(&[]).iter().map(|u| u.end - u.start).sum::<usize>()).sum();
    let budget = (total as f64 * config.target_ratio.clamp(0.0, 1.0)) as usize;
    let mut order: Vec<usize> = (0..nb).collect();
    order.sort_by(|&x, &y| {
        let (sx, sy) = (scores.get(x).copied().unwrap_or(0.0), scores.get(y).copied().unwrap_or(0.0));
        sy.total_cmp(&sx).then(x.cmp(&y))
    });
    let mut keep_block = vec![false; nb];
    let mut used = 0usize;
    for (rank, &bi) in order.iter().enumerate() {
        let Some(&(a, b)) = blocks.get(bi) else { continue };
        let size: usize = units.get(a..b).unwrap_or(&[]).iter().map(|u| u.end - u.start).sum();
        if rank == 0 || used + size <= budget {
            used += size;
            if let Some(k) = keep_block.get_mut(bi) {
                *k = true;
            }
        }
    }
    let mut keep = vec![false; units.len()];
    for (bi, &(a, b)) in blocks.iter().enumerate() {
        if keep_block.get(bi).copied().unwrap_or(false) {
            for k in keep.get_mut(a..b).unwrap_or(&mut []) {
                *k = true;
            }
        }
    }
    // Blank lines between two kept units stay (paragraph breaks). One backward pass finds, for
    // each unit, whether the next non-blank unit is kept.
    let mut next_kept = vec![false; units.len()];
    let mut after = false;
    for j in (0..units.len()).rev() {
        if let Some(x) = next_kept.get_mut(j) {
            *x = after;
        }
        if !units.get(j).is_some_and(|u| u.blank) {
            after = keep.get(j).copied().unwrap_or(false);
        }
    }
    let mut prev_kept = false;
    for j in 0..units.len() {
        if units.get(j).is_some_and(|u| u.blank) {
            if prev_kept && next_kept.get(j).copied().unwrap_or(false) {
                if let Some(k) = keep.get_mut(j) {
                    *k = true;
                }
            }
        } else {
            prev_kept = keep.get(j).copied().unwrap_or(false);
        }
    }

    // Render.
    let mut out = String::with_capacity(used + 64);
    let mut in_gap = false;
    let mut kept_count = 0usize;
    for (j, u) in units.iter().enumerate() {
        if !keep.get(j).copied().unwrap_or(false) {
            in_gap = true;
            continue;
        }
        if in_gap {
            push_gap(&mut out, u.line_start);
            in_gap = false;
        }
        out.push_str(text(u));
        kept_count += usize::from(!u.blank);
    }
    if in_gap {
        push_gap(&mut out, content.ends_with('\n'));
        if !content.ends_with('\n') && out.ends_with('\n') {
            out.pop();
        }
    }
    if kept_count == count {
        return TextCompression::unchanged(content, count, unit_name);
    }
    TextCompression { compressed: out, original_count: count, compressed_count: kept_count, unit: unit_name, lossless: false }
        .or_unchanged(content)
}

/// Writes the gap marker: on a line of its own between lines, inline between sentences.
fn push_gap(out: &mut String, next_starts_line: bool) {
    let at_line_start = out.is_empty() || out.ends_with('\n');
    if !at_line_start && !out.ends_with(' ') {
        out.push(' ');
    }
    out.push_str(GAP);
    out.push(if next_starts_line { '\n' } else { ' ' });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_answer_in_order() {
        let mut doc = String::new();
        for i in 0..40 {
            doc.push_str(&format!("Paragraph {i} talks about gardening and the weather in spring.\n\n"));
        }
        doc.push_str("The flux capacitor needs 1.21 gigawatts to start.\n\n");
        for i in 40..60 {
            doc.push_str(&format!("Paragraph {i} talks about cooking pasta at home.\n\n"));
        }
        let r = compress(&doc, "how many gigawatts does the flux capacitor need?", &TextConfig::default());
        assert!(r.compressed.contains("The flux capacitor needs 1.21 gigawatts"));
        assert!(r.compressed.starts_with("Paragraph 0"));
        assert!(r.compressed.contains("[…]\n"));
        assert!(r.compressed.len() < doc.len() / 2 + 100);
        let again = compress(&r.compressed, "how many gigawatts", &TextConfig::default());
        assert_eq!(again.compressed, r.compressed);
    }
}
