//! The request parser: the same `serde_json::Value` as `serde_json::from_str`, without its
//! scratch buffer. serde_json unescapes a string with escapes into a scratch vector that grows by
//! doubling, then copies it into the value: a 10 MB tool output inside a request (every `\n` an
//! escape) held the request, a 16 MB scratch and the 10 MB string at once, the peak of a whole
//! compression (2.6x the output natively, 4.6x in wasm). Here each string is measured first and
//! decoded straight into a string of that size.
//!
//! `parse` accepts a subset of what serde_json accepts and returns `None` for everything else
//! (malformed input, nesting past [`MAX_DEPTH`]): the caller then runs serde_json, whose error
//! (or value) is the answer. So it never accepts what serde_json rejects, and never builds a
//! different value (tested against serde_json below).

use serde_json::{Map, Number, Value};
use std::str::FromStr;

/// Deeper nesting goes to serde_json (whose own limit is 128).
const MAX_DEPTH: usize = 100;

/// `Some(value)` exactly when `serde_json::from_str::<Value>(text)` gives that value, or `None`
/// (see the module docs).
#[cfg(test)]
pub(crate) fn parse(text: &str) -> Option<Value> {
    parse_within(text, MAX_DEPTH)
}

/// `Some(value)` exactly when `serde_json::from_str::<Value>(text)` gives that value and the
/// document nests at most `max_depth` deep (capped at [`MAX_DEPTH`]), or `None` (see the module
/// docs): the engine's depth limit needs no scan of its own for what this accepts.
pub(crate) fn parse_within(text: &str, max_depth: usize) -> Option<Value> {
    let mut p = Parser { s: text.as_bytes(), text, i: 0, max_depth: max_depth.min(MAX_DEPTH) };
    let v = p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.s.get(self.i) == Some(&b)).then(|| self.i += 1)
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' if depth < self.max_depth => {
                self.i += 1;
                self.object(depth + 1)
            }
            b'[' if depth < self.max_depth => {
                self.i += 1;
                self.array(depth + 1)
            }
            b'"' => {
                self.i += 1;
                self.string().map(Value::String)
            }
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Option<Value> {
        let end = self.i + word.len();
        (self.s.get(self.i..end) == Some(word.as_bytes())).then(|| {
            self.i = end;
            v
        })
    }

    /// After a member or an element: `Some(true)` at the closing `close` (consumed), `Some(false)`
    /// after a comma (consumed), `None` otherwise.
    fn closes(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let b = *self.s.get(self.i)?;
        self.i += 1;
        match b {
            b',' => Some(false),
            _ if b == close => Some(true),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<Value> {
        let mut map = Map::new();
        self.ws();
        if self.eat(b'}').is_none() {
            loop {
                self.ws();
                self.eat(b'"')?;
                let key = self.string()?;
                self.ws();
                self.eat(b':')?;
                let v = self.value(depth)?;
                // As serde_json: a repeated key keeps its first position and its last value.
                map.insert(key, v);
                if self.closes(b'}')? {
                    break;
                }
            }
        }
        Some(Value::Object(map))
    }

    fn array(&mut self, depth: usize) -> Option<Value> {
        let mut items = Vec::new();
        self.ws();
        if self.eat(b']').is_none() {
            loop {
                items.push(self.value(depth)?);
                if self.closes(b']')? {
                    break;
                }
            }
        }
        Some(Value::Array(items))
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, converted by serde_json itself (numbers
    /// are kept as their text with `arbitrary_precision`).
    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > from
        };
        let _ = self.eat(b'-');
        if self.eat(b'0').is_none() && !digits(self) {
            return None;
        }
        if self.eat(b'.').is_some() && !digits(self) {
            return None;
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        // A digit right after a leading zero (`01`) is not JSON.
        if self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        Number::from_str(self.text.get(start..self.i)?).ok().map(Value::Number)
    }

    /// The string whose opening quote was just read; the position ends after its closing quote.
    fn string(&mut self) -> Option<String> {
        // Pass 1: find the closing quote (the raw length bounds the decoded length).
        let start = self.i;
        let mut j = start;
        let mut escaped = false;
        loop {
            j = plain_run_end(self.s, j);
            match *self.s.get(j)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    j += 2;
                }
                // Raw control characters are not allowed in JSON strings.
                0..=0x1f => return None,
                _ => j += 1,
            }
        }
        let raw = self.text.get(start..j)?;
        self.i = j + 1;
        if !escaped {
            return Some(raw.to_string());
        }
        // Pass 2: decode into a string of the raw length (escapes only shrink).
        let mut out = String::with_capacity(raw.len());
        let b = raw.as_bytes();
        let mut k = 0;
        while k < b.len() {
            let next = b.get(k..)?.iter().position(|&c| c == b'\\').map_or(b.len(), |p| k + p);
            out.push_str(raw.get(k..next)?);
            if next == b.len() {
                break;
            }
            k = next + 2;
            match *b.get(next + 1)? {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = hex4(b.get(k..k + 4)?)?;
                    k += 4;
                    let c = match hi {
                        0xD800..=0xDBFF => {
                            // A high surrogate must be followed by an escaped low one.
                            if b.get(k..k + 2)? != b"\\u" {
                                return None;
                            }
                            let lo = hex4(b.get(k + 2..k + 6)?)?;
                            if !(0xDC00..=0xDFFF).contains(&lo) {
                                return None;
                            }
                            k += 6;
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                        }
                        0xDC00..=0xDFFF => return None,
                        _ => char::from_u32(hi)?,
                    };
                    out.push(c);
                }
                _ => return None,
            }
        }
        // Escapes shrank it: give back a large unused tail (in place; the string lives long).
        if out.capacity() - out.len() > out.len() / 8 {
            out.shrink_to_fit();
        }
        Some(out)
    }
}

/// The first index from `i` whose byte is a quote, a backslash or a control character (or the
/// end): 8 bytes at a time while none of them is (long strings are most of a large request).
fn plain_run_end(s: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether any byte of `x` is zero (exact as a yes/no answer).
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        // Bytes below 0x20 are those whose top three bits are all clear.
        if has_zero(x ^ (ONES * u64::from(b'"'))) || has_zero(x ^ (ONES * u64::from(b'\\'))) || has_zero(x & (ONES * 0xE0)) {
            break;
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

fn hex4(b: &[u8]) -> Option<u32> {
    let mut n = 0;
    for &c in b {
        n = n * 16 + (c as char).to_digit(16)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `parse` against serde_json on `text`: whatever `parse` accepts, serde_json accepts
    /// with the same value.
    fn agrees(text: &str) -> bool {
        let ours = parse(text);
        let theirs = serde_json::from_str::<Value>(text).ok();
        match ours {
            Some(v) => theirs.as_ref() == Some(&v) && v.to_string() == theirs.map(|t| t.to_string()).unwrap_or_default(),
            None => true,
        }
    }

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    fn random_value(r: &mut Rng, depth: usize) -> Value {
        const STRINGS: &[&str] = &["", "a", "line\nnext\ttab", "quote \" back \\ slash /", "é 中 🎉", "\u{1}\u{1f}", "\u{7f}\u{2028}"];
        const NUMBERS: &[&str] = &["0", "-0", "1", "-12", "3.25", "1e5", "1E-7", "-0.0", "12345678901234567890123", "1.5e+300"];
        match r.below(if depth > 4 { 4 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(r.below(2) == 0),
            2 => Value::Number(Number::from_str(NUMBERS[r.below(NUMBERS.len())]).unwrap_or_else(|_| Number::from(0))),
            3 => Value::String(STRINGS[r.below(STRINGS.len())].repeat(1 + r.below(3))),
            4 | 5 => Value::Array((0..r.below(5)).map(|_| random_value(r, depth + 1)).collect()),
            _ => {
                let mut m = Map::new();
                for _ in 0..r.below(5) {
                    m.insert(STRINGS[r.below(STRINGS.len())].to_string(), random_value(r, depth + 1));
                }
                Value::Object(m)
            }
        }
    }

    #[test]
    fn same_values_as_serde_json() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for _ in 0..3000 {
            let v = random_value(&mut r, 0);
            for text in [v.to_string(), serde_json::to_string_pretty(&v).unwrap_or_default()] {
                assert!(parse(&text).as_ref() == Some(&v), "{text}");
                accepted += 1;
                // Mutations: whatever we accept of them, serde_json accepts the same way.
                let b = text.as_bytes();
                for _ in 0..4 {
                    let at = r.below(b.len() + 1);
                    let noise = [b'"', b'\\', b',', b':', b'}', b']', b'0', b'-', b'e', b'u', b' ', 0x01][r.below(12)];
                    let mut m = b.to_vec();
                    match r.below(3) {
                        0 if at < m.len() => {
                            m.remove(at);
                        }
                        1 => m.insert(at, noise),
                        _ if at < m.len() => m[at] = noise,
                        _ => {}
                    }
                    if let Ok(s) = String::from_utf8(m) {
                        assert!(agrees(&s), "{s:?}");
                    }
                }
            }
        }
        assert!(accepted > 0);
    }

    #[test]
    fn edge_cases_agree() {
        let cases = [
            r#""\ud83d\ude00""#, r#""\ud83d""#, r#""\ude00""#, r#""\ud83dx""#, r#""\u00e9\u0000""#, r#""\x""#, "\"a\u{1}\"",
            "01", "-", "1.", ".5", "1e", "1e+", "-01", "0.0e0", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[] ", " {} ", "[1] x",
            "{\"a\":1,\"a\":2,\"b\":3}", "nul", "true false", "\"unterminated", "[\"\\", "1 2",
        ];
        for c in cases {
            assert!(agrees(c), "{c}");
        }
        assert_eq!(parse(r#""\ud83d\ude00""#), Some(Value::String("😀".into())));
        assert_eq!(parse(r#"{"a":1,"a":2,"b":3}"#).map(|v| v.to_string()), Some(r#"{"a":2,"b":3}"#.to_string()));
        assert!(parse("01").is_none() && parse(r#""\ud83d""#).is_none() && parse("[1,]").is_none());
        // Past MAX_DEPTH: left to serde_json.
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).is_none() && serde_json::from_str::<Value>(&deep).is_ok());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_some());
        // Held to a lower limit: nesting 5 passes a limit of 5, not of 4.
        let five = "[[[[{\"a\":1}]]]]";
        assert!(parse_within(five, 5).is_some() && parse_within(five, 4).is_none());
    }
}
