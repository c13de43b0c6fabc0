//! Mixed content: a tool output or document that mixes prose with fenced code blocks and JSON
//! blocks (a README-like answer, an agent's scratchpad with a JSON blob and a log excerpt). It is
//! split into parts, each part is routed on its own (JSON to SmartCrusher, a log, diff or search
//! excerpt to its compressor, prose to the text compressor, code kept verbatim), and the parts
//! are put back in order with every fence line untouched. Splitting is linear in the input: fence
//! lines are found in one pass and unfenced JSON is parsed only where a line opens with `{`/`[`,
//! with a budget on the bytes parsed.

use super::text_common::prefix;

/// What a part of a mixed document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKind {
    /// Text outside any fence or JSON block.
    Prose,
    /// The body of a fenced block (between its opening and closing fence lines). `info` is the
    /// fence's info string (`json`, `rust`, ...), lowercased, first word only.
    Fenced { info: String },
    /// A JSON object or array standing on its own lines outside a fence.
    Json,
}

/// One contiguous piece of the input. `start..end` is the piece's own content; for a fenced
/// block, `head` is the opening fence line and `tail` the closing one (both with their line
/// terminators), which are written back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub kind: PartKind,
    pub head: String,
    pub body: String,
    pub tail: String,
}

/// Unfenced JSON on a single line counts as a block only from this many bytes (shorter ones are
/// inline values, or records of a JSON-lines log).
const ONE_LINE_JSON_MIN: usize = 400;

/// An opening fence: (fence char, run length, info word) when `line` opens one.
fn opening_fence(line: &str) -> Option<(u8, usize, String)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let t = &line[indent..];
    let c = *t.as_bytes().first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let run = t.bytes().take_while(|&b| b == c).count();
    if run < 3 {
        return None;
    }
    let info = t[run..].trim();
    if c == b'`' && info.contains('`') {
        return None;
    }
    let word = info.split(|ch: char| ch.is_whitespace() || ch == '{' || ch == ',').next().unwrap_or("");
    Some((c, run, word.to_ascii_lowercase()))
}

fn closes_fence(line: &str, c: u8, run: usize) -> bool {
    let t = line.trim_end_matches(['\n', '\r']);
    let indent = t.len() - t.trim_start_matches(' ').len();
    if indent > 3 {
        return false;
    }
    let t = &t[indent..];
    let n = t.bytes().take_while(|&b| b == c).count();
    n >= run && t[n..].trim().is_empty()
}

/// Where a JSON value that starts at `text[0]` ends, if it parses and is followed only by
/// whitespace up to the end of its line: `Ok(end of that line, terminator included)`. Otherwise
/// `Err(bytes the parser read)`, so the caller can charge them to its budget.
fn json_block_end(text: &str) -> Result<usize, usize> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    match stream.next() {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(error_offset(text, e.line(), e.column())),
        None => return Err(text.len()),
    }
    let end = stream.byte_offset();
    let rest = &text[end..];
    let line_end = rest.find('\n').map_or(text.len(), |i| end + i + 1);
    if text[end..line_end].trim().is_empty() {
        Ok(line_end)
    } else {
        Err(line_end)
    }
}

/// The byte offset of a 1-based (line, column) position in `text`.
fn error_offset(text: &str, line: usize, column: usize) -> usize {
    let mut off = 0;
    for _ in 1..line {
        match text[off..].find('\n') {
            Some(i) => off += i + 1,
            None => return text.len(),
        }
    }
    (off + column).min(text.len())
}

fn starts_json(line: &str) -> bool {
    line.starts_with('{') || line.starts_with('[')
}

/// Splits `content` into parts if it is mixed: at least one fenced block or JSON block, and
/// something else beside it (prose, or another block). `None` when there is nothing to split.
pub fn split(content: &str) -> Option<Vec<Part>> {
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    let mut parts: Vec<Part> = Vec::new();
    let mut prose = String::new();
    // Bytes handed to the JSON parser: bounded so that many lines opening with `[` cannot make
    // the split quadratic.
    let mut json_budget = content.len().saturating_mul(4).max(1 << 16);
    let flush = |prose: &mut String, parts: &mut Vec<Part>| {
        if !prose.is_empty() {
            parts.push(Part { kind: PartKind::Prose, head: String::new(), body: std::mem::take(prose), tail: String::new() });
        }
    };
    let mut offsets = Vec::with_capacity(lines.len() + 1);
    let mut pos = 0;
    for l in &lines {
        offsets.push(pos);
        pos += l.len();
    }
    offsets.push(pos);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some((c, run, info)) = opening_fence(line.trim_end_matches(['\n', '\r'])) {
            let close = (i + 1..lines.len()).find(|&j| closes_fence(lines[j], c, run));
            flush(&mut prose, &mut parts);
            let body_end = close.unwrap_or(lines.len());
            let body: String = lines[i + 1..body_end].concat();
            let tail = close.map_or(String::new(), |j| lines[j].to_string());
            parts.push(Part { kind: PartKind::Fenced { info }, head: line.to_string(), body, tail });
            i = close.map_or(lines.len(), |j| j + 1);
            continue;
        }
        if starts_json(line) && json_budget > 0 {
            let rest = prefix(&content[offsets[i]..], json_budget);
            match json_block_end(rest) {
                Ok(end) => {
                    json_budget = json_budget.saturating_sub(end);
                    let block = &rest[..end];
                    let multi_line = block.trim_end().contains('\n');
                    let neighbours_json = (i > 0 && starts_json(lines[i - 1]))
                        || lines.get(i + 1).is_some_and(|l| starts_json(l));
                    if multi_line || (block.len() >= ONE_LINE_JSON_MIN && !neighbours_json) {
                        flush(&mut prose, &mut parts);
                        parts.push(Part { kind: PartKind::Json, head: String::new(), body: block.to_string(), tail: String::new() });
                        // The block ends at a line end: skip the lines it covers.
                        let stop = offsets[i] + end;
                        while i < lines.len() && offsets[i] < stop {
                            i += 1;
                        }
                        continue;
                    }
                }
                Err(read) => json_budget = json_budget.saturating_sub(read.max(1)),
            }
        }
        prose.push_str(line);
        i += 1;
    }
    flush(&mut prose, &mut parts);
    let blocks = parts.iter().filter(|p| p.kind != PartKind::Prose).count();
    let has_prose = parts.iter().any(|p| p.kind == PartKind::Prose && !p.body.trim().is_empty());
    (blocks >= 1 && (has_prose || blocks >= 2)).then_some(parts)
}

/// Writes the parts back in order. `join(&split(x)) == x` for every input that splits.
pub fn join(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        out.push_str(&p.head);
        out.push_str(&p.body);
        out.push_str(&p.tail);
    }
    out
}

/// Info strings of fenced blocks whose body is JSON, a diff, or tool output rather than code.
pub fn info_hint(info: &str) -> Option<&'static str> {
    match info {
        "json" | "jsonc" | "json5" | "geojson" => Some("json"),
        "diff" | "patch" | "udiff" => Some("diff"),
        "log" | "logs" | "console" | "output" | "text" | "txt" | "plaintext" | "" => Some("output"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_joins_back() {
        let doc = "Intro text.\n\n```json\n{\"a\": 1}\n```\nMiddle.\n{\n  \"b\": [1, 2]\n}\n~~~~\ncode ``` inside\n~~~~\nEnd";
        let parts = split(doc).unwrap_or_default();
        assert!(!parts.is_empty(), "mixed");
        assert_eq!(join(&parts), doc);
        let kinds: Vec<&PartKind> = parts.iter().map(|p| &p.kind).collect();
        assert_eq!(
            kinds,
            vec![
                &PartKind::Prose,
                &PartKind::Fenced { info: "json".into() },
                &PartKind::Prose,
                &PartKind::Json,
                &PartKind::Fenced { info: String::new() },
                &PartKind::Prose
            ]
        );
        assert_eq!(parts[3].body, "{\n  \"b\": [1, 2]\n}\n");
        assert_eq!(parts[4].body, "code ``` inside\n");
    }

    #[test]
    fn not_mixed() {
        assert!(split("just prose\nand more\n").is_none());
        assert!(split("{\"a\": 1}").is_none());
        // JSON-lines records are not blocks.
        assert!(split("{\"level\":\"info\"}\n{\"level\":\"warn\"}\n").is_none());
        // An unclosed fence runs to the end and still joins back.
        let doc = "text\n```rust\nfn main() {}\n";
        let parts = split(doc).unwrap_or_default();
        assert!(!parts.is_empty(), "mixed");
        assert_eq!(join(&parts), doc);
        assert_eq!(parts[1].tail, "");
    }

    #[test]
    fn awkward_inputs_join_back() {
        let inputs = [
            "",
            "```",
            "```\n```",
            "   ```json\n{\"é\": \"ü\"}\n   ```\r\nafter\r\n",
            "text\n{\"a\":\n\"é€\" oops\n}\n[1,\n2]\n",
            "~~~\n```\n~~~\n```\n",
            "\u{1F600}\n```\u{1F600}\nx\n```\n{\n}\n",
            "[\n{\"a\": [\n1]}\n] trailing\n[2,\n3]\nend",
        ];
        for doc in inputs {
            if let Some(parts) = split(doc) {
                assert_eq!(join(&parts), doc, "{doc:?}");
            }
        }
    }

    #[test]
    fn bracket_lines_stay_linear() {
        // Each failed attempt is charged to a budget of a few times the input's size.
        let doc = "[\n".repeat(20_000) + "text";
        assert!(split(&doc).is_none());
        let doc = "{\"a\":\n".repeat(20_000) + "text";
        assert!(split(&doc).is_none());
    }
}
