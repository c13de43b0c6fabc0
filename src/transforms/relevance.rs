//! Query relevance, shared by every compressor: query terms, BM25, error words, and the
//! identifiers a query names (ids, UUIDs, emails, quoted strings, hostnames, numbers) that must
//! stay visible.

use crate::fasthash::FastMap;
use std::hash::Hash;

/// Word ids of `text`: the same words as `words`, each hashed (FNV-1a over its lower-cased
/// chars) instead of allocated. For scoring many items fast.
pub fn word_ids(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    word_ids_into(text, &mut out);
    out
}

/// For each byte: its lower-cased form when it is an ASCII word character (letter, digit, `_`),
/// 0 for any other ASCII byte, 0x80 for a byte of a multi-byte character.
const WORD_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            0x80
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            c.to_ascii_lowercase()
        } else {
            0
        };
        b += 1;
    }
    t
};

/// `word_ids`, appended to `out` (many documents in one buffer).
pub fn word_ids_into(text: &str, out: &mut Vec<u64>) {
    const START: u64 = 0xcbf29ce484222325;
    const PRIME: u64 = 0x100000001b3;
    let bytes = text.as_bytes();
    let mut h = START;
    let mut in_word = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let class = WORD_BYTE[b as usize];
        // ASCII (most of any JSON) by table, without decoding: the same hash as the char path.
        let (word_char, len) = if class < 0x80 {
            if class != 0 {
                h = (h ^ u64::from(class)).wrapping_mul(PRIME);
            }
            (class != 0, 1)
        } else {
            let Some(c) = text.get(i..).and_then(|r| r.chars().next()) else { break };
            let word_char = c.is_alphanumeric();
            if word_char {
                for l in c.to_lowercase() {
                    h = (h ^ l as u64).wrapping_mul(PRIME);
                }
            }
            (word_char, c.len_utf8())
        };
        if word_char {
            in_word = true;
        } else if in_word {
            out.push(h);
            h = START;
            in_word = false;
        }
        i += len;
    }
    if in_word {
        out.push(h);
    }
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
        } else if has_alpha && tok.len() >= 5 && tok.split('-').filter(|p| !p.is_empty()).count() >= 2 {
            push(tok); // kebab-case names (packages, hosts, regions)
        }
    }
    out
}

/// Error words: a line or item holding one reports a problem (the peer's list plus a few log and
/// API spellings).
pub const ERROR_WORDS: &[&str] = &[
    "abort", "aborted", "crash", "crashed", "critical", "denied", "err", "error", "errors", "exception", "fail",
    "failed", "fails", "failure", "failures", "fatal", "forbidden", "invalid", "panic", "panicked", "refused",
    "rejected", "segfault", "timeout", "traceback", "unauthorized", "unhealthy",
];

/// First letters of `ERROR_WORDS` (and of "timed", of "timed out").
const ERROR_FIRST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < ERROR_WORDS.len() {
        t[ERROR_WORDS[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    t[b't' as usize] = true;
    t
};

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
    for_each_term(text, |t| out.push(t.to_string()));
}

/// `terms` without allocating a `String` per term: `f` sees each term in order. Scoring every
/// line of a large output goes through here.
pub fn for_each_term(text: &str, mut f: impl FnMut(&str)) {
    let mut lower = String::new();
    // The parts of one word, back to back in `parts`, ending at the offsets in `ends`.
    let mut parts = String::new();
    let mut ends: Vec<usize> = Vec::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() {
            continue;
        }
        lower.clear();
        if word.is_ascii() {
            lower.extend(word.bytes().map(|b| b.to_ascii_lowercase() as char));
        } else {
            // `str::to_lowercase`, not per char: it knows a final sigma.
            lower.push_str(&word.to_lowercase());
        }
        if lower.chars().count() >= 2 {
            f(&lower);
        }
        // Parts: split at '_' and at lower→upper case changes.
        parts.clear();
        ends.clear();
        let mut prev_lower = false;
        for c in word.chars() {
            if c == '_' || (c.is_uppercase() && prev_lower) {
                if ends.last().copied().unwrap_or(0) < parts.len() {
                    ends.push(parts.len());
                }
                prev_lower = false;
                if c == '_' {
                    continue;
                }
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            parts.extend(c.to_lowercase());
        }
        if ends.last().copied().unwrap_or(0) < parts.len() {
            ends.push(parts.len());
        }
        if ends.len() > 1 {
            let mut start = 0;
            for &end in &ends {
                let p = parts.get(start..end).unwrap_or("");
                if p.chars().count() >= 2 {
                    f(p);
                }
                start = end;
            }
        }
    }
}

/// The distinct, meaningful terms of a query (stopwords removed), in first-seen order.
pub fn query_terms(query: &str) -> Vec<String> {
    // Long queries (a whole user turn plus tool arguments) are cut: the first few KB say what
    // is asked, and scoring cost grows with the number of terms.
    let q = super::text_common::prefix(query, 4096);
    let mut all = Vec::new();
    terms(q, &mut all);
    let mut seen = std::collections::HashSet::new();
    all.into_iter().filter(|t| !STOPWORDS.contains(&t.as_str()) && seen.insert(t.clone())).take(64).collect()
}

/// BM25 (k1, b; 1.5 and 0.75 by default) of one query against a set of documents, each given as
/// its terms (`String`s from `terms`, or hashed `word_ids`). Only query terms are counted, so the
/// cost is linear in the documents' size, and each document is kept only as what scoring needs
/// (its length and the query terms it holds): a 10 MB log scored line by line costs a few bytes
/// per line, not a copy of its words.
pub struct Bm25 {
    idf: Vec<f64>,
    avgdl: f64,
    k1: f64,
    b: f64,
    /// Per document: its length in terms, and where its hits start in `hits`.
    lens: Vec<u32>,
    starts: Vec<u32>,
    /// (query term index, term frequency), by document, in term order.
    hits: Vec<(u32, u32)>,
}

impl Bm25 {
    pub fn new<T: Eq + Hash, D: AsRef<[T]>>(query: &[T], docs: impl IntoIterator<Item = D>) -> Bm25 {
        Self::with_params(query, docs, 1.5, 0.75)
    }

    pub fn with_params<T: Eq + Hash, D: AsRef<[T]>>(query: &[T], docs: impl IntoIterator<Item = D>, k1: f64, b: f64) -> Bm25 {
        let index: FastMap<&T, usize> = query.iter().enumerate().map(|(i, t)| (t, i)).collect();
        let mut builder = Builder::new(query.len());
        for doc in docs {
            let doc = doc.as_ref();
            for t in doc {
                if let Some(c) = index.get(t).and_then(|&i| builder.tf.get_mut(i)) {
                    *c += 1;
                }
            }
            builder.end_doc(doc.len());
        }
        builder.finish(k1, b)
    }

    /// BM25 (1.5, 0.75) of `query` (terms from `query_terms`) against documents given as text:
    /// each document is the terms of its pieces, in order (as `terms` would list them), counted
    /// without building the list.
    pub fn over_texts<'t, D: IntoIterator<Item = &'t str>>(query: &[String], docs: impl IntoIterator<Item = D>) -> Bm25 {
        let index: FastMap<&str, usize> = query.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
        let mut b = Builder::new(query.len());
        for doc in docs {
            let mut len = 0usize;
            for piece in doc {
                for_each_term(piece, |t| {
                    len += 1;
                    if let Some(c) = index.get(t).and_then(|&i| b.tf.get_mut(i)) {
                        *c += 1;
                    }
                });
            }
            b.end_doc(len);
        }
        b.finish(1.5, 0.75)
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// The number of terms in document `doc` (0 for an index past the end).
    pub fn doc_len(&self, doc: usize) -> usize {
        self.lens.get(doc).map_or(0, |&l| l as usize)
    }

    /// The score of document `doc` (0 for an index past the end).
    pub fn score(&self, doc: usize) -> f64 {
        let (Some(&start), Some(&len)) = (self.starts.get(doc), self.lens.get(doc)) else { return 0.0 };
        let end = self.starts.get(doc + 1).map_or(self.hits.len(), |&e| e as usize);
        let norm = self.k1 * (1.0 - self.b + self.b * len as f64 / self.avgdl);
        self.hits
            .get(start as usize..end)
            .unwrap_or(&[])
            .iter()
            .map(|&(i, f)| self.idf.get(i as usize).copied().unwrap_or(0.0) * (f as f64 * (self.k1 + 1.0)) / (f as f64 + norm))
            .sum()
    }
}

/// Accumulates documents for `Bm25`: per document its length and the query-term frequencies
/// in `tf` (reset by `end_doc`).
struct Builder {
    tf: Vec<u32>,
    df: Vec<usize>,
    lens: Vec<u32>,
    starts: Vec<u32>,
    hits: Vec<(u32, u32)>,
    total: usize,
}

impl Builder {
    fn new(query_len: usize) -> Builder {
        Builder { tf: vec![0; query_len], df: vec![0; query_len], lens: Vec::new(), starts: Vec::new(), hits: Vec::new(), total: 0 }
    }

    fn end_doc(&mut self, len: usize) {
        self.total += len;
        self.starts.push(self.hits.len() as u32);
        self.lens.push(len as u32);
        for (i, (f, d)) in self.tf.iter_mut().zip(self.df.iter_mut()).enumerate() {
            if *f > 0 {
                self.hits.push((i as u32, *f));
                *d += 1;
                *f = 0;
            }
        }
    }

    fn finish(self, k1: f64, b: f64) -> Bm25 {
        let n = self.lens.len().max(1) as f64;
        let idf = self.df.iter().map(|&f| ((n - f as f64 + 0.5) / (f as f64 + 0.5) + 1.0).ln()).collect();
        let avgdl = (self.total as f64 / n).max(1.0);
        Bm25 { idf, avgdl, k1, b, lens: self.lens, starts: self.starts, hits: self.hits }
    }
}

/// Whether `text` contains an error word as a whole word, in any case. One pass, no allocation:
/// it runs on every string of every item.
pub fn has_error_word(text: &str) -> bool {
    let mut buf = [0u8; 16];
    let mut prev_timed = false;
    // By bytes (a multi-byte character is never ASCII alphanumeric, so it only separates).
    // Runs of separators count as one, so "timed  out" and "timed\u{a0}out" read as "timed out".
    for word in text.as_bytes().split(|b| !b.is_ascii_alphanumeric()) {
        let n = word.len();
        if n == 0 {
            continue;
        }
        if !(3..=buf.len()).contains(&n) {
            prev_timed = false;
            continue;
        }
        // Most words cannot be one: their first letter starts no error word (dates, ids, "ok").
        let first = word.first().map_or(0, u8::to_ascii_lowercase);
        if !ERROR_FIRST[first as usize] && !(prev_timed && first == b'o') {
            prev_timed = false;
            continue;
        }
        for (d, b) in buf.iter_mut().zip(word) {
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
        let ids = query_identifiers("what happened to order ord_8812 and user bob@example.com on api.example.com? see \"disk full\" 550e8400-e29b-41d4-a716-446655440000 port 8080 in us-east-1 with regex-syntax");
        for want in ["us-east-1", "regex-syntax", "ord_8812", "bob@example.com", "api.example.com", "disk full", "550e8400-e29b-41d4-a716-446655440000", "8080"] {
            assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
        }
        assert!(!ids.iter().any(|i| i == "what"));
    }

    #[test]
    fn error_words_are_whole_words() {
        assert!(has_error_word("Request FAILED with 500"));
        assert!(has_error_word("connection timed out"));
        assert!(has_error_word("connection timed\u{a0}out"));
        assert!(has_error_word("état: échec, timed  out"));
        assert!(!has_error_word("timed, then out of scope ... timed"));
        assert!(!has_error_word("errorless terrain"));
        for w in ERROR_WORDS {
            assert!(has_error_word(&format!("2026-11-21 {} x", w.to_uppercase())), "{w}");
        }
    }

    #[test]
    fn bm25_prefers_matching_docs() {
        let docs: Vec<Vec<u64>> = ["red apple pie", "green pear", "apple apple tart"].iter().map(|d| word_ids(d)).collect();
        let bm = Bm25::new(&word_ids("apple"), &docs);
        let s: Vec<f64> = (0..docs.len()).map(|d| bm.score(d)).collect();
        assert!(s[2] > s[0] && s[0] > s[1]);
    }
}
