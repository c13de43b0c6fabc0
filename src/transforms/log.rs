//! Build and test log compression (pytest, cargo, npm, jest, make, go test, pip, apt, generic
//! logs). Every line gets a class; errors and failures are kept with their diagnostic block
//! (bounded, stack traces trimmed in the middle), failure sections (`=== FAILURES ===`, cargo's
//! `failures:`) are kept whole up to a cap, each distinct warning is kept once with a repeat
//! count, summaries and the head and tail are kept, and long runs of the rest (passing tests,
//! `Compiling …`, downloads) become one counted note.

use super::text_common::{has_error_word, is_our_note, lines_with_ends, shorten, strip_end, Out, TextCompression};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Limits for logs. Defaults are looser than the peer's (10 errors, 3 context lines, 100 lines):
/// an error a model cannot see is the failure users report.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LogConfig {
    /// Logs shorter than this pass through untouched.
    pub min_lines: usize,
    /// Lines kept at the start (the command, session header).
    pub head_lines: usize,
    /// Lines kept at the end (summary, exit status).
    pub tail_lines: usize,
    /// Lines kept before an error line.
    pub context_before: usize,
    /// Most lines of one error's block (the error line and what follows up to a blank line).
    pub max_block_lines: usize,
    /// Error blocks kept; later ones are counted in notes.
    pub max_errors: usize,
    /// Distinct warnings kept (first occurrence each).
    pub max_warnings: usize,
    /// Most lines of one warning's block.
    pub max_warning_lines: usize,
    /// Most lines kept of one failure section (pytest `FAILURES`, cargo `failures:`).
    pub max_section_lines: usize,
    /// Consecutive stack-frame lines kept: half from the start of the run, half from its end.
    pub max_trace_lines: usize,
    /// Dropped runs shorter than this are kept instead: a note would cost about as much.
    pub min_collapse: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            min_lines: 30,
            head_lines: 5,
            tail_lines: 8,
            context_before: 3,
            max_block_lines: 30,
            max_errors: 30,
            max_warnings: 20,
            max_warning_lines: 8,
            max_section_lines: 150,
            max_trace_lines: 12,
            min_collapse: 4,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Blank,
    /// A passing test, a progress or download line.
    Progress,
    Summary,
    Error,
    Warning,
    /// A stack frame.
    Trace,
    Other,
}

/// Starts of lines that only say work is progressing.
const PROGRESS_PREFIXES: &[&str] = &[
    "Compiling ", "Checking ", "Downloaded ", "Downloading ", "Fresh ", "Locking ", "Adding ", "Updating ", "Updated ",
    "Documenting ", "Blocking ", "Packaging ", "Verifying ", "Unpacking ", "Collecting ", "Using cached ",
    "Requirement already satisfied", "changing mode", "Obtaining ", "Preparing metadata", "Building wheel",
    "Created wheel", "Stored in directory", "Get:", "Hit:", "Ign:", "Setting up ", "Selecting previously",
    "Preparing to unpack", "Processing triggers", "=== RUN", "=== PAUSE", "=== CONT", "--- PASS", "PASS ", "✓", "√",
    "npm http fetch", "npm verbose", "npm info", "npm timing", "npm sill", "npm http", "Progress:", "Resolving ",
    "Fetching ", "Fetched ", "Installing ", "Removing ", "Running ", "Building ", "CC ", "CXX ", "LD ", "AR ",
    "[INFO] Download", "Reading package lists", "Reading state information", "Building dependency tree",
];

fn trimmed_starts(t: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| t.starts_with(p))
}

fn is_banner(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 7
        && matches!(b.first(), Some(b'=' | b'_' | b'-'))
        && b.iter().take(3).all(|&c| c == b'=' || c == b'_' || c == b'-')
        && b.iter().rev().take(3).all(|&c| c == b'=' || c == b'_' || c == b'-')
}

fn is_summary(t: &str) -> bool {
    let lower_has = |w: &str| t.contains(w);
    (is_banner(t) && t.starts_with('=') && (lower_has(" passed") || lower_has(" failed") || lower_has(" error") || lower_has("no tests ran")))
        || trimmed_starts(
            t,
            &[
                "test result:", "error: could not compile", "Finished ", "Successfully installed", "Tests:", "Test Suites:",
                "Snapshots:", "Ran ", "FAILED (", "OK (", "make: ***", "make[", "BUILD SUCCESSFUL", "BUILD FAILED",
                "npm ERR! code", "npm error code", "Some errors have detailed", "For more information about",
                "error: test failed", "error: aborting", "warning: build failed", "FAIL\t", "ok  \t", "exit status",
                "Process completed with exit code", "added ", "removed ", "changed ", "up to date", "found 0 vulnerabilities",
                "Installed package `", "Replaced package `", "Successfully built", "Successfully uninstalled",
            ],
        )
        || (t.starts_with("warning: `") && t.contains("generated"))
        || (t.starts_with("npm info ok"))
}

fn is_trace(t: &str, raw: &str) -> bool {
    let indented = raw.starts_with([' ', '\t']);
    let frame_number = || t.split_once(": ").is_some_and(|(n, _)| !n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()));
    (indented && (t.starts_with("at ") || t.starts_with("File \"") || frame_number()))
        || t.starts_with("Traceback (most recent call last)")
}

fn classify(raw: &str, prev: Class) -> Class {
    let t = raw.trim();
    if t.is_empty() {
        return Class::Blank;
    }
    // A Python frame's source line follows its `File "…"` line.
    if prev == Class::Trace && raw.starts_with("    ") && !t.starts_with("File \"") && !has_error_word(t) {
        return Class::Trace;
    }
    let passing = t.ends_with(" PASSED")
        || t.contains(" PASSED ")
        || t.contains(" SKIPPED")
        || (t.starts_with("test ") && (t.ends_with(" ... ok") || t.ends_with(" ... ignored")))
        || t.starts_with("--- PASS")
        || t.starts_with("PASS ")
        || t.starts_with('✓')
        || t.starts_with('√')
        || t.starts_with("ok  \t")
        || t.contains("━━━");
    if passing {
        return Class::Progress;
    }
    if is_summary(t) {
        return Class::Summary;
    }
    if is_trace(t, raw) {
        return Class::Trace;
    }
    if t.starts_with("E ") || t.starts_with("FAILED") || t.contains(" FAILED") || t.starts_with("--- FAIL") || has_error_word(t) {
        return Class::Error;
    }
    let lower = prefix_lower(t, 120);
    if lower.contains("warning") || lower.starts_with("warn") || lower.contains(" warn ") || lower.contains("deprecat") {
        return Class::Warning;
    }
    if trimmed_starts(t, PROGRESS_PREFIXES) || t.ends_with("%]") || t.ends_with("%)") {
        return Class::Progress;
    }
    Class::Other
}

fn prefix_lower(t: &str, n: usize) -> String {
    t.chars().take(n).flat_map(char::to_lowercase).collect()
}

/// Start of a failure section: a banner naming FAILURES/ERRORS, or cargo's `failures:`.
fn section_start(t: &str) -> bool {
    (is_banner(t) && (t.contains("FAILURES") || t.contains("ERRORS"))) || t == "failures:"
}

fn section_end(t: &str) -> bool {
    t.starts_with("test result:") || (is_banner(t) && t.starts_with('=') && !t.contains("FAILURES") && !t.contains("ERRORS"))
}

/// Whether a stack-frame line points into a runtime or a dependency rather than the user's code.
fn is_library_frame(t: &str) -> bool {
    const LIB: &[&str] = &[
        "/rustc/", "core::", "std::", "alloc::", "__rustc", "<fn(", "node:internal", "node_modules", "site-packages",
        "/usr/lib", "<frozen", "java.base", "runtime/", "/lib/python",
    ];
    LIB.iter().any(|m| t.contains(m))
}

/// A warning's identity: digits and quoted parts vary between repeats of one warning.
fn warning_key(t: &str) -> String {
    let mut key = String::new();
    for c in t.chars().take(160) {
        if !c.is_ascii_digit() {
            key.push(c);
        }
    }
    key
}

/// Compresses a build/test log; see the module docs.
pub fn compress(content: &str, _query: &str, config: &LogConfig) -> TextCompression {
    let lines = lines_with_ends(content);
    let n = lines.len();
    if n < config.min_lines.max(1) || lines.iter().any(|l| is_our_note(strip_end(l))) {
        return TextCompression::unchanged(content, n, "lines");
    }
    let mut class = Vec::with_capacity(n);
    let mut prev = Class::Blank;
    for l in &lines {
        let c = classify(strip_end(l), prev);
        class.push(c);
        prev = c;
    }
    let mut keep = vec![false; n];
    let set = |keep: &mut Vec<bool>, i: usize| {
        if let Some(k) = keep.get_mut(i) {
            *k = true;
        }
    };
    let cls = |i: usize| class.get(i).copied().unwrap_or(Class::Blank);
    let text = |i: usize| lines.get(i).map(|l| strip_end(l).trim()).unwrap_or("");

    // Head, tail, summaries.
    for i in 0..config.head_lines.min(n) {
        set(&mut keep, i);
    }
    for i in n.saturating_sub(config.tail_lines)..n {
        set(&mut keep, i);
    }
    for i in 0..n {
        if cls(i) == Class::Summary {
            set(&mut keep, i);
        }
    }

    // Failure sections, kept whole up to a cap (passing lines inside are still dropped).
    let mut in_section = vec![false; n];
    let mut i = 0;
    while i < n {
        if section_start(text(i)) {
            let mut kept = 0;
            let mut j = i;
            while j < n && (j == i || !section_end(text(j))) {
                if cls(j) != Class::Progress && kept < config.max_section_lines {
                    set(&mut keep, j);
                    set(&mut in_section, j);
                    kept += 1;
                }
                j += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }

    // Error blocks: a few lines before, then on until a blank line, bounded.
    let mut errors = 0;
    let mut i = 0;
    while i < n {
        if cls(i) != Class::Error {
            i += 1;
            continue;
        }
        if in_section.get(i).copied().unwrap_or(false) {
            i += 1;
            continue;
        }
        errors += 1;
        if errors > config.max_errors {
            i += 1;
            continue;
        }
        let mut b = i;
        while b > 0 && i - b < config.context_before && !matches!(cls(b - 1), Class::Blank | Class::Progress) {
            b -= 1;
        }
        let mut j = i;
        while j < n && j - i < config.max_block_lines && (j == i || !matches!(cls(j), Class::Blank | Class::Progress)) {
            j += 1;
        }
        for k in b..j {
            set(&mut keep, k);
        }
        i = j.max(i + 1);
    }

    // Warnings: first occurrence of each, with its block; repeats counted.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut repeats: HashMap<usize, usize> = HashMap::new(); // block end index -> repeat count
    let mut first_block_end: HashMap<String, usize> = HashMap::new();
    let mut distinct = 0;
    for i in 0..n {
        if cls(i) != Class::Warning {
            continue;
        }
        let key = warning_key(text(i));
        if let Some(c) = seen.get_mut(&key) {
            *c += 1;
            if let Some(&end) = first_block_end.get(&key) {
                *repeats.entry(end).or_insert(0) += 1;
            }
            continue;
        }
        seen.insert(key.clone(), 0);
        distinct += 1;
        if distinct > config.max_warnings {
            continue;
        }
        let mut j = i;
        while j < n && j - i < config.max_warning_lines && (j == i || !matches!(cls(j), Class::Blank | Class::Progress | Class::Warning | Class::Error)) {
            set(&mut keep, j);
            j += 1;
        }
        first_block_end.insert(key, j.saturating_sub(1));
    }

    // Stack traces: within each long run of kept frames, keep its two ends and the frames in
    // the user's own code (not the runtime's or a dependency's).
    let mut i = 0;
    while i < n {
        if cls(i) == Class::Trace && keep.get(i).copied().unwrap_or(false) {
            let mut j = i;
            while j < n && matches!(cls(j), Class::Trace | Class::Other) && keep.get(j).copied().unwrap_or(false) {
                j += 1;
            }
            if j - i > config.max_trace_lines {
                let ends = (config.max_trace_lines / 4).max(1);
                let mut budget = config.max_trace_lines.saturating_sub(2 * ends);
                for k in i + ends..j - ends {
                    let own = !is_library_frame(text(k));
                    let keep_it = own && budget > 0;
                    budget -= usize::from(keep_it);
                    if let Some(x) = keep.get_mut(k) {
                        *x = keep_it;
                    }
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }

    // Short dropped runs are cheaper kept than noted.
    let mut i = 0;
    while i < n {
        if keep.get(i).copied().unwrap_or(true) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < n && !keep.get(j).copied().unwrap_or(true) {
            j += 1;
        }
        if j - i < config.min_collapse.max(1) {
            for k in i..j {
                set(&mut keep, k);
            }
        }
        i = j;
    }

    // Render.
    let mut out = Out::default();
    let mut kept = 0;
    let mut i = 0;
    while i < n {
        if keep.get(i).copied().unwrap_or(true) {
            if let Some(l) = lines.get(i) {
                out.line(l);
            }
            kept += 1;
            if let Some(r) = repeats.get(&i) {
                out.note(&format!("[… the warning above repeats {r} more times]"));
            }
            i += 1;
            continue;
        }
        let mut j = i;
        let mut counts: [usize; 7] = [0; 7];
        let mut example: Option<usize> = None;
        while j < n && !keep.get(j).copied().unwrap_or(true) {
            let c = cls(j);
            if let Some(x) = counts.get_mut(c as usize) {
                *x += 1;
            }
            if example.is_none() && c != Class::Blank {
                example = Some(j);
            }
            j += 1;
        }
        out.note(&gap_note(j - i, &counts, example.map(text)));
        i = j;
    }
    if kept == n {
        return TextCompression::unchanged(content, n, "lines");
    }
    TextCompression { compressed: out.s, original_count: n, compressed_count: kept, unit: "lines", lossless: false }
        .or_unchanged(content)
}

fn gap_note(total: usize, counts: &[usize; 7], example: Option<&str>) -> String {
    let names = [
        (Class::Progress, "passing/progress"),
        (Class::Other, "other"),
        (Class::Warning, "repeated warnings"),
        (Class::Error, "more errors"),
        (Class::Trace, "stack frames"),
        (Class::Summary, "summary"),
    ];
    let parts: Vec<String> = names
        .iter()
        .filter_map(|(c, name)| counts.get(*c as usize).filter(|&&k| k > 0).map(|k| format!("{k} {name}")))
        .collect();
    let ex = example
        .map(|e| {
            let squeezed: String = e.split_whitespace().collect::<Vec<_>>().join(" ");
            format!(" like \"{}\"", shorten(&squeezed, 60))
        })
        .unwrap_or_default();
    format!("[… {total} lines: {}{ex}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(classify("tests/test_a.py::test_error_path PASSED [ 10%]", Class::Blank), Class::Progress);
        assert_eq!(classify("test tests::parse_error ... ok", Class::Blank), Class::Progress);
        assert_eq!(classify("   Compiling serde v1.0.229", Class::Blank), Class::Progress);
        assert_eq!(classify("error[E0308]: mismatched types", Class::Blank), Class::Error);
        assert_eq!(classify("test result: FAILED. 220 passed; 1 failed", Class::Blank), Class::Summary);
        assert_eq!(classify("=== 1 failed, 454 passed in 0.21s ===", Class::Blank), Class::Summary);
        assert_eq!(classify("E       AssertionError: cart total", Class::Blank), Class::Error);
        assert_eq!(classify("npm warn deprecated inflight@1.0.6", Class::Blank), Class::Warning);
        assert_eq!(classify("   4: testfail::tests::word_count", Class::Blank), Class::Trace);
    }

    #[test]
    fn passing_run_collapses() {
        let mut log = String::from("== test session starts ==\ncollected 100 items\n");
        for i in 0..100 {
            log.push_str(&format!("tests/t.py::test_{i} PASSED\n"));
        }
        log.push_str("== 100 passed in 0.1s ==\n");
        let r = compress(&log, "", &LogConfig::default());
        assert!(r.compressed.contains("lines: ") && r.compressed.contains("passing/progress"), "{}", r.compressed);
        assert!(r.compressed.contains("100 passed in 0.1s"));
        assert!(r.compressed.len() < log.len() / 4);
    }
}
