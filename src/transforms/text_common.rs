//! Shared pieces of the text compressors (search, log, diff, prose): the result type, a
//! tokenizer that understands code identifiers, a small BM25 scorer, error words, and an output
//! builder that keeps the input's line endings.

use serde::Serialize;
use std::collections::HashMap;

/// What a text compressor returns. `compressed` never holds a CCR marker: the router adds one on
/// its own line when the step is lossy.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextCompression {
    pub compressed: String,
    /// Units in the input (`unit` says which).
    pub original_count: usize,
    /// Units of the input still present in `compressed`.
    pub compressed_count: usize,
    /// "lines", "matches" or "sentences".
    pub unit: &'static str,
    /// True only when the input can be rebuilt exactly from `compressed`.
    pub lossless: bool,
}

impl TextCompression {
    /// The input unchanged: nothing worth removing.
    pub fn unchanged(content: &str, count: usize, unit: &'static str) -> TextCompression {
        TextCompression { compressed: content.to_string(), original_count: count, compressed_count: count, unit, lossless: true }
    }

    /// Falls back to the unchanged input when the candidate is not shorter: a compressor must
    /// never make content bigger.
    pub fn or_unchanged(self, content: &str) -> TextCompression {
        if self.compressed.len() >= content.len() {
            TextCompression::unchanged(content, self.original_count, self.unit)
        } else {
            self
        }
    }
}

/// Words that mark a line as reporting a problem (the peer's list plus a few log spellings).
pub const ERROR_WORDS: &[&str] = &[
    "error", "errors", "exception", "failed", "failure", "failures", "fail", "critical", "fatal", "crash", "crashed",
    "panic", "panicked", "err", "abort", "aborted", "timeout", "denied", "rejected", "traceback", "segfault",
];

/// Query words too common to say anything about what is asked.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "did", "find", "for", "from", "how", "i", "in",
    "is", "it", "me", "my", "of", "on", "or", "show", "so", "that", "the", "there", "this", "to", "what", "when",
    "where", "which", "who", "why", "with", "you", "all", "any", "get", "see", "please", "tell", "about", "into", "we",
    "was", "were", "has", "have", "our", "its", "not", "no", "if", "then", "than", "use", "used", "using",
];

/// Lower-cased terms of `text`: every word (letters, digits, `_`), and for identifiers also their
/// `snake_case` and `camelCase` parts, so a query naming `parse_integer` matches both the whole
/// identifier (rarer, so it weighs more) and lines that mention "integer".
pub fn terms(text: &str, out: &mut Vec<String>) {
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if lower.chars().count() >= 2 {
            out.push(lower.clone());
        }
        // Parts: split at '_' and at lower→upper case changes.
        let mut cur = String::new();
        let mut prev_lower = false;
        let mut local = Vec::new();
        for c in word.chars() {
            if c == '_' || (c.is_uppercase() && prev_lower) {
                if !cur.is_empty() {
                    local.push(std::mem::take(&mut cur));
                }
                prev_lower = false;
                if c == '_' {
                    continue;
                }
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            cur.extend(c.to_lowercase());
        }
        if !cur.is_empty() {
            local.push(cur);
        }
        if local.len() > 1 {
            for p in local {
                if p.chars().count() >= 2 {
                    out.push(p);
                }
            }
        }
    }
}

/// The distinct, meaningful terms of a query (stopwords removed), in first-seen order.
pub fn query_terms(query: &str) -> Vec<String> {
    // Long queries (a whole user turn plus tool arguments) are cut: the first few KB say what
    // is asked, and scoring cost grows with the number of terms.
    let q = prefix(query, 4096);
    let mut all = Vec::new();
    terms(q, &mut all);
    let mut seen = std::collections::HashSet::new();
    all.into_iter().filter(|t| !STOPWORDS.contains(&t.as_str()) && seen.insert(t.clone())).take(64).collect()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` cut to about `max` chars with an ellipsis, for examples quoted in notes.
pub fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// BM25 (k1 1.5, b 0.75) of one query against a set of documents, each given as its terms.
/// Only query terms are counted, so the cost is linear in the documents' size.
pub struct Bm25 {
    index: HashMap<String, usize>,
    idf: Vec<f64>,
    avgdl: f64,
}

impl Bm25 {
    const K1: f64 = 1.5;
    const B: f64 = 0.75;

    pub fn new(query: &[String], docs: &[Vec<String>]) -> Bm25 {
        let index: HashMap<String, usize> = query.iter().enumerate().map(|(i, t)| (t.clone(), i)).collect();
        let mut df = vec![0usize; query.len()];
        let mut total = 0usize;
        let mut seen = vec![usize::MAX; query.len()];
        for (d, doc) in docs.iter().enumerate() {
            total += doc.len();
            for t in doc {
                if let Some(&i) = index.get(t) {
                    if let (Some(s), Some(c)) = (seen.get_mut(i), df.get_mut(i)) {
                        if *s != d {
                            *s = d;
                            *c += 1;
                        }
                    }
                }
            }
        }
        let n = docs.len().max(1) as f64;
        let idf = df.iter().map(|&f| ((n - f as f64 + 0.5) / (f as f64 + 0.5) + 1.0).ln()).collect();
        let avgdl = (total as f64 / n).max(1.0);
        Bm25 { index, idf, avgdl }
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn score(&self, doc: &[String]) -> f64 {
        if self.index.is_empty() {
            return 0.0;
        }
        let mut tf = vec![0usize; self.idf.len()];
        for t in doc {
            if let Some(&i) = self.index.get(t) {
                if let Some(c) = tf.get_mut(i) {
                    *c += 1;
                }
            }
        }
        let dl = doc.len() as f64;
        let norm = Self::K1 * (1.0 - Self::B + Self::B * dl / self.avgdl);
        tf.iter()
            .zip(&self.idf)
            .filter(|(&f, _)| f > 0)
            .map(|(&f, &idf)| idf * (f as f64 * (Self::K1 + 1.0)) / (f as f64 + norm))
            .sum()
    }
}

/// Whether `line` holds an error word as a whole word (case-insensitive).
pub fn has_error_word(line: &str) -> bool {
    // Exception class names (`AssertionError`, `NullPointerException`) count too.
    // Words split only at spaces and punctuation that ends a word, so identifiers, file names
    // and package names stay whole (`test_error_paths`, `src/errors.rs`, `http-errors@2.0.1`
    // are names, not reports).
    line.split(|c: char| c.is_whitespace() || ":;,()[]{}<>!?'\"=`|*#".contains(c)).any(|w| {
        let w = w.trim_end_matches('.');
        !w.is_empty()
            && ((w.len() <= 10 && ERROR_WORDS.iter().any(|e| w.eq_ignore_ascii_case(e)))
                || (w.len() > 5 && w.ends_with("Error") && w.chars().all(char::is_alphanumeric))
                || (w.len() > 9 && w.ends_with("Exception") && w.chars().all(char::is_alphanumeric)))
    })
}

/// The input's lines, each with its terminator (`\n` or `\r\n`), the last one possibly without.
pub fn lines_with_ends(content: &str) -> Vec<&str> {
    content.split_inclusive('\n').collect()
}

/// A line without its terminator.
pub fn strip_end(line: &str) -> &str {
    let l = line.strip_suffix('\n').unwrap_or(line);
    l.strip_suffix('\r').unwrap_or(l)
}

/// Builds output text: original lines go in verbatim (terminators included) and notes go on
/// lines of their own, so a note never glues onto a kept line that lacked a newline.
#[derive(Default)]
pub struct Out {
    pub s: String,
}

impl Out {
    pub fn line(&mut self, line_with_end: &str) {
        self.s.push_str(line_with_end);
    }

    pub fn note(&mut self, note: &str) {
        if !self.s.is_empty() && !self.s.ends_with('\n') {
            self.s.push('\n');
        }
        self.s.push_str(note);
        self.s.push('\n');
    }
}

/// Whether `s` (a content line without terminator) is one of the notes these compressors write,
/// i.e. the text was compressed already: compressing again must not shrink it further.
pub fn is_our_note(s: &str) -> bool {
    let t = s.trim();
    (t.starts_with("[…") && t.ends_with(']')) || t.starts_with("… ") && t.contains(" more matches in ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_terms() {
        let mut t = Vec::new();
        terms("fn parse_integer(&mut self) parseValue", &mut t);
        for w in ["fn", "parse_integer", "parse", "integer", "mut", "self", "parsevalue", "value"] {
            assert!(t.contains(&w.to_string()), "{w} in {t:?}");
        }
    }

    #[test]
    fn bm25_prefers_rare_terms() {
        let q = query_terms("where is parse_integer defined");
        let docs: Vec<Vec<String>> = ["fn parse_integer(x)", "fn parse(x)", "let y = parse(z)"]
            .iter()
            .map(|d| {
                let mut t = Vec::new();
                terms(d, &mut t);
                t
            })
            .collect();
        let bm = Bm25::new(&q, &docs);
        assert!(bm.score(&docs[0]) > bm.score(&docs[1]));
        assert!(bm.score(&docs[1]) > 0.0);
    }

    #[test]
    fn error_words() {
        assert!(has_error_word("thread 'main' panicked at src/x.rs"));
        assert!(has_error_word("E   AssertionError: x"));
        assert!(!has_error_word("test_errors_are_reported PASSED"));
        assert!(!has_error_word("all good"));
        assert!(!has_error_word("npm http fetch GET 200 https://registry.npmjs.org/http-errors 6ms"));
        assert!(has_error_word("error[E0308]: mismatched types"));
        assert!(has_error_word("test result: FAILED. 1 passed"));
        assert!(has_error_word("npm ERR! code 1"));
        assert_eq!(prefix("héllo", 2), "h");
    }
}
