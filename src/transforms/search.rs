//! Search-result compression (grep -rn, ripgrep, with or without `-C` context, flat or
//! `--heading`). The output uses ripgrep's heading layout: each path printed once, then its
//! `line:text` (matches) and `line-text` (context) rows. That alone is a large lossless win, since
//! paths repeat on every row. Past a budget, each file keeps its first and last match plus the
//! matches that score best against the query (BM25 over words and identifier parts) or carry
//! error words, and says how many it left out.

use super::text_common::{has_error_word, lines_with_ends, query_terms, strip_end, Bm25, Out, TextCompression};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Caps for search results. Defaults keep about twice what the peer keeps (5 per file, 30 in
/// all, 15 files): grouping already pays for most of the savings, and a missing match is the
/// complaint users raise most.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Up to this many matches, nothing is dropped: only the lossless grouping applies.
    pub keep_all_below: usize,
    /// Matches kept in all (the per-file cap is this divided among the files, within bounds).
    pub max_matches: usize,
    /// Upper bound of the per-file cap.
    pub max_per_file: usize,
    /// Lower bound of the per-file cap (first and last match).
    pub min_per_file: usize,
    /// Files kept; the rest are listed in a final note with their match counts.
    pub max_files: usize,
    /// Context rows (from `-C`/`-A`/`-B`) kept on each side of a kept match.
    pub context_lines: usize,
    /// Cap multiplier for files the query names (by path or file name).
    pub named_file_factor: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            keep_all_below: 40,
            max_matches: 60,
            max_per_file: 10,
            min_per_file: 2,
            max_files: 25,
            context_lines: 2,
            named_file_factor: 3,
        }
    }
}

/// One parsed row of search output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    pub path: &'a str,
    /// The line number, as written.
    pub num: &'a str,
    /// Match (`path:n:text`) or context (`path-n-text`).
    pub is_match: bool,
    /// The row's text, without terminator.
    pub text: &'a str,
}

/// Whether `p` looks like a file path rather than a timestamp or prose: it has a directory
/// separator or an extension dot, or is a bare name such as `Makefile`.
fn plausible_path(p: &str) -> bool {
    if p.is_empty() || p.len() > 4096 || p.starts_with(char::is_whitespace) || p.contains('\t') {
        return false;
    }
    let spaces = p.matches(' ').count();
    let has_sep = p.contains('/') || p.contains('\\');
    if spaces > 0 && !(has_sep && spaces <= 3) {
        return false;
    }
    if has_sep || p.contains('.') {
        // `12.5` or `1.0` are numbers, not files.
        return p.chars().any(|c| c.is_alphabetic() || c == '/' || c == '\\' || c == '_');
    }
    p.starts_with(|c: char| c.is_ascii_alphabetic()) && p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// Index after a leading Windows drive (`C:\` or `C:/`), so its colon is not taken as a
/// separator.
fn drive_skip(line: &str) -> usize {
    let b = line.as_bytes();
    if b.len() > 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/') {
        2
    } else {
        0
    }
}

/// `digits` followed by `sep` at the start of `s`: returns (digits, rest after sep).
fn num_then(s: &str, sep: u8) -> Option<(&str, &str)> {
    let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 || s.as_bytes().get(digits) != Some(&sep) {
        return None;
    }
    Some((s.get(..digits)?, s.get(digits + 1..)?))
}

/// Parses a `path:n:text` match row.
pub fn parse_match(line: &str) -> Option<Row<'_>> {
    let start = drive_skip(line);
    let mut from = start;
    while let Some(off) = line.get(from..)?.find(':') {
        let i = from + off;
        if let Some((num, text)) = num_then(line.get(i + 1..)?, b':') {
            let path = line.get(..i)?;
            return plausible_path(path).then_some(Row { path, num, is_match: true, text });
        }
        from = i + 1;
        // A path never holds a colon past its drive, except rarely; give up after a few.
        if from - start > 512 {
            return None;
        }
    }
    None
}

/// Parses a `path-n-text` context row whose path is one of `known` (paths seen on match rows):
/// dashes are common in paths, so only a known path disambiguates.
pub fn parse_context<'a>(line: &'a str, known: &HashSet<&str>) -> Option<Row<'a>> {
    let mut from = 0;
    while let Some(off) = line.get(from..)?.find('-') {
        let i = from + off;
        if let Some(path) = line.get(..i) {
            if known.contains(path) {
                if let Some((num, text)) = num_then(line.get(i + 1..)?, b'-') {
                    return Some(Row { path, num, is_match: false, text });
                }
            }
        }
        from = i + 1;
        if from > 4096 {
            return None;
        }
    }
    None
}

/// One piece of parsed search output.
#[derive(Debug)]
enum Piece<'a> {
    /// Rows of one file, in order (a path that reappears later starts a new group): their
    /// indices in `Parsed::rows`. Rows live in one vector and per-row data (scores, keep flags)
    /// in flat vectors beside it: three vectors per file cost ~190 bytes a line where every line
    /// names another file (tests/memory.rs's 10 MB grep output peaked at 3.55x its size, 2.6x without them).
    File { path: &'a str, rows: std::ops::Range<usize> },
    /// A line that is not a row (e.g. `Binary file x matches`), kept verbatim.
    Other(&'a str),
}

struct Parsed<'a> {
    pieces: Vec<Piece<'a>>,
    /// Every row, in order.
    rows: Vec<Row<'a>>,
    /// The input had context rows or `--` separators.
    context_mode: bool,
    /// The input used ripgrep's heading layout.
    heading: bool,
    other_lines: usize,
    matches: usize,
}

impl<'a> Parsed<'a> {
    fn push_row(&mut self, row: Row<'a>) {
        let i = self.rows.len();
        self.rows.push(row);
        if let Some(Piece::File { path, rows }) = self.pieces.last_mut() {
            if *path == row.path && rows.end == i {
                rows.end = i + 1;
                return;
            }
        }
        self.pieces.push(Piece::File { path: row.path, rows: i..i + 1 });
    }

    /// The indices of piece `i`'s rows in `rows` and the flat per-row vectors (none for other
    /// lines).
    fn span(&self, i: usize) -> std::ops::Range<usize> {
        match self.pieces.get(i) {
            Some(Piece::File { rows, .. }) => rows.clone(),
            _ => 0..0,
        }
    }

    /// The rows of piece `i`.
    fn rows_of(&self, i: usize) -> &[Row<'a>] {
        self.rows.get(self.span(i)).unwrap_or(&[])
    }
}

fn parse(content: &str) -> Parsed<'_> {
    let lines = lines_with_ends(content);
    let mut known: HashSet<&str> = HashSet::new();
    for l in &lines {
        if let Some(r) = parse_match(strip_end(l)) {
            known.insert(r.path);
        }
    }
    // At most a row and a piece a line: sized once (growth by doubling holds the old and the new
    // buffer at once, ~1.5x the final size at the peak).
    let mut p = Parsed {
        pieces: Vec::with_capacity(lines.len()),
        rows: Vec::with_capacity(lines.len()),
        context_mode: false,
        heading: false,
        other_lines: 0,
        matches: 0,
    };
    let mut heading: Option<&str> = None;
    for (i, l) in lines.iter().enumerate() {
        let s = strip_end(l);
        if s == "--" {
            p.context_mode = true;
            continue;
        }
        if let Some(h) = heading {
            if let Some((num, text)) = num_then(s, b':') {
                p.matches += 1;
                p.push_row(Row { path: h, num, is_match: true, text });
                continue;
            }
            if let Some((num, text)) = num_then(s, b'-') {
                p.context_mode = true;
                p.push_row(Row { path: h, num, is_match: false, text });
                continue;
            }
            heading = None;
            if s.is_empty() {
                continue;
            }
        }
        if let Some(r) = parse_match(s) {
            p.matches += 1;
            p.push_row(r);
        } else if let Some(r) = parse_context(s, &known) {
            p.context_mode = true;
            p.push_row(r);
        } else if plausible_path(s)
            && lines.get(i + 1).is_some_and(|n| num_then(strip_end(n), b':').is_some() || num_then(strip_end(n), b'-').is_some())
        {
            heading = Some(s);
            p.heading = true;
        } else if s.trim().is_empty() {
            // Blank lines carry nothing; the output's layout has its own.
            p.other_lines += usize::from(!p.heading);
        } else {
            p.other_lines += 1;
            p.pieces.push(Piece::Other(l));
        }
    }
    p
}

/// Counts rows that parse as search output among the first `limit` non-empty lines of `lines`:
/// (match rows, rows of any kind incl. context/`--`/headings, non-empty lines looked at).
pub fn sample_stats(lines: &[&str]) -> (usize, usize, usize) {
    let mut known: HashSet<&str> = HashSet::new();
    let (mut m, mut any, mut seen) = (0, 0, 0);
    let mut in_heading = false;
    for (i, l) in lines.iter().enumerate() {
        let s = strip_end(l);
        if s.trim().is_empty() {
            in_heading = false;
            continue;
        }
        seen += 1;
        if let Some(r) = parse_match(s) {
            known.insert(r.path);
            m += 1;
            any += 1;
        } else if s == "--" || parse_context(s, &known).is_some() {
            any += 1;
        } else if in_heading && (num_then(s, b':').is_some() || num_then(s, b'-').is_some()) {
            m += usize::from(num_then(s, b':').is_some());
            any += 1;
        } else if plausible_path(s) && lines.get(i + 1).is_some_and(|n| num_then(strip_end(n), b':').is_some()) {
            in_heading = true;
            any += 1;
        }
    }
    (m, any, seen)
}

/// Whether the query names `path` (the full path or its file name).
fn named_in(query_lower: &str, path: &str) -> bool {
    let p = path.to_lowercase();
    let name = p.rsplit(['/', '\\']).next().unwrap_or(&p);
    query_lower.contains(&p) || (name.len() >= 3 && query_lower.contains(name))
}

/// Compresses search results; see the module docs. Input that is not search output (more than
/// a tenth of its lines unparsed) comes back unchanged.
pub fn compress(content: &str, query: &str, config: &SearchConfig) -> TextCompression {
    let parsed = parse(content);
    let total = parsed.matches;
    let nonblank = content.lines().filter(|l| !l.trim().is_empty()).count();
    if total == 0 || parsed.other_lines * 10 > nonblank || content.lines().any(super::text_common::is_our_note) {
        return TextCompression::unchanged(content, total, "matches");
    }
    let eol = if content.contains("\r\n") { "\r\n" } else { "\n" };
    let files: Vec<usize> =
        parsed.pieces.iter().enumerate().filter(|(_, p)| matches!(p, Piece::File { .. })).map(|(i, _)| i).collect();

    // Scores for every match row.
    let q = query_terms(query);
    let query_lower = query.to_lowercase();
    let bm = Bm25::over_texts(&q, parsed.rows.iter().filter(|r| r.is_match).map(|r| [r.text]));

    // Per row: kept or not.
    let mut keep: Vec<bool> = vec![total <= config.keep_all_below; parsed.rows.len()];
    let mut file_kept = vec![true; parsed.pieces.len()];

    if total > config.keep_all_below {
        // Per-row scores (matches only), and each file's best.
        let mut di = 0;
        let mut scores: Vec<f64> = Vec::with_capacity(parsed.rows.len());
        for r in &parsed.rows {
            if r.is_match {
                let score = bm.score(di);
                di += 1;
                scores.push(score + if has_error_word(r.text) { 1.5 } else { 0.0 });
            } else {
                scores.push(f64::NEG_INFINITY);
            }
        }
        let best: Vec<f64> =
            (0..parsed.pieces.len()).map(|pi| scores.get(parsed.span(pi)).unwrap_or(&[]).iter().cloned().fold(0.0, f64::max)).collect();
        // Files past the cap: keep those the query names, then the best scoring, then the
        // biggest; ties go to the earlier file.
        if files.len() > config.max_files {
            let key = |i: &usize| {
                let (named, count) = match parsed.pieces.get(*i) {
                    Some(Piece::File { path, .. }) => (named_in(&query_lower, path), parsed.rows_of(*i).iter().filter(|r| r.is_match).count()),
                    _ => (false, 0),
                };
                (named, best.get(*i).copied().unwrap_or(0.0), count)
            };
            // Keys computed once per file, not once per comparison.
            let keys: Vec<(bool, f64, usize)> = files.iter().map(key).collect();
            let mut order: Vec<usize> = (0..files.len()).collect();
            order.sort_by(|&x, &y| {
                let (ka, kb) = (&keys[x], &keys[y]);
                kb.0.cmp(&ka.0).then(kb.1.total_cmp(&ka.1)).then(kb.2.cmp(&ka.2)).then(files[x].cmp(&files[y]))
            });
            let ranked: Vec<usize> = order.into_iter().map(|x| files[x]).collect();
            for &i in ranked.iter().skip(config.max_files) {
                if let Some(k) = file_kept.get_mut(i) {
                    *k = false;
                }
            }
        }
        let kept_files = files.len().min(config.max_files).max(1);
        let per_file = (config.max_matches / kept_files).clamp(config.min_per_file.max(1), config.max_per_file.max(1));
        for &fi in &files {
            let (Some(Piece::File { path, .. }), Some(s), Some(k)) = (parsed.pieces.get(fi), scores.get(parsed.span(fi)), keep.get_mut(parsed.span(fi))) else {
                continue;
            };
            let rows = parsed.rows_of(fi);
            if !file_kept.get(fi).copied().unwrap_or(false) {
                continue;
            }
            // A file the query names keeps its matches up to the full per-file cap times the
            // factor, however many other files share the budget: it is what was asked about.
            let cap = if named_in(&query_lower, path) { per_file.max(config.max_per_file) * config.named_file_factor.max(1) } else { per_file };
            let match_idx: Vec<usize> = (0..rows.len()).filter(|&i| rows.get(i).is_some_and(|r| r.is_match)).collect();
            let mut chosen: Vec<usize> = Vec::new();
            if let (Some(&first), Some(&last)) = (match_idx.first(), match_idx.last()) {
                chosen.push(first);
                if last != first && cap >= 2 {
                    chosen.push(last);
                }
            }
            let mut by_score: Vec<usize> = match_idx.iter().copied().filter(|i| !chosen.contains(i)).collect();
            by_score.sort_by(|a, b| {
                let (sa, sb) = (s.get(*a).copied().unwrap_or(0.0), s.get(*b).copied().unwrap_or(0.0));
                sb.total_cmp(&sa).then(a.cmp(b))
            });
            for i in by_score {
                if chosen.len() >= cap {
                    break;
                }
                chosen.push(i);
            }
            for &i in &chosen {
                if let Some(x) = k.get_mut(i) {
                    *x = true;
                }
            }
            // Context rows near a kept match, by line number.
            if parsed.context_mode && config.context_lines > 0 {
                let nums: Vec<u64> = rows.iter().map(|r| r.num.parse().unwrap_or(0)).collect();
                for &c in &chosen {
                    let center = nums.get(c).copied().unwrap_or(0);
                    let lo = center.saturating_sub(config.context_lines as u64);
                    let hi = center.saturating_add(config.context_lines as u64);
                    // Walk outwards over contiguous rows only.
                    let mut j = c;
                    while j > 0 && nums.get(j - 1).is_some_and(|&n| n >= lo && n + 1 == nums.get(j).copied().unwrap_or(0)) {
                        j -= 1;
                        if let Some(x) = k.get_mut(j) {
                            *x = true;
                        }
                    }
                    let mut j = c;
                    while nums.get(j + 1).is_some_and(|&n| n <= hi && n == nums.get(j).copied().unwrap_or(0) + 1) {
                        j += 1;
                        if let Some(x) = k.get_mut(j) {
                            *x = true;
                        }
                    }
                }
            }
        }
    }

    // Render.
    let mut out = Out::default();
    let mut kept_matches = 0;
    let mut dropped_files: Vec<(&str, usize)> = Vec::new();
    let mut first_file = true;
    for (pi, p) in parsed.pieces.iter().enumerate() {
        match p {
            Piece::Other(l) => out.line(l),
            Piece::File { path, rows: range } => {
                let rows = parsed.rows.get(range.clone()).unwrap_or(&[]);
                let n_matches = rows.iter().filter(|r| r.is_match).count();
                if !file_kept.get(pi).copied().unwrap_or(true) {
                    dropped_files.push((path, n_matches));
                    continue;
                }
                if !first_file {
                    out.s.push_str(eol);
                }
                first_file = false;
                out.s.push_str(path);
                out.s.push_str(eol);
                let k = keep.get(range.clone()).unwrap_or(&[]);
                let mut prev: Option<u64> = None;
                let mut omitted = 0;
                for (r, &kk) in rows.iter().zip(k) {
                    if !kk {
                        omitted += usize::from(r.is_match);
                        continue;
                    }
                    let n: u64 = r.num.parse().unwrap_or(0);
                    if parsed.context_mode && prev.is_some_and(|p| p + 1 != n) {
                        out.s.push_str("--");
                        out.s.push_str(eol);
                    }
                    prev = Some(n);
                    kept_matches += usize::from(r.is_match);
                    out.s.push_str(r.num);
                    out.s.push(if r.is_match { ':' } else { '-' });
                    out.s.push_str(r.text);
                    out.s.push_str(eol);
                }
                if omitted > 0 {
                    out.note(&format!("[… {omitted} more matches in this file]"));
                }
            }
        }
    }
    if !dropped_files.is_empty() {
        let n: usize = dropped_files.iter().map(|(_, c)| c).sum();
        let names: Vec<String> = dropped_files.iter().take(8).map(|(p, c)| format!("{p} ({c})")).collect();
        let more = if dropped_files.len() > 8 { format!(", and {} more", dropped_files.len() - 8) } else { String::new() };
        out.s.push_str(eol);
        out.note(&format!("[… {n} matches in {} more files: {}{more}]", dropped_files.len(), names.join(", ")));
    }
    if !content.ends_with('\n') && out.s.ends_with(eol) && kept_matches == total {
        out.s.truncate(out.s.len() - eol.len());
    }
    let dropped_nothing = kept_matches == total && parsed.other_lines == 0;
    let lossless = dropped_nothing && !parsed.heading && flatten(&out.s, parsed.context_mode) == content;
    TextCompression { compressed: out.s, original_count: total, compressed_count: kept_matches, unit: "matches", lossless }
        .or_unchanged(content)
}

/// Rebuilds flat `path:n:text` output from the heading layout (no notes), to prove a grouping
/// lossless (`context_mode`: the original had `-C` context, with `--` between groups). Public so
/// tests can check the same proof from outside.
pub fn flatten(grouped: &str, context_mode: bool) -> String {
    let mut out = String::with_capacity(grouped.len() * 2);
    let mut path: Option<&str> = None;
    let mut any_rows = false;
    let mut expect_path = true;
    for l in grouped.split_inclusive('\n') {
        let s = strip_end(l);
        let end = &l[s.len()..];
        if s.is_empty() {
            expect_path = true;
            continue;
        }
        if expect_path {
            path = Some(s);
            expect_path = false;
            if context_mode && any_rows {
                out.push_str("--");
                out.push_str(if end.is_empty() { "\n" } else { end });
            }
            continue;
        }
        let Some(p) = path else { continue };
        if s == "--" {
            out.push_str(l);
        } else if let Some((num, text)) = num_then(s, b':') {
            any_rows = true;
            out.push_str(&format!("{p}:{num}:{text}{end}"));
        } else if let Some((num, text)) = num_then(s, b'-') {
            any_rows = true;
            out.push_str(&format!("{p}-{num}-{text}{end}"));
        } else {
            out.push_str(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows() {
        let r = parse_match("src/de.rs:148:    Some(_) => x").map(|r| (r.path, r.num, r.text));
        assert_eq!(r, Some(("src/de.rs", "148", "    Some(_) => x")));
        let r = parse_match(r"C:\work\app\main.py:12:def main():").map(|r| r.path);
        assert_eq!(r, Some(r"C:\work\app\main.py"));
        assert!(parse_match("2024-01-02T12:30:45 INFO start").is_none());
        assert!(parse_match("12:30:45 started").is_none());
        let known: HashSet<&str> = ["my-crate/src/a-b.rs"].into_iter().collect();
        let r = parse_context("my-crate/src/a-b.rs-7-    let x = 1;", &known).map(|r| (r.path, r.num, r.text));
        assert_eq!(r, Some(("my-crate/src/a-b.rs", "7", "    let x = 1;")));
    }

    #[test]
    fn small_result_is_grouped_losslessly() {
        let input = "src/a.rs:1:fn a()\nsrc/a.rs:9:fn b()\nsrc/b.rs:3:fn c()\n";
        let r = compress(input, "", &SearchConfig::default());
        assert_eq!(r.compressed, "src/a.rs\n1:fn a()\n9:fn b()\n\nsrc/b.rs\n3:fn c()\n");
        assert!(r.lossless);
        assert_eq!(flatten(&r.compressed, false), input);
    }

    #[test]
    fn context_rows_round_trip() {
        let input = "a/x.rs-1-ctx\na/x.rs:2:hit\na/x.rs-3-ctx\n--\na/x.rs-9-ctx\na/x.rs:10:hit\n--\nb/y.rs:4:hit\n";
        let r = compress(input, "", &SearchConfig::default());
        assert!(r.lossless, "{}", r.compressed);
        assert_eq!(flatten(&r.compressed, true), input);
    }
}
