//! Shared pieces of the text compressors (search, log, diff, prose): the result type, a
//! tokenizer that understands code identifiers, a small BM25 scorer, error words, and an output
//! builder that keeps the input's line endings.

use serde::Serialize;

pub use super::relevance::{query_terms, terms, Bm25, ERROR_WORDS};

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

/// Whether a log or text `line` reports a problem: an error word standing alone, or an
/// exception class name. (`relevance::has_error_word` is the looser test for JSON values.)
pub fn has_error_word(line: &str) -> bool {
    // Exception class names (`AssertionError`, `NullPointerException`) count too.
    // Words split only at spaces and punctuation that ends a word, so identifiers, file names
    // and package names stay whole (`test_error_paths`, `src/errors.rs`, `http-errors@2.0.1`
    // are names, not reports).
    let ends_word = |c: char| {
        c.is_whitespace()
            || matches!(c, ':' | ';' | ',' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '!' | '?' | '\'' | '"' | '=' | '`' | '|' | '*' | '#')
    };
    line.split(ends_word).any(|w| {
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
        assert!(bm.score(0) > bm.score(1));
        assert!(bm.score(1) > 0.0);
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
