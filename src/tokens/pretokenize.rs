//! Pretokenizers: split text into the pieces BPE runs on, exactly as tiktoken's regex patterns
//! do, hand-written (no regex engine at run time, linear time).
//!
//! The patterns, as tiktoken-rs 0.12 compiles them with fancy-regex (a backtracking engine:
//! leftmost match, alternatives tried in order, greedy quantifiers give characters back):
//!
//! o200k_base (no possessive quantifiers):
//! ```text
//! 1 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! 2 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! 3 \p{N}{1,3}
//! 4  ?[^\s\p{L}\p{N}]+[\r\n/]*
//! 5 \s*[\r\n]+
//! 6 \s+(?!\S)
//! 7 \s+
//! ```
//! cl100k_base (tiktoken's current form, with possessive quantifiers):
//! ```text
//! 1 '(?i:[sdmt]|ll|ve|re)
//! 2 [^\r\n\p{L}\p{N}]?+\p{L}++
//! 3 \p{N}{1,3}+
//! 4  ?[^\s\p{L}\p{N}]++[\r\n]*+
//! 5 \s++$
//! 6 \s*[\r\n]
//! 7 \s+(?!\S)
//! 8 \s
//! ```
//! Every character starts a match of some alternative (a letter or mark matches 1 or 2, a
//! number 3, other non-space 4, space the rest), so the splits tile the text. Each function
//! below resolves one alternative's backtracking in closed form; the comments say how.
//! Character classes come from `unicode.rs`, generated from regex-syntax's tables (the ones the
//! regex engine uses) and tested equal to them on every codepoint.

use super::unicode::{RUN_FLAGS, RUN_STARTS};
use super::Encoding;

/// `\p{L}`
pub const LETTER: u8 = 1;
/// `\p{N}`
pub const NUMBER: u8 = 2;
/// `\s` (Unicode White_Space)
pub const WHITESPACE: u8 = 4;
/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]` (o200k's "upper" class)
pub const UPPERISH: u8 = 8;
/// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]` (o200k's "lower" class)
pub const LOWERISH: u8 = 16;

/// Flags of the ASCII characters, from the same table.
static ASCII: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut cp = 0;
    while cp < 128 {
        let mut r = 0;
        while r + 1 < RUN_STARTS.len() && RUN_STARTS[r + 1] <= cp as u32 {
            r += 1;
        }
        t[cp] = RUN_FLAGS[r];
        cp += 1;
    }
    t
};

/// The class flags of a codepoint.
#[inline]
pub fn classify(cp: u32) -> u8 {
    if cp < 128 {
        return ASCII[cp as usize];
    }
    // RUN_STARTS[0] == 0, so the partition point is at least 1.
    let r = RUN_STARTS.partition_point(|&s| s <= cp);
    RUN_FLAGS[r.saturating_sub(1)]
}

/// Whether `c` matches `letter` case-insensitively (Unicode simple case folding, as `(?i)` in
/// the patterns). Only the contraction letters are needed; tested against regex-syntax.
#[inline]
pub fn folds_to(c: char, letter: char) -> bool {
    c.to_ascii_lowercase() == letter || (letter == 's' && c == '\u{17F}')
}

/// The class flags and UTF-8 length of the character starting at byte `i` (`i < s.len()`, on
/// a character boundary of valid UTF-8).
#[inline(always)]
fn class_at(s: &[u8], i: usize) -> (u8, usize) {
    let b0 = s[i];
    if b0 < 0x80 {
        return (ASCII[b0 as usize], 1);
    }
    let (cp, len) = decode(s, i);
    (classify(cp), len)
}

#[inline(always)]
fn decode(s: &[u8], i: usize) -> (u32, usize) {
    let b0 = s[i] as u32;
    let c = |k: usize| (s[i + k] & 0x3F) as u32;
    if b0 < 0x80 {
        (b0, 1)
    } else if b0 < 0xE0 {
        ((b0 & 0x1F) << 6 | c(1), 2)
    } else if b0 < 0xF0 {
        ((b0 & 0x0F) << 12 | c(1) << 6 | c(2), 3)
    } else {
        ((b0 & 0x07) << 18 | c(1) << 12 | c(2) << 6 | c(3), 4)
    }
}

/// `[^\r\n\p{L}\p{N}]`: the optional one-character prefix of words.
#[inline(always)]
fn is_prefix(flags: u8, b0: u8) -> bool {
    flags & (LETTER | NUMBER) == 0 && b0 != b'\r' && b0 != b'\n'
}

/// `[^\s\p{L}\p{N}]`: punctuation and symbols (marks included).
#[inline(always)]
fn is_other(flags: u8) -> bool {
    flags & (LETTER | NUMBER | WHITESPACE) == 0
}

/// End of the run of characters from `i` whose flags intersect `mask`.
#[inline(always)]
fn run_end(s: &[u8], mut i: usize, mask: u8) -> usize {
    while i < s.len() {
        let (f, l) = class_at(s, i);
        if f & mask == 0 {
            break;
        }
        i += l;
    }
    i
}

/// Length of the character at `i` if it case-folds to `letter`.
#[inline(always)]
fn letter_at(s: &[u8], i: usize, letter: char) -> Option<usize> {
    if i >= s.len() {
        return None;
    }
    let (cp, len) = decode(s, i);
    char::from_u32(cp).filter(|&c| folds_to(c, letter)).map(|_| len)
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i`: the end of the contraction, if one starts there.
fn contraction_end(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i) != Some(&b'\'') {
        return None;
    }
    let j = i + 1;
    for one in ['s', 't', 'm', 'd'] {
        if let Some(l) = letter_at(s, j, one) {
            return Some(j + l);
        }
    }
    for (a, b) in [('r', 'e'), ('v', 'e'), ('l', 'l')] {
        if let Some(l1) = letter_at(s, j, a) {
            if let Some(l2) = letter_at(s, j + l1, b) {
                return Some(j + l1 + l2);
            }
        }
    }
    None
}

/// o200k alternative 1 from `q` (after any prefix): `[UPPER]*[LOWER]+` then an optional
/// contraction. The greedy `[UPPER]*` takes the whole UPPER run, then gives characters back
/// until `[LOWER]+` can start: at the character after the run if it is LOWER, else at the last
/// run character that is in both classes (\p{Lm}\p{Lo}\p{M}). No such place: no match.
fn o200k_word1(s: &[u8], q: usize) -> Option<usize> {
    let mut i = q;
    let mut last_both = None;
    while i < s.len() {
        let (f, l) = class_at(s, i);
        if f & UPPERISH == 0 {
            break;
        }
        if f & LOWERISH != 0 {
            last_both = Some(i);
        }
        i += l;
    }
    let start = if i < s.len() && class_at(s, i).0 & LOWERISH != 0 { i } else { last_both? };
    let end = run_end(s, start, LOWERISH);
    Some(contraction_end(s, end).unwrap_or(end))
}

/// o200k alternative 2 from `q`: `[UPPER]+[LOWER]*` then an optional contraction (greedy, no
/// backtracking needed: it matches as soon as the first character is UPPER).
fn o200k_word2(s: &[u8], q: usize) -> Option<usize> {
    if q >= s.len() || class_at(s, q).0 & UPPERISH == 0 {
        return None;
    }
    let end = run_end(s, run_end(s, q, UPPERISH), LOWERISH);
    Some(contraction_end(s, end).unwrap_or(end))
}

/// ` ?[^\s\p{L}\p{N}]+` then a greedy run of `tail` bytes (`[\r\n/]*` or `[\r\n]*`). The
/// optional space is taken only if punctuation follows it (otherwise no match either way).
fn punct_end(s: &[u8], p: usize, f0: u8, tail: &[u8]) -> Option<usize> {
    let q = if s[p] == b' ' && p + 1 < s.len() && is_other(class_at(s, p + 1).0) {
        p + 1
    } else if is_other(f0) {
        p
    } else {
        return None;
    };
    let mut i = q;
    while i < s.len() {
        let (f, l) = class_at(s, i);
        if !is_other(f) {
            break;
        }
        i += l;
    }
    while i < s.len() && tail.contains(&s[i]) {
        i += 1;
    }
    Some(i)
}

/// A whitespace run from `p`: (end of the run, start of its last \r or \n, start of its last
/// character, number of characters up to 2).
fn space_run(s: &[u8], p: usize) -> (usize, Option<usize>, usize, usize) {
    let (mut i, mut last_nl, mut last, mut chars) = (p, None, p, 0);
    while i < s.len() {
        let (f, l) = class_at(s, i);
        if f & WHITESPACE == 0 {
            break;
        }
        if s[i] == b'\r' || s[i] == b'\n' {
            last_nl = Some(i);
        }
        last = i;
        chars = (chars + 1).min(2);
        i += l;
    }
    (i, last_nl, last, chars)
}

/// `\p{N}{1,3}` from `p` (whose character is a number).
fn digits_end(s: &[u8], p: usize) -> usize {
    let mut i = p;
    for _ in 0..3 {
        if i >= s.len() {
            break;
        }
        let (f, l) = class_at(s, i);
        if f & NUMBER == 0 {
            break;
        }
        i += l;
    }
    i
}

/// End of the o200k_base piece that starts at `p` (`p < s.len()`).
fn o200k_end(s: &[u8], p: usize) -> usize {
    let (f0, l0) = class_at(s, p);
    let prefix = is_prefix(f0, s[p]);
    // Alternative 1 (with the prefix first, then without), then alternative 2 likewise. Each
    // attempt can only match from a character in one of the word classes (from `p`, or after the
    // prefix from the next character), so the others are skipped: punctuation followed by more
    // punctuation or a digit (most of JSON and code: `":"`, `,"`, `},{"`) tries none.
    const WORDISH: u8 = UPPERISH | LOWERISH;
    let word_here = f0 & WORDISH != 0;
    let word_next = prefix && p + l0 < s.len() && class_at(s, p + l0).0 & WORDISH != 0;
    if word_next {
        if let Some(e) = o200k_word1(s, p + l0) {
            return e;
        }
    }
    if word_here {
        if let Some(e) = o200k_word1(s, p) {
            return e;
        }
    }
    if word_next {
        if let Some(e) = o200k_word2(s, p + l0) {
            return e;
        }
    }
    if word_here {
        if let Some(e) = o200k_word2(s, p) {
            return e;
        }
    }
    if f0 & NUMBER != 0 {
        return digits_end(s, p);
    }
    if let Some(e) = punct_end(s, p, f0, b"\r\n/") {
        return e;
    }
    let (end, last_nl, last, chars) = space_run(s, p);
    if let Some(nl) = last_nl {
        // 5: `\s*` gives back to the last newline of the run; `[\r\n]+` takes it alone (the
        // characters after it in the run are spaces other than \r\n).
        return nl + 1;
    }
    if end == s.len() || chars < 2 {
        // 6 at the end of the text (nothing follows), or 7 for a single space.
        return end;
    }
    // 6: `(?!\S)` fails after the whole run, so the run minus its last character.
    last
}

/// End of the cl100k_base piece that starts at `p` (`p < s.len()`).
fn cl100k_end(s: &[u8], p: usize) -> usize {
    if let Some(e) = contraction_end(s, p) {
        return e;
    }
    let (f0, l0) = class_at(s, p);
    if is_prefix(f0, s[p]) {
        // 2 with the possessive prefix taken: a letter must follow, else 2 fails.
        let q = p + l0;
        if q < s.len() && class_at(s, q).0 & LETTER != 0 {
            return run_end(s, q, LETTER);
        }
    } else if f0 & LETTER != 0 {
        return run_end(s, p, LETTER);
    }
    if f0 & NUMBER != 0 {
        return digits_end(s, p);
    }
    if let Some(e) = punct_end(s, p, f0, b"\r\n") {
        return e;
    }
    let (end, last_nl, last, chars) = space_run(s, p);
    if end == s.len() {
        return end; // 5
    }
    if let Some(nl) = last_nl {
        return nl + 1; // 6
    }
    if chars >= 2 {
        last // 7
    } else {
        end // 8
    }
}

/// End of the piece of `enc` that starts at byte `p` of `s` (`p < s.len()`, on a character
/// boundary); always past `p`.
#[inline]
pub(crate) fn piece_end(enc: Encoding, s: &[u8], p: usize) -> usize {
    let e = match enc {
        Encoding::O200kBase => o200k_end(s, p),
        Encoding::Cl100kBase => cl100k_end(s, p),
    };
    if e > p {
        e
    } else {
        // Unreachable (every character starts a match); never loop forever regardless.
        p + class_at(s, p).1
    }
}

/// The pieces `enc`'s pattern splits `text` into, in order (they concatenate to `text`).
pub fn split(enc: Encoding, text: &str) -> Pieces<'_> {
    Pieces { enc, text, pos: 0 }
}

/// Iterator returned by [`split`].
pub struct Pieces<'a> {
    enc: Encoding,
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        self.pos = piece_end(self.enc, self.text.as_bytes(), start);
        self.text.get(start..self.pos)
    }
}
