// Invariants as property tests over generated requests in all three provider formats (issue 10).
//
// A seeded generator (xorshift; no dependency, so the same file runs as wasm) builds agent
// conversations: a system prompt (sometimes with a date), user and assistant text (some of it
// non-ASCII), images, tool calls (parallel ones too) with results that are JSON arrays and
// objects, build logs, grep output, diffs, prose (slices of the real tool outputs in
// tests/fixtures/text) and small outputs. Each is rendered as an OpenAI, Anthropic and Google
// request and compressed under two configs: the defaults, and an eager one (a small context
// limit so RollingWindow drops turns, CacheAligner `rewrite`, low compressor thresholds), and the
// eager one again with half the messages declared frozen; some Anthropic requests carry a
// `cache_control` breakpoint of their own.
// Checked on every result:
// - the output parses as the same provider's format, and its shape is detected as that provider;
// - the frozen prefix (up to the last cache breakpoint, or `frozenMessages`) is unchanged, byte
//   for byte, unless RollingWindow could fit the request no other way and warned;
// - every tool call keeps its result and every result its call; Anthropic and Google turns
//   alternate, starting with a user turn;
// - user and assistant text, tool-call arguments and the system prompt are unchanged, unless a
//   configured transform says so: CacheAligner's rewrite (then `cache_aligner` is in
//   `transformsApplied`) or RollingWindow's drop (then `rolling_window` is, a marker message
//   takes the dropped messages' place, and its hash retrieves them);
// - every changed tool output is either lossless (decodes to the same JSON) or carries a marker
//   whose hash retrieves the exact original;
// - tokens after <= tokens before (plus the few tokens the cache steps add on purpose, only when
//   they ran); deterministic (a fresh engine gives the same bytes); idempotent; audit mode
//   changes nothing.
// `HEADROOM_PROP_CASES` (native only) sets the number of generated conversations (default 24).

use headroom::message::{BlockKind, Origin};
use headroom::transforms::search;
use headroom::{decode_table, detect_provider, find_markers, Config, Conversation, Headroom, Mode, Provider, RequestOptions, Role};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const LOGS: &[&str] = &[
    include_str!("fixtures/text/log_cargo_build_fail.txt"),
    include_str!("fixtures/text/log_cargo_test_fail.txt"),
    include_str!("fixtures/text/log_npm_install.txt"),
    include_str!("fixtures/text/log_pip_install.txt"),
    include_str!("fixtures/text/log_pytest_fail.txt"),
];
const SEARCH: &[&str] = &[include_str!("fixtures/text/search_context_peek_error.txt"), include_str!("fixtures/text/search_serde_json_fn.txt")];
const DIFFS: &[&str] = &[include_str!("fixtures/text/diff_clap_builder.txt"), include_str!("fixtures/text/diff_serde_json.txt")];
const PROSE: &[&str] = &[include_str!("fixtures/text/prose_man_grep.txt"), include_str!("fixtures/text/prose_regex_changelog.md")];

const WORDS: &[&str] = &[
    "the", "build", "failed", "again", "why", "does", "serde_json", "parse", "this", "error", "in", "src/main.rs", "line",
    "42", "please", "check", "which", "version", "we", "use", "naïve", "café", "日本語", "🙏", "id", "7", "latest", "log",
    // JSON-significant and look-alike text: quotes, backslashes, control characters, markup, and
    // a marker the engine never made (it must be left alone, never taken for one of its own).
    "\"quoted\"", "C:\\Users\\x", "tab\there", "<b>bold</b>", "\u{0}",
    "[headroom: 3 rows omitted; retrieve the original with headroom_retrieve hash=0123456789abcdef01234567]",
];

/// xorshift64: small, fast, the same sequence on every target.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn words(&mut self, n: usize) -> String {
        (0..n).map(|_| *self.pick(WORDS)).collect::<Vec<_>>().join(" ")
    }
    /// A run of whole lines from one of `texts`.
    fn slice(&mut self, texts: &[&str]) -> String {
        let lines: Vec<&str> = self.pick(texts).lines().collect();
        let len = *self.pick(&[8usize, 40, 150, 400]);
        let start = self.below(lines.len().saturating_sub(len).max(1));
        lines[start..(start + len).min(lines.len())].join("\n")
    }
}

/// A tool output: its text, and the JSON value when it is one (Google can carry it as an object).
#[derive(Clone)]
struct Output {
    text: String,
    json: Option<Value>,
}

fn records(r: &mut Rng) -> Value {
    let n = *r.pick(&[3usize, 12, 40, 90]);
    let nested = r.chance(30);
    Value::Array(
        (0..n)
            .map(|i| {
                let status = if r.chance(8) { "failed" } else { "ok" };
                let mut item = json!({"id": i, "name": format!("item-{}", r.below(500)), "status": status, "latency_ms": r.below(90) + if r.chance(3) { 5000 } else { 0 }});
                if nested {
                    item["owner"] = json!({"login": format!("user{}", r.below(9)), "admin": r.chance(20)});
                }
                if r.chance(5) {
                    item["error"] = json!(format!("timeout after {} ms", r.below(1000)));
                }
                item
            })
            .collect(),
    )
}

fn output(r: &mut Rng) -> Output {
    match r.below(8) {
        0 | 1 => {
            let v = records(r);
            Output { text: if r.chance(50) { v.to_string() } else { serde_json::to_string_pretty(&v).unwrap_or_default() }, json: None }
        }
        2 => {
            let v = json!({"total": r.below(1000), "items": records(r), "next": null});
            Output { text: v.to_string(), json: Some(v) }
        }
        3 => Output { text: r.slice(LOGS), json: None },
        4 => Output { text: r.slice(SEARCH), json: None },
        5 => Output { text: r.slice(DIFFS), json: None },
        6 => Output { text: r.slice(PROSE), json: None },
        _ => Output { text: r.pick(&["ok", "", "42", "File written.", "{\"ok\":true}", "[]"]).to_string(), json: None },
    }
}

/// A provider-neutral conversation.
struct Call {
    id: String,
    name: String,
    args: Value,
    output: Output,
    is_error: bool,
}
enum Step {
    User { text: String, image: bool },
    AssistantText(String),
    /// Parallel calls in one assistant message, then their results in one user-side message (or
    /// one `tool` message each, for OpenAI).
    Tools { preamble: Option<String>, calls: Vec<Call> },
}
struct Gen {
    system: Option<String>,
    steps: Vec<Step>,
    bare: bool,
    /// Anthropic: the user step that carries a `cache_control` breakpoint (a cached prefix).
    breakpoint: Option<usize>,
}

fn generate(r: &mut Rng) -> Gen {
    let system = r.chance(75).then(|| {
        let mut s = format!("You are a coding agent. {}.", r.words(12));
        if r.chance(40) {
            s.push_str(" Today is 2026-11-21 and the session id is 5b0e4c1e-8f3a-4d2b-9c7e-1a2b3c4d5e6f.");
        }
        s
    });
    let turns = 1 + r.below(6);
    let mut steps = Vec::new();
    let mut n = 0;
    for t in 0..turns {
        let len = 3 + r.below(20);
        steps.push(Step::User { text: r.words(len), image: r.chance(15) });
        for _ in 0..r.below(4) {
            let k = 1 + if r.chance(30) { r.below(3) } else { 0 };
            let calls = (0..k)
                .map(|_| {
                    n += 1;
                    let name = r.pick(&["run", "grep", "read_file", "list_issues", "git_diff"]).to_string();
                    Call {
                        id: format!("call_{n}"),
                        name,
                        args: json!({"arg": r.words(2), "n": n}),
                        output: output(r),
                        is_error: r.chance(5),
                    }
                })
                .collect();
            let preamble = r.chance(30).then(|| r.words(6));
            steps.push(Step::Tools { preamble, calls });
        }
        // Alternation: a turn ends with assistant text, except (sometimes) the last one, which
        // may end on tool results the model is about to read.
        if t + 1 < turns || r.chance(50) {
            let len = 2 + r.below(15);
            steps.push(Step::AssistantText(r.words(len)));
        }
    }
    let users: Vec<usize> = steps.iter().enumerate().filter(|(_, s)| matches!(s, Step::User { .. })).map(|(i, _)| i).collect();
    let breakpoint = if r.chance(30) { Some(*r.pick(&users)) } else { None };
    Gen { system, steps, bare: r.chance(20), breakpoint }
}

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABXvMqGgAAAABJRU5ErkJggg==";

fn render(g: &Gen, p: Provider) -> Value {
    match p {
        Provider::Openai => {
            let mut msgs = Vec::new();
            if let Some(s) = &g.system {
                msgs.push(json!({"role": "system", "content": s}));
            }
            for step in &g.steps {
                match step {
                    Step::User { text, image: false } => msgs.push(json!({"role": "user", "content": text})),
                    Step::User { text, image: true } => msgs.push(json!({"role": "user", "content": [
                        {"type": "text", "text": text},
                        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}
                    ]})),
                    Step::AssistantText(t) => msgs.push(json!({"role": "assistant", "content": t})),
                    Step::Tools { preamble, calls } => {
                        let tc: Vec<Value> = calls
                            .iter()
                            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.args.to_string()}}))
                            .collect();
                        msgs.push(json!({"role": "assistant", "content": preamble, "tool_calls": tc}));
                        for c in calls {
                            msgs.push(json!({"role": "tool", "tool_call_id": c.id, "content": c.output.text}));
                        }
                    }
                }
            }
            if g.bare {
                Value::Array(msgs)
            } else {
                json!({"model": "gpt-4o", "messages": msgs, "tools": [{"type": "function", "function": {"name": "run", "parameters": {"type": "object"}}}]})
            }
        }
        Provider::Anthropic => {
            let mut msgs = Vec::new();
            for (si, step) in g.steps.iter().enumerate() {
                match step {
                    Step::User { text, .. } if g.breakpoint == Some(si) => msgs.push(json!({"role": "user", "content": [
                        {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}
                    ]})),
                    Step::User { text, image: false } => msgs.push(json!({"role": "user", "content": text})),
                    Step::User { text, image: true } => msgs.push(json!({"role": "user", "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                        {"type": "text", "text": text}
                    ]})),
                    Step::AssistantText(t) => msgs.push(json!({"role": "assistant", "content": [{"type": "text", "text": t}]})),
                    Step::Tools { preamble, calls } => {
                        let mut content: Vec<Value> = preamble.iter().map(|t| json!({"type": "text", "text": t})).collect();
                        content.extend(calls.iter().map(|c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.args})));
                        msgs.push(json!({"role": "assistant", "content": content}));
                        let results: Vec<Value> = calls
                            .iter()
                            .enumerate()
                            .map(|(i, c)| {
                                let content = if i % 2 == 0 { json!(c.output.text) } else { json!([{"type": "text", "text": c.output.text}]) };
                                json!({"type": "tool_result", "tool_use_id": c.id, "content": content, "is_error": c.is_error})
                            })
                            .collect();
                        msgs.push(json!({"role": "user", "content": results}));
                    }
                }
            }
            let mut body = json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": msgs,
                "tools": [{"name": "run", "input_schema": {"type": "object"}}]});
            if let Some(s) = &g.system {
                body["system"] = if s.len() % 2 == 0 { json!(s) } else { json!([{"type": "text", "text": s}]) };
            }
            body
        }
        Provider::Google => {
            let mut contents = Vec::new();
            for step in &g.steps {
                match step {
                    Step::User { text, image } => {
                        let mut parts = vec![json!({"text": text})];
                        if *image {
                            parts.push(json!({"inlineData": {"mimeType": "image/png", "data": PNG}}));
                        }
                        contents.push(json!({"role": "user", "parts": parts}));
                    }
                    Step::AssistantText(t) => contents.push(json!({"role": "model", "parts": [{"text": t}]})),
                    Step::Tools { preamble, calls } => {
                        let mut parts: Vec<Value> = preamble.iter().map(|t| json!({"text": t})).collect();
                        parts.extend(calls.iter().map(|c| json!({"functionCall": {"name": c.name, "args": c.args}})));
                        contents.push(json!({"role": "model", "parts": parts}));
                        let responses: Vec<Value> = calls
                            .iter()
                            .map(|c| {
                                let response = match &c.output.json {
                                    Some(v) => v.clone(),
                                    None if c.is_error => json!({"error": c.output.text}),
                                    None => json!({"output": c.output.text}),
                                };
                                json!({"functionResponse": {"name": c.name, "response": response}})
                            })
                            .collect();
                        contents.push(json!({"role": "user", "parts": responses}));
                    }
                }
            }
            let mut body = json!({"contents": contents, "tools": [{"functionDeclarations": [{"name": "run"}]}]});
            if let Some(s) = &g.system {
                body["systemInstruction"] = json!({"parts": [{"text": s}]});
            }
            body
        }
    }
}

/// What must not change in a message: its role, and every block that is not a tool result
/// (kind, text, tool id); tool results only by id.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Fixed {
    role: Role,
    blocks: Vec<(String, String, Option<String>)>,
    results: Vec<Option<String>>,
}

/// Google calls without ids are paired by name and order, so their ids are synthesised
/// (`name#k`) and renumber when RollingWindow drops an earlier pair: compare names there.
fn tool_key(b: &headroom::message::Block) -> Option<String> {
    match &b.tool_id {
        Some(id) if id.contains('#') => b.tool_name.clone(),
        other => other.clone(),
    }
}

fn fixed(m: &headroom::message::Message) -> Fixed {
    let mut blocks: Vec<(String, String, Option<String>)> = Vec::new();
    let mut results = Vec::new();
    // Adjacent text blocks are joined: the cache optimizer may split an Anthropic system prompt
    // (or turn a string content into one text block) without changing the text.
    for b in &m.blocks {
        match b.kind {
            BlockKind::ToolResult => results.push(tool_key(b)),
            BlockKind::Text => match blocks.last_mut() {
                Some((k, t, None)) if k == "Text" => t.push_str(&b.text),
                _ => blocks.push(("Text".to_string(), b.text.to_string(), None)),
            },
            k => blocks.push((format!("{k:?}"), b.text.to_string(), tool_key(b))),
        }
    }
    Fixed { role: m.role, blocks, results }
}

fn short(s: &str) -> String {
    if s.len() <= 400 { s.to_string() } else { format!("{}...", s.chars().take(400).collect::<String>()) }
}

fn side(m: &headroom::message::Message) -> bool {
    m.role == Role::Assistant
}

/// Every invariant for one request under one config. `label` names the case in failures.
fn check(label: &str, text: &str, p: Provider, config: &Config, opts: &RequestOptions) -> Vec<String> {
    let mut hr = Headroom::new(config.clone()).expect("config");
    let r = hr.compress(text, opts).unwrap_or_else(|e| panic!("{label}: {e}"));
    let out = r.request.clone().unwrap_or_else(|| r.messages.clone());
    let out_text = out.to_string();
    let input: Value = serde_json::from_str(text).expect("generated JSON");
    let conv_in = Conversation::parse(input.clone(), Some(p)).expect("generated request parses");
    let applied = |t: &str| r.transforms_applied.iter().any(|a| a == t);

    // The same provider's format, detected as such.
    let conv_out = Conversation::parse(out.clone(), Some(p)).unwrap_or_else(|e| panic!("{label}: output does not parse: {e}"));
    assert_eq!(detect_provider(&out).ok(), Some(p), "{label}: output detected as another provider");

    // Tool calls and results in pairs.
    let ids = |kind: BlockKind| -> BTreeSet<String> {
        conv_out.messages.iter().flat_map(|m| &m.blocks).filter(|b| b.kind == kind).filter_map(|b| b.tool_id.clone()).collect()
    };
    assert_eq!(ids(BlockKind::ToolCall), ids(BlockKind::ToolResult), "{label}: a call without its result or a result without its call");

    // Alternation where the provider requires it.
    let list: Vec<_> = conv_out.messages.iter().filter(|m| m.origin == Origin::List).collect();
    if p != Provider::Openai {
        assert!(list.first().is_some_and(|m| !side(m)), "{label}: the first turn must be the user's");
        for w in list.windows(2) {
            assert_ne!(side(&w[0]), side(&w[1]), "{label}: two {:?} turns in a row", w[0].role);
        }
    }

    // The frozen prefix (up to the last cache breakpoint, or `frozenMessages`) is byte for byte
    // what came in, unless RollingWindow could fit the request no other way (and warned).
    let frozen = conv_in.clone().freeze_prefix(opts.frozen_messages.unwrap_or(0) as usize);
    if !r.warnings.iter().any(|w| w.contains("frozen")) {
        for (i, m) in conv_in.messages.iter().take(frozen).enumerate() {
            assert_eq!(conv_out.messages.get(i).map(|o| o.to_value()), Some(m.to_value()), "{label}: frozen message {i} changed");
        }
    }

    // System prompt: unchanged unless CacheAligner's rewrite ran (and says so).
    let system = |c: &Conversation| -> Vec<Fixed> { c.messages.iter().filter(|m| m.role.is_instruction()).map(fixed).collect() };
    if system(&conv_in) != system(&conv_out) {
        assert!(applied("cache_aligner"), "{label}: the system prompt changed but no transform says so");
    }

    // User/assistant messages: the same, in order, unless RollingWindow dropped some; then a
    // marker message stands for them and retrieves them.
    let body_in: Vec<_> = conv_in.messages.iter().filter(|m| !m.role.is_instruction()).collect();
    let body_out: Vec<_> = conv_out.messages.iter().filter(|m| !m.role.is_instruction()).collect();
    let mut dropped: Vec<&headroom::message::Message> = Vec::new();
    let mut i = 0;
    let mut markers_seen = Vec::new();
    // (input message, the output message it became), for the tool-output check below.
    let mut pairs = Vec::new();
    for m in &body_out {
        match body_in[i..].iter().position(|x| fixed(x) == fixed(m)) {
            Some(k) => {
                dropped.extend(&body_in[i..i + k]);
                pairs.push((body_in[i + k], *m));
                i += k + 1;
            }
            None => {
                // Not an input message: it must be RollingWindow's marker.
                let hashes = find_markers(&m.text());
                assert!(applied("rolling_window") && !hashes.is_empty(), "{label}: a message that was not in the input: {}", short(&m.text()));
                markers_seen.extend(hashes);
            }
        }
    }
    dropped.extend(&body_in[i..]);
    if dropped.is_empty() {
        assert!(markers_seen.is_empty(), "{label}: a marker message without a drop");
        if !applied("rolling_window") {
            assert_eq!(body_in.len(), body_out.len(), "{label}");
        }
    } else {
        assert!(applied("rolling_window"), "{label}: {} messages went missing without RollingWindow", dropped.len());
        let mut stored = Vec::new();
        for h in &markers_seen {
            let text = hr.retrieve(h).expect("hash").unwrap_or_else(|| panic!("{label}: marker {h} not retrievable"));
            if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(&text) {
                stored.extend(a);
            }
        }
        // The stored messages hold whole tool units, so they parse as a conversation of their own;
        // their tool outputs may have been compressed before the drop (with their own markers).
        let stored_fixed: Vec<Fixed> = match Conversation::parse(Value::Array(stored.clone()), Some(p)) {
            Ok(c) => c.messages.iter().map(fixed).collect(),
            Err(e) => panic!("{label}: the dropped messages' original does not parse: {e}"),
        };
        for m in &dropped {
            assert!(stored_fixed.contains(&fixed(m)), "{label}: a dropped message is not in any marker's original: {}", short(&m.to_value().to_string()));
        }
    }

    // Tool outputs: unchanged, lossless, or marked with a hash that retrieves the exact original.
    let results = |m: &headroom::message::Message| -> Vec<String> {
        m.blocks.iter().filter(|b| b.kind == BlockKind::ToolResult).map(|b| b.text.to_string()).collect()
    };
    for (m_in, m_out) in &pairs {
      for (original, after) in results(m_in).iter().zip(results(m_out)) {
        let id = m_out.blocks.iter().find_map(|b| b.tool_id.clone()).unwrap_or_default();
        if after == *original {
            continue;
        }
        // Lossless forms: minified JSON or the table format (decode to the same JSON), and grep
        // output grouped by file (flattens back to the same bytes).
        let lossless = serde_json::from_str::<Value>(original).ok().is_some_and(|v| {
            let back = if after.starts_with("#headroom-table") { decode_table(&after).ok() } else { serde_json::from_str(&after).ok() };
            back == Some(v)
        }) || [false, true].iter().any(|&context| search::flatten(&after, context) == *original);
        let marked = find_markers(&after).iter().any(|h| hr.retrieve(h).ok().flatten().as_deref() == Some(original.as_str()));
        assert!(lossless || marked, "{label}: tool result in {id}'s message changed with neither a lossless form nor a retrievable marker:\n{}", short(&after));
      }
    }

    // Never more tokens (the cache steps may add a few on purpose, and say so).
    let slack = if applied("cache_aligner") || applied("cache_optimizer") { 32 } else { 0 };
    assert!(r.tokens_after <= r.tokens_before + slack, "{label}: tokens {} -> {} ({:?})", r.tokens_before, r.tokens_after, r.transforms_applied);
    // Every reported marker is retrievable and reachable from the output: named in it, or in an
    // original a marker in it retrieves (a compressed tool output RollingWindow dropped later).
    let mut reachable: Vec<String> = find_markers(&out_text);
    let mut k = 0;
    while let Some(h) = reachable.get(k).cloned() {
        k += 1;
        if let Some(original) = hr.retrieve(&h).expect("hash") {
            for inner in find_markers(&original) {
                if !reachable.contains(&inner) {
                    reachable.push(inner);
                }
            }
        }
    }
    for h in &r.markers {
        assert!(hr.retrieve(h).expect("hash").is_some(), "{label}: marker {h} not retrievable");
        assert!(reachable.contains(h), "{label}: reported marker {h} is neither in the output nor in an original it names");
    }

    // Deterministic.
    let again = Headroom::new(config.clone()).expect("config").compress(text, opts).expect("second run");
    assert_eq!(again.request.clone().unwrap_or_else(|| again.messages.clone()).to_string(), out_text, "{label}: not deterministic");
    assert_eq!((again.tokens_after, &again.markers, &again.transforms_applied), (r.tokens_after, &r.markers, &r.transforms_applied), "{label}");

    // Idempotent.
    let twice = hr.compress(&out_text, opts).unwrap_or_else(|e| panic!("{label}: our own output: {e}"));
    let twice_text = twice.request.unwrap_or(twice.messages).to_string();
    assert_eq!(twice_text, out_text, "{label}: compress(compress(x)) != compress(x)");

    // Audit changes nothing.
    let audit = RequestOptions { mode: Some(Mode::Audit), ..opts.clone() };
    let a = Headroom::new(config.clone()).expect("config").compress(text, &audit).expect("audit");
    assert_eq!(a.request.unwrap_or(a.messages), input, "{label}: audit changed the request");
    r.transforms_applied
}

fn cases() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(n) = std::env::var("HEADROOM_PROP_CASES").ok().and_then(|s| s.parse().ok()) {
        return n;
    }
    24
}

/// Defaults; an eager config under which every transform fires on these sizes; the eager config
/// with the first half of the messages declared frozen (`frozenMessages`).
fn configs() -> Vec<(&'static str, Config, RequestOptions)> {
    let eager = Config::from_json(
        r#"{"modelContextLimits":{"prop-small":4000},"outputBufferTokens":500,
            "contentRouter":{"minTokens":40},"smartCrusher":{"minTokensToCrush":40},
            "cacheAligner":{"mode":"rewrite"},"cacheOptimizer":{"minCacheableTokens":200}}"#,
    )
    .expect("eager config");
    vec![
        ("default", Config::default(), RequestOptions::default()),
        ("eager", eager.clone(), RequestOptions { model: Some("prop-small".into()), ..Default::default() }),
        ("frozen", eager, RequestOptions { model: Some("prop-small".into()), ..Default::default() }),
    ]
}

fn run(provider: Provider, seed: u64) {
    let mut r = Rng(seed);
    let mut fired = HashSet::new();
    for case in 0..cases() {
        let g = generate(&mut r);
        let text = render(&g, provider).to_string();
        for (name, config, mut opts) in configs() {
            if name == "frozen" {
                // A caller-declared cached prefix: the first half of the messages.
                let n = Conversation::parse(serde_json::from_str(&text).expect("JSON"), Some(provider)).expect("parses").messages.len();
                opts.frozen_messages = Some((n / 2) as u64);
            }
            let label = format!("{provider:?} case {case} ({name})");
            fired.extend(check(&label, &text, provider, &config, &opts));
        }
    }
    // The generator must exercise the transforms the invariants are about.
    for t in ["content_router", "rolling_window", "retrieve_tool"] {
        assert!(fired.contains(t), "{provider:?}: no generated case ran {t}; got {fired:?}");
    }
}

#[test]
fn openai_requests_keep_every_invariant() {
    run(Provider::Openai, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn anthropic_requests_keep_every_invariant() {
    run(Provider::Anthropic, 0xD1B5_4A32_D192_ED03);
}

#[test]
fn google_requests_keep_every_invariant() {
    run(Provider::Google, 0xA076_1D64_78BD_642F);
}
