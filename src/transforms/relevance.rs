//! Query relevance: word tokenising, BM25 over a set of small documents, and the identifiers a
//! query names (ids, UUIDs, emails, quoted strings, hostnames, numbers) that must stay visible.

use std::collections::{HashMap, HashSet};

/// Lower-cased words of `text`: runs of alphanumerics and `_` (so `user_id` and `v1` stay whole).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

/// Word ids of `text`: the same words as `words`, each hashed (FNV-1a over its lower-cased
/// chars) instead of allocated. For scoring many items fast.
pub fn word_ids(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut h: u64 = 0xcbf29ce484222325;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            for l in c.to_lowercase() {
                h ^= l as u64;
                h = h.wrapping_mul(0x100000001b3);
            }
            in_word = true;
        } else if in_word {
            out.push(h);
            h = 0xcbf29ce484222325;
            in_word = false;
        }
    }
    if in_word {
        out.push(h);
    }
    out
}

/// Words too common to carry a query's meaning.
const STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "in", "is", "it",
    "me", "my", "of", "on", "or", "show", "tell", "that", "the", "this", "to", "was", "were", "what", "when", "where",
    "which", "who", "why", "with", "you", "your", "we", "our", "there", "any", "all", "get", "give", "list", "find",
    "please", "about", "have", "has", "did", "should", "would", "could", "will",
];

/// The query's meaningful words, deduplicated, in order.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    words(query).filter(|w| !STOP.contains(&w.as_str()) && seen.insert(w.clone())).collect()
}

/// BM25 scores of `docs` against `terms` (k1, b as configured). Words are `String`s or `word_ids`.
pub fn bm25<T: Eq + std::hash::Hash>(docs: &[Vec<T>], terms: &[T], k1: f64, b: f64) -> Vec<f64> {
    if docs.is_empty() || terms.is_empty() {
        return vec![0.0; docs.len()];
    }
    let n = docs.len() as f64;
    let avg_len = docs.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let term_set: HashSet<&T> = terms.iter().collect();
    // Term frequencies per document, for query terms only.
    let tfs: Vec<HashMap<&T, usize>> = docs
        .iter()
        .map(|d| {
            let mut tf = HashMap::new();
            for w in d.iter().filter(|w| term_set.contains(w)) {
                *tf.entry(w).or_insert(0) += 1;
            }
            tf
        })
        .collect();
    let mut df: HashMap<&T, usize> = HashMap::new();
    for tf in &tfs {
        for t in tf.keys() {
            *df.entry(*t).or_insert(0) += 1;
        }
    }
    docs.iter()
        .zip(&tfs)
        .map(|(d, tf)| {
            let len = d.len() as f64;
            terms
                .iter()
                .map(|t| {
                    let f = *tf.get(t).unwrap_or(&0) as f64;
                    if f == 0.0 {
                        return 0.0;
                    }
                    let dfi = *df.get(t).unwrap_or(&0) as f64;
                    let idf = ((n - dfi + 0.5) / (dfi + 0.5) + 1.0).ln();
                    idf * f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * len / avg_len.max(1.0)))
                })
                .sum()
        })
        .collect()
}

/// Exact identifiers named in a query: quoted strings, UUIDs, emails, hostnames, and tokens that
/// mix letters with digits or `-`/`_` (ids like `ord_8812`, `INC-2231`), plus numbers of 3+ digits.
/// An item containing one of them must stay visible.
pub fn query_identifiers(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim();
        if s.len() >= 3 && !out.iter().any(|o: &String| o == s) {
            out.push(s.to_string());
        }
    };
    // Quoted strings (double quotes and backticks; a single quote is too often an apostrophe).
    for quote in ['"', '`'] {
        let parts: Vec<&str> = query.split(quote).collect();
        // Odd-indexed parts are inside a pair of quotes; an unpaired last quote opens nothing.
        for (i, inside) in parts.iter().enumerate() {
            if i % 2 == 1 && i + 1 < parts.len() && !inside.is_empty() && inside.len() <= 200 {
                push(inside);
            }
        }
    }
    for raw in query.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '?' | '!' | '"' | '\'' | '`')) {
        let tok = raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        if tok.len() < 3 {
            continue;
        }
        let has_digit = tok.chars().any(|c| c.is_ascii_digit());
        let has_alpha = tok.chars().any(|c| c.is_alphabetic());
        let has_sep = tok.contains(['-', '_', '@', '.', '/', ':']);
        let all_digits = tok.chars().all(|c| c.is_ascii_digit());
        if tok.contains('@') && tok.contains('.') {
            push(tok); // email
        } else if (has_digit && (has_alpha || has_sep)) || all_digits || (has_sep && has_alpha && tok.contains('.') && !tok.ends_with('.')) {
            push(tok); // ids, UUIDs, versions, hostnames, numbers
        } else if has_alpha && tok.contains('_') {
            push(tok); // snake_case identifiers
        }
    }
    out
}

/// Error words: an item or line containing one is kept (plus the phrase "timed out").
pub const ERROR_WORDS: &[&str] = &[
    "abort", "aborted", "crash", "crashed", "critical", "denied", "error", "errors", "exception", "fail", "failed",
    "fails", "failure", "fatal", "forbidden", "invalid", "panic", "panicked", "refused", "rejected", "timeout",
    "traceback", "unauthorized", "unhealthy",
];

/// Whether `text` contains an error word as a whole word, in any case. One pass, no allocation:
/// it runs on every string of every item.
pub fn has_error_word(text: &str) -> bool {
    let mut buf = [0u8; 16];
    let mut prev_timed = false;
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let n = word.len();
        if !(3..=buf.len()).contains(&n) {
            prev_timed = false;
            continue;
        }
        for (d, b) in buf.iter_mut().zip(word.bytes()) {
            *d = b.to_ascii_lowercase();
        }
        let lw = &buf[..n];
        if ERROR_WORDS.iter().any(|e| e.as_bytes() == lw) || (prev_timed && lw == b"out") {
            return true;
        }
        prev_timed = lw == b"timed";
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_from_queries() {
        let ids = query_identifiers("what happened to order ord_8812 and user bob@example.com on api.example.com? see \"disk full\" 550e8400-e29b-41d4-a716-446655440000 port 8080");
        for want in ["ord_8812", "bob@example.com", "api.example.com", "disk full", "550e8400-e29b-41d4-a716-446655440000", "8080"] {
            assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
        }
        assert!(!ids.iter().any(|i| i == "what"));
    }

    #[test]
    fn error_words_are_whole_words() {
        assert!(has_error_word("Request FAILED with 500"));
        assert!(has_error_word("connection timed out"));
        assert!(!has_error_word("errorless terrain"));
    }

    #[test]
    fn bm25_prefers_matching_docs() {
        let docs: Vec<Vec<String>> = ["red apple pie", "green pear", "apple apple tart"].iter().map(|d| words(d).collect()).collect();
        let s = bm25(&docs, &query_terms("apple"), 1.5, 0.75);
        assert!(s[2] > s[0] && s[0] > s[1]);
    }
}
