//! Unified-diff compression (git diff, diff -ru). Every file header, hunk header and added or
//! removed line is kept; unchanged context is trimmed to a few lines around each change. Where a
//! trim splits a hunk, the pieces get recomputed `@@` headers, so the output is still a valid
//! unified diff with correct line numbers. Only past generous caps (hunks per file, files) are
//! changes dropped, and a note says how many.

use super::text_common::{is_our_note, lines_with_ends, strip_end, Out, TextCompression};
use serde::{Deserialize, Serialize};

/// Limits for diffs. The peer keeps 2 context lines, 10 hunks per file and 20 files; we keep
/// more hunks and files since changed lines are the point of a diff.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DiffConfig {
    /// Unchanged lines kept on each side of a change.
    pub context_lines: usize,
    /// Hunks kept per file (after splitting); the rest are counted in a note.
    pub max_hunks_per_file: usize,
    /// Files kept; the rest are listed in a final note with their +/- counts.
    pub max_files: usize,
}

impl Default for DiffConfig {
    fn default() -> Self {
        DiffConfig { context_lines: 1, max_hunks_per_file: 24, max_files: 40 }
    }
}

/// `@@ -a,b +c,d @@ heading` → (a, b, c, d, heading).
fn parse_hunk_header(s: &str) -> Option<(u64, u64, u64, u64, &str)> {
    let rest = s.strip_prefix("@@ -")?;
    let (ranges, heading) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(u64, u64)> {
        match r.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (a, b) = range(old)?;
    let (c, d) = range(new)?;
    Some((a, b, c, d, heading))
}

struct Hunk<'a> {
    old_start: u64,
    new_start: u64,
    heading: &'a str,
    header_line: &'a str,
    /// Body lines with their terminators.
    body: Vec<&'a str>,
}

#[derive(Default)]
struct FileDiff<'a> {
    /// Header lines (`diff --git`, `index`, `---`, `+++`, mode lines, ...), verbatim.
    header: Vec<&'a str>,
    hunks: Vec<Hunk<'a>>,
}

impl FileDiff<'_> {
    fn name(&self) -> String {
        for h in &self.header {
            let s = strip_end(h);
            if let Some(p) = s.strip_prefix("+++ ") {
                let p = p.split('\t').next().unwrap_or(p);
                if p != "/dev/null" {
                    return p.strip_prefix("b/").unwrap_or(p).to_string();
                }
            }
        }
        for h in &self.header {
            let s = strip_end(h);
            if let Some(p) = s.strip_prefix("--- ") {
                let p = p.split('\t').next().unwrap_or(p);
                return p.strip_prefix("a/").unwrap_or(p).to_string();
            }
            if let Some(rest) = s.strip_prefix("diff --git ") {
                return rest.rsplit(" b/").next().unwrap_or(rest).to_string();
            }
        }
        self.header.first().map(|h| strip_end(h).to_string()).unwrap_or_default()
    }

    fn changes(&self) -> (usize, usize) {
        let mut add = 0;
        let mut del = 0;
        for h in &self.hunks {
            for l in &h.body {
                match l.as_bytes().first() {
                    Some(b'+') => add += 1,
                    Some(b'-') => del += 1,
                    _ => {}
                }
            }
        }
        (add, del)
    }
}

enum Piece<'a> {
    File(FileDiff<'a>),
    /// Text outside any file (a commit message, `Only in …` lines).
    Other(&'a str),
}

fn is_file_start(s: &str) -> bool {
    s.starts_with("diff ") || s.starts_with("Index: ") || s.starts_with("Only in ") || s.starts_with("Binary files ")
}

fn parse(content: &str) -> (Vec<Piece<'_>>, usize) {
    let lines = lines_with_ends(content);
    let mut pieces: Vec<Piece> = Vec::new();
    let mut hunks = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some(&l) = lines.get(i) else { break };
        let s = strip_end(l);
        let starts_file = is_file_start(s)
            || (s.starts_with("--- ") && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ ")));
        if starts_file {
            let mut f = FileDiff::default();
            f.header.push(l);
            i += 1;
            // Header lines up to the first hunk or the next file.
            while let Some(&h) = lines.get(i) {
                let hs = strip_end(h);
                if hs.starts_with("@@ ") || is_file_start(hs) {
                    break;
                }
                if hs.starts_with("--- ") && f.header.iter().any(|x| x.starts_with("--- ")) {
                    break;
                }
                f.header.push(h);
                i += 1;
                if hs.starts_with("+++ ") {
                    break;
                }
            }
            // Hunks, their lengths from their headers (a removed line may start with "--- ").
            while let Some(&h) = lines.get(i) {
                let Some((_, mut old_left, new_start, mut new_left, heading)) = parse_hunk_header(strip_end(h)) else { break };
                let old_start = parse_hunk_header(strip_end(h)).map(|x| x.0).unwrap_or(0);
                let mut hunk = Hunk { old_start, new_start, heading, header_line: h, body: Vec::new() };
                i += 1;
                while let Some(&b) = lines.get(i) {
                    let first = b.as_bytes().first().copied();
                    let consumes = match first {
                        Some(b' ') => (1, 1),
                        Some(b'-') => (1, 0),
                        Some(b'+') => (0, 1),
                        Some(b'\\') => (0, 0),
                        // Some tools strip the space of an empty context line.
                        Some(b'\n' | b'\r') if old_left > 0 && new_left > 0 => (1, 1),
                        _ => break,
                    };
                    if first != Some(b'\\') && (old_left < consumes.0 || new_left < consumes.1) {
                        break;
                    }
                    old_left -= consumes.0;
                    new_left -= consumes.1;
                    hunk.body.push(b);
                    i += 1;
                    if old_left == 0 && new_left == 0 && !lines.get(i).is_some_and(|n| n.starts_with('\\')) {
                        break;
                    }
                }
                hunks += 1;
                f.hunks.push(hunk);
            }
            pieces.push(Piece::File(f));
        } else {
            pieces.push(Piece::Other(l));
            i += 1;
        }
    }
    (pieces, hunks)
}

fn is_context(l: &str) -> bool {
    matches!(l.as_bytes().first(), Some(b' ' | b'\n' | b'\r'))
}

/// Compresses a unified diff; see the module docs. Text without hunks comes back unchanged.
pub fn compress(content: &str, _query: &str, config: &DiffConfig) -> TextCompression {
    let total_lines = lines_with_ends(content).len();
    let (pieces, hunk_count) = parse(content);
    if hunk_count == 0 || content.lines().any(is_our_note) {
        return TextCompression::unchanged(content, total_lines, "lines");
    }
    let eol = if content.contains("\r\n") { "\r\n" } else { "\n" };
    let ctx = config.context_lines;
    let mut out = Out::default();
    let mut kept_lines = 0usize;
    let mut trimmed_context = 0usize;
    let mut dropped_files: Vec<(String, usize, usize)> = Vec::new();
    let mut files_seen = 0usize;
    for piece in &pieces {
        let f = match piece {
            Piece::Other(l) => {
                out.line(l);
                kept_lines += 1;
                continue;
            }
            Piece::File(f) => f,
        };
        files_seen += 1;
        if files_seen > config.max_files {
            let (a, d) = f.changes();
            dropped_files.push((f.name(), a, d));
            continue;
        }
        for h in &f.header {
            out.line(h);
            kept_lines += 1;
        }
        let mut hunks_out = 0usize;
        let (mut more_hunks, mut more_add, mut more_del) = (0usize, 0usize, 0usize);
        for hunk in &f.hunks {
            // Which body lines stay: every change, and context within `ctx` of one.
            let n = hunk.body.len();
            let mut keep = vec![false; n];
            let mut last_change: Option<usize> = None;
            for (j, l) in hunk.body.iter().enumerate() {
                if !is_context(l) {
                    last_change = Some(j);
                    if let Some(k) = keep.get_mut(j) {
                        *k = true;
                    }
                } else if last_change.is_some_and(|c| j - c <= ctx) {
                    if let Some(k) = keep.get_mut(j) {
                        *k = true;
                    }
                }
            }
            let mut next_change: Option<usize> = None;
            for j in (0..n).rev() {
                let l = hunk.body.get(j).copied().unwrap_or("");
                if !is_context(l) {
                    next_change = Some(j);
                } else if next_change.is_some_and(|c| c - j <= ctx) {
                    if let Some(k) = keep.get_mut(j) {
                        *k = true;
                    }
                }
            }
            let untouched = keep.iter().all(|&k| k);
            // Split into runs of kept lines, each with its own header.
            let (mut old_line, mut new_line) = (hunk.old_start, hunk.new_start);
            let mut j = 0;
            let mut first_run = true;
            while j < n {
                if !keep.get(j).copied().unwrap_or(false) {
                    trimmed_context += 1;
                    old_line += 1;
                    new_line += 1;
                    j += 1;
                    continue;
                }
                let start = j;
                let (run_old, run_new) = (old_line, new_line);
                let (mut old_n, mut new_n) = (0u64, 0u64);
                let (mut add, mut del) = (0usize, 0usize);
                while j < n && keep.get(j).copied().unwrap_or(false) {
                    match hunk.body.get(j).and_then(|l| l.as_bytes().first()) {
                        Some(b'-') => {
                            old_n += 1;
                            del += 1;
                        }
                        Some(b'+') => {
                            new_n += 1;
                            add += 1;
                        }
                        Some(b'\\') => {}
                        _ => {
                            old_n += 1;
                            new_n += 1;
                        }
                    }
                    j += 1;
                }
                old_line += old_n;
                new_line += new_n;
                if hunks_out >= config.max_hunks_per_file {
                    more_hunks += 1;
                    more_add += add;
                    more_del += del;
                    continue;
                }
                hunks_out += 1;
                if untouched {
                    out.line(hunk.header_line);
                } else {
                    // A range of length 0 names the line before it.
                    let os = if old_n == 0 { run_old.saturating_sub(1) } else { run_old };
                    let ns = if new_n == 0 { run_new.saturating_sub(1) } else { run_new };
                    let heading = if first_run { hunk.heading } else { "" };
                    out.s.push_str(&format!("@@ -{os},{old_n} +{ns},{new_n} @@{heading}{eol}"));
                }
                first_run = false;
                kept_lines += 1;
                for l in hunk.body.get(start..j).unwrap_or(&[]) {
                    out.line(l);
                    kept_lines += 1;
                }
            }
        }
        if more_hunks > 0 {
            out.note(&format!("[… {more_hunks} more hunks in this file: +{more_add} -{more_del} lines]"));
        }
    }
    if !dropped_files.is_empty() {
        let names: Vec<String> = dropped_files.iter().take(10).map(|(n, a, d)| format!("{n} (+{a} -{d})")).collect();
        let more = if dropped_files.len() > 10 { format!(", and {} more", dropped_files.len() - 10) } else { String::new() };
        out.note(&format!("[… {} more files changed: {}{more}]", dropped_files.len(), names.join(", ")));
    }
    if trimmed_context > 0 {
        out.note(&format!("[… {trimmed_context} unchanged context lines trimmed]"));
    }
    if kept_lines >= total_lines {
        return TextCompression::unchanged(content, total_lines, "lines");
    }
    TextCompression { compressed: out.s, original_count: total_lines, compressed_count: kept_lines, unit: "lines", lossless: false }
        .or_unchanged(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_hunk_gets_valid_headers() {
        let mut d = String::from("--- a/f.txt\n+++ b/f.txt\n@@ -1,12 +1,12 @@ fn x\n");
        d.push_str("-a\n+A\n");
        for k in 2..=11 {
            d.push_str(&format!(" l{k} unchanged text of some length\n"));
        }
        d.push_str("-z\n+Z\n");
        let r = compress(&d, "", &DiffConfig { context_lines: 2, ..DiffConfig::default() });
        assert!(r.compressed.contains("@@ -1,3 +1,3 @@ fn x\n-a\n+A\n l2 unchanged text of some length\n l3 unchanged"), "{}", r.compressed);
        assert!(r.compressed.contains("@@ -10,3 +10,3 @@\n l10 unchanged text of some length\n l11 unchanged text of some length\n-z\n+Z\n"), "{}", r.compressed);
        assert!(r.compressed.contains("6 unchanged context lines trimmed"));
    }

    #[test]
    fn removed_line_that_looks_like_a_header() {
        let d = "--- a/x\n+++ b/x\n@@ -1,2 +1,1 @@\n--- not a header\n keep\n";
        let (pieces, hunks) = parse(d);
        assert_eq!(hunks, 1);
        assert_eq!(pieces.len(), 1);
    }
}
