//! Content-type detection for routing tool outputs to a compressor. It runs on every tool
//! output, so it looks only at a bounded sample (the first 200 lines within 64 KB) and every
//! check is linear in that sample.

use super::search;
use super::text_common::{prefix, strip_end};
use serde::Serialize;
use serde_json::{Map, Value};

/// Bytes of the input looked at.
const SAMPLE_BYTES: usize = 64 * 1024;
/// Lines of the sample looked at.
const SAMPLE_LINES: usize = 200;
/// Largest input parsed in full to confirm JSON.
const JSON_PARSE_MAX: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    Json,
    SearchResults,
    BuildOutput,
    Diff,
    Html,
    SourceCode,
    PlainText,
}

/// What `detect_content_type` found: the type, how sure it is (0–1), and details such as the
/// build tool (`{"tool": "pytest"}`).
#[derive(Clone, Debug, Serialize)]
pub struct Detection {
    pub content_type: ContentType,
    pub confidence: f64,
    pub metadata: Map<String, Value>,
}

impl Detection {
    fn new(content_type: ContentType, confidence: f64) -> Detection {
        Detection { content_type, confidence: (confidence * 100.0).round() / 100.0, metadata: Map::new() }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Detection {
        self.metadata.insert(key.to_string(), value.into());
        self
    }
}

/// Detects what `content` is; see the module docs.
pub fn detect_content_type(content: &str) -> Detection {
    let sample = prefix(content, SAMPLE_BYTES);
    let lines: Vec<&str> = sample.split_inclusive('\n').take(SAMPLE_LINES).collect();
    let trimmed = sample.trim_start();
    let nonblank = lines.iter().filter(|l| !l.trim().is_empty()).count();
    if nonblank == 0 {
        return Detection::new(ContentType::PlainText, 0.5);
    }

    if let Some(d) = detect_json(content) {
        return d;
    }
    if let Some(d) = detect_diff(&lines) {
        return d;
    }
    if let Some(d) = detect_html(trimmed, &lines) {
        return d;
    }
    let (matches, rows, seen) = search::sample_stats(&lines);
    if seen > 0 && matches > 0 && rows * 10 >= seen * 6 {
        let share = rows as f64 / seen as f64;
        return Detection::new(ContentType::SearchResults, 0.5 + 0.5 * share).with("matches", matches as u64);
    }
    if let Some(d) = detect_build(&lines, nonblank) {
        return d;
    }
    if let Some(d) = detect_code(&lines, nonblank) {
        return d;
    }
    Detection::new(ContentType::PlainText, 0.6)
}

/// Whether `content` is shaped like a JSON object or array: it starts with `{` or `[` and ends
/// with the matching bracket (whitespace aside). Only a parse confirms it.
pub fn json_shaped(content: &str) -> bool {
    let t = content.trim();
    matches!((t.as_bytes().first(), t.as_bytes().last()), (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']')))
}

fn detect_json(content: &str) -> Option<Detection> {
    if !json_shaped(content) {
        return None;
    }
    if content.len() <= JSON_PARSE_MAX {
        // Validated without building it (detection runs on every tool output; the router's
        // parser builds the value once, if it is used).
        return serde_json::from_str::<JsonShape>(content).ok().map(|shape| {
            let d = Detection::new(ContentType::Json, 1.0);
            match shape {
                JsonShape::Array(n) => d.with("kind", "array").with("items", n as u64),
                JsonShape::Other => d.with("kind", "object"),
            }
        });
    }
    // Too big to parse here: the shape is a strong hint, the router's parser decides.
    Some(Detection::new(ContentType::Json, 0.7))
}

/// A JSON document's top level, read without allocating: an array's length, or anything else.
enum JsonShape {
    Array(usize),
    Other,
}

impl<'de> serde::Deserialize<'de> for JsonShape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<JsonShape, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct Shape;
        impl<'de> Visitor<'de> for Shape {
            type Value = JsonShape;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonShape, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(JsonShape::Array(n))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonShape, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonShape::Other)
            }
        }
        d.deserialize_any(Shape)
    }
}

fn detect_diff(lines: &[&str]) -> Option<Detection> {
    let mut headers = 0;
    let mut hunks = 0;
    let mut git = false;
    for l in lines {
        let s = strip_end(l);
        if s.starts_with("diff --git ") {
            git = true;
            headers += 1;
        } else if s.starts_with("--- ") || s.starts_with("+++ ") || s.starts_with("diff -") {
            headers += 1;
        } else if s.starts_with("@@ -") && s.get(4..).is_some_and(|r| r.contains(" @@")) {
            hunks += 1;
        }
    }
    if hunks == 0 || headers == 0 {
        return None;
    }
    let d = Detection::new(ContentType::Diff, if headers >= 2 { 0.95 } else { 0.8 }).with("hunks", hunks as u64);
    Some(if git { d.with("format", "git") } else { d.with("format", "unified") })
}

fn detect_html(trimmed: &str, lines: &[&str]) -> Option<Detection> {
    let head = prefix(trimmed, 256).to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Some(Detection::new(ContentType::Html, 0.95));
    }
    // Markup starts with a tag; only then are its lines scanned for tags.
    if !trimmed.starts_with('<') {
        return None;
    }
    let tags = ["<div", "<p>", "<p ", "<span", "<a href", "<table", "<body", "<head", "<script", "<li>", "</div>", "<br"];
    let hits = lines.iter().filter(|l| l.contains('<') && { let s = l.to_ascii_lowercase(); tags.iter().any(|t| s.contains(t)) }).count();
    (hits * 3 >= lines.len().max(1)).then(|| Detection::new(ContentType::Html, 0.75))
}

/// Markers of each build tool: (tool, needles, weight). A needle is matched against a line's
/// trimmed start (`^`) or anywhere in it.
fn tool_score(s: &str, t: &str) -> Option<&'static str> {
    let starts = |p: &str| t.starts_with(p);
    if t.contains("test session starts") || (t.contains("::") && (t.contains(" PASSED") || t.contains(" FAILED"))) || starts("collected ") && t.ends_with(" items") {
        return Some("pytest");
    }
    if starts("Compiling ") && t.contains(" v") || starts("error[E") || starts("test result:") || (starts("test ") && t.ends_with(" ... ok")) || starts("Finished `") || starts("Running unittests") || starts("error: could not compile") {
        return Some("cargo");
    }
    if starts("npm ") || starts("added ") && t.contains(" packages") {
        return Some("npm");
    }
    if starts("PASS ") || starts("FAIL ") || starts("Tests:") || starts("Test Suites:") || starts("✓") || starts("✕") {
        return Some("jest");
    }
    if starts("=== RUN") || starts("--- PASS") || starts("--- FAIL") || s.starts_with("ok  \t") || s.starts_with("FAIL\t") {
        return Some("go");
    }
    if starts("make: ") || starts("make[") || starts("gcc ") || starts("cc ") || starts("g++ ") {
        return Some("make");
    }
    if starts("Collecting ") || starts("Successfully installed") || starts("Requirement already satisfied") || starts("Downloading ") && t.contains(".whl") || starts("Installing collected packages") {
        return Some("pip");
    }
    if starts("Get:") || starts("Hit:") || starts("Reading package lists") || starts("Setting up ") || starts("Unpacking ") || starts("Selecting previously unselected") {
        return Some("apt");
    }
    None
}

/// A line that starts like a log record: a timestamp or a level word.
fn is_log_record(t: &str) -> bool {
    let levels = ["INFO", "WARN", "WARNING", "ERROR", "DEBUG", "TRACE", "FATAL", "CRITICAL", "[INFO]", "[WARN]", "[ERROR]", "[DEBUG]"];
    let first = t.split_whitespace().next().unwrap_or("");
    let b = t.as_bytes();
    let timestamp = b.len() > 10
        && b.iter().take(4).all(u8::is_ascii_digit)
        && matches!(b.get(4), Some(b'-' | b'/'))
        && b.get(5..7).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let clock = b.len() > 8 && b.get(2) == Some(&b':') && b.get(5) == Some(&b':') && b.iter().take(2).all(u8::is_ascii_digit);
    timestamp || clock || t.starts_with('[') && t.get(1..5).is_some_and(|x| x.bytes().all(|c| c.is_ascii_digit())) || levels.iter().any(|l| first.trim_end_matches(':') == *l)
}

fn detect_build(lines: &[&str], nonblank: usize) -> Option<Detection> {
    let tools = ["pytest", "cargo", "npm", "jest", "go", "make", "pip", "apt"];
    let mut counts = [0usize; 8];
    let mut records = 0;
    for l in lines {
        let s = strip_end(l);
        let t = s.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(tool) = tool_score(s, t) {
            if let Some(i) = tools.iter().position(|x| *x == tool) {
                if let Some(c) = counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
        records += usize::from(is_log_record(t));
    }
    let (best, &n) = counts.iter().enumerate().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))?;
    let share = n as f64 / nonblank as f64;
    if n >= 3 || (n >= 1 && share >= 0.2) {
        let tool = tools.get(best).copied().unwrap_or("generic");
        return Some(Detection::new(ContentType::BuildOutput, (0.6 + share).min(0.95)).with("tool", tool));
    }
    let rshare = records as f64 / nonblank as f64;
    if records >= 3 && rshare >= 0.3 {
        return Some(Detection::new(ContentType::BuildOutput, (0.5 + rshare / 2.0).min(0.9)).with("tool", "generic"));
    }
    None
}

fn detect_code(lines: &[&str], nonblank: usize) -> Option<Detection> {
    const STARTS: &[(&str, &str)] = &[
        ("fn ", "rust"), ("pub fn ", "rust"), ("pub struct ", "rust"), ("impl ", "rust"), ("use ", "rust"), ("let ", ""),
        ("def ", "python"), ("class ", ""), ("import ", ""), ("from ", "python"), ("function ", "javascript"),
        ("const ", ""), ("export ", "javascript"), ("#include", "c"), ("package ", "go"), ("func ", "go"), ("public ", ""),
        ("private ", ""), ("return ", ""), ("if (", ""), ("for (", ""), ("#[", "rust"), ("@", ""), ("}", ""), ("var ", ""),
    ];
    let mut code = 0usize;
    let mut langs: Vec<&str> = Vec::new();
    for l in lines {
        let t = strip_end(l).trim();
        if t.is_empty() {
            continue;
        }
        let kw = STARTS.iter().find(|(p, _)| t.starts_with(p));
        let punct = t.ends_with(';') || t.ends_with('{') || t.ends_with('}') || t.starts_with("//");
        if kw.is_some() || punct {
            code += 1;
        }
        if let Some((_, lang)) = kw {
            if !lang.is_empty() {
                langs.push(lang);
            }
        }
    }
    let share = code as f64 / nonblank as f64;
    if code < 3 || share < 0.3 {
        return None;
    }
    let mut d = Detection::new(ContentType::SourceCode, (0.4 + share).min(0.9));
    let mut best: Option<(&str, usize)> = None;
    for l in &langs {
        let c = langs.iter().filter(|x| *x == l).count();
        if best.is_none_or(|(_, b)| c > b) {
            best = Some((l, c));
        }
    }
    if let Some((lang, _)) = best {
        d = d.with("language", lang);
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_kinds() {
        assert_eq!(detect_content_type("").content_type, ContentType::PlainText);
        assert_eq!(detect_content_type("[1, 2, 3]").content_type, ContentType::Json);
        assert_eq!(detect_content_type("src/main.py:42:def process():").content_type, ContentType::SearchResults);
        assert_eq!(detect_content_type("<!DOCTYPE html><html></html>").content_type, ContentType::Html);
        let j = serde_json::to_string(&ContentType::SearchResults).unwrap_or_default();
        assert_eq!(j, "\"search_results\"");
    }
}
