// Engine behaviour through the public Rust API: round-trips in all three provider formats,
// modes, typed errors, stats, fail-safe transforms and the retrieve tool.

use headroom::{
    default_pipeline, Config, Context, Conversation, ErrorKind, Headroom, Mode, Provider, RequestOptions, Transform,
};
use serde_json::Value;

// The same cases run natively (`cargo test`) and as wasm in Node and in headless Chromium
// (`make test-wasm`): on wasm32, `#[test]` is wasm-bindgen-test's.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn fixture(name: &str) -> String {
    let text = match name {
        "openai_tools.json" => include_str!("fixtures/requests/openai_tools.json"),
        "anthropic_tools.json" => include_str!("fixtures/requests/anthropic_tools.json"),
        "google_tools.json" => include_str!("fixtures/requests/google_tools.json"),
        other => panic!("unknown fixture {other}"),
    };
    text.trim().to_string()
}

fn hr() -> Headroom {
    Headroom::new(Config::default()).expect("default config")
}

#[test]
fn untouched_requests_round_trip_byte_for_byte() {
    for (name, provider) in [
        ("openai_tools.json", Provider::Openai),
        ("anthropic_tools.json", Provider::Anthropic),
        ("google_tools.json", Provider::Google),
    ] {
        let text = fixture(name);
        let mut h = hr();
        let r = h.compress(&text, &RequestOptions::default()).expect(name);
        assert_eq!(r.provider, provider, "{name}: detected provider");
        let out = serde_json::to_string(r.request.as_ref().expect("body")).unwrap();
        assert_eq!(out, text, "{name}: an untouched request must come back byte for byte");
        assert_eq!(r.tokens_before, r.tokens_after);
        assert!(r.tokens_before > 20, "{name}: counted {} tokens", r.tokens_before);
        assert!(r.markers.is_empty());
    }
}

#[test]
fn messages_array_returns_messages_only() {
    let mut h = hr();
    let r = h
        .compress(r#"[{"role":"user","content":"hi","extra":[1.0,2e3]}]"#, &RequestOptions::default())
        .unwrap();
    assert!(r.request.is_none());
    // Number spelling is kept (1.0 stays 1.0); serde_json only normalises exponents (2e3 -> 2e+3).
    assert_eq!(r.messages.to_string(), r#"[{"role":"user","content":"hi","extra":[1.0,2e+3]}]"#);
}

#[test]
fn provider_detection_from_shape() {
    let detect = |s: &str| headroom::detect_provider(&serde_json::from_str::<Value>(s).unwrap()).unwrap();
    assert_eq!(detect(r#"{"contents":[]}"#), Provider::Google);
    assert_eq!(detect(r#"{"model":"claude-3-5-haiku","messages":[]}"#), Provider::Anthropic);
    assert_eq!(detect(r#"{"system":"x","messages":[]}"#), Provider::Anthropic);
    assert_eq!(detect(r#"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a"}]}]"#), Provider::Anthropic);
    assert_eq!(detect(r#"[{"role":"model","parts":[{"text":"x"}]}]"#), Provider::Google);
    assert_eq!(detect(r#"[{"role":"user","content":"hi"}]"#), Provider::Openai);
}

#[test]
fn bad_input_gets_typed_errors_and_the_instance_keeps_working() {
    let mut h = hr();
    let cases: &[(&str, ErrorKind, &str)] = &[
        ("not json", ErrorKind::Validation, "invalid_json"),
        ("42", ErrorKind::Validation, "invalid_request"),
        (r#"{"foo":1}"#, ErrorKind::Validation, "invalid_request"),
        (r#"[{"role":"wizard","content":"x"}]"#, ErrorKind::Validation, "unknown_role"),
        (r#"[{"role":"user","content":5}]"#, ErrorKind::Validation, "invalid_content"),
        (r#"[{"role":"tool","tool_call_id":"nope","content":"x"}]"#, ErrorKind::Validation, "orphan_tool_result"),
        (r#"[{"role":"user","content":"\ud800"}]"#, ErrorKind::Validation, "invalid_json"),
        ("[1]", ErrorKind::Validation, "invalid_message"),
    ];
    for (input, kind, code) in cases {
        let e = h.compress(input, &RequestOptions::default()).unwrap_err();
        assert_eq!((e.kind, e.code), (*kind, *code), "input {input}: {e}");
        let ok = h.compress(r#"[{"role":"user","content":"still fine"}]"#, &RequestOptions::default());
        assert!(ok.is_ok(), "the instance must keep working after {input}");
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = h.compress(&deep, &RequestOptions::default()).unwrap_err();
    assert_eq!(e.code, "json_too_deep");
    let stats = h.stats();
    assert_eq!(stats.requests_failed, cases.len() as u64 + 1);
    assert_eq!(stats.requests_total, 2 * cases.len() as u64 + 1);
}

#[test]
fn configuration_errors() {
    for (cfg, code) in [
        (r#"{"nope":1}"#, "invalid_config"),
        (r#"{"smartCrusher":{"maxItemsAfterCrush":-1}}"#, "invalid_config"),
        (r#"{"smartCrusher":{"varianceThreshold":null}}"#, "invalid_config"),
        (r#"{"smartCrusher":{"firstFraction":1.5}}"#, "invalid_value"),
        (r#"{"defaultMode":"turbo"}"#, "invalid_config"),
        (r#"{"limits":{"maxJsonDepth":0}}"#, "invalid_value"),
    ] {
        let e = Config::from_json(cfg).unwrap_err();
        assert_eq!((e.kind, e.code), (ErrorKind::Configuration, code), "{cfg}: {e}");
    }
    let c = Config::from_json(r#"{"model":"gpt-4","defaultMode":"audit","modelContextLimits":{"gpt-4":9000}}"#).unwrap();
    assert_eq!(c.default_mode, Mode::Audit);
    let h = Headroom::new(c).unwrap();
    assert_eq!(h.model_info(None).context_limit, 9000);
}

#[test]
fn request_size_limit() {
    let cfg = Config::from_json(r#"{"limits":{"maxRequestBytes":100}}"#).unwrap();
    let mut h = Headroom::new(cfg).unwrap();
    let big = format!(r#"[{{"role":"user","content":"{}"}}]"#, "x".repeat(200));
    assert_eq!(h.compress(&big, &RequestOptions::default()).unwrap_err().code, "request_too_large");
}

/// A transform that replaces every tool result with a marker (stands in for SmartCrusher).
struct MarkAll;
impl Transform for MarkAll {
    fn name(&self) -> &'static str {
        "mark_all"
    }
    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> headroom::Result<bool> {
        let mut changed = false;
        for m in &mut conv.messages {
            for i in 0..m.blocks.len() {
                if m.blocks[i].kind == headroom::message::BlockKind::ToolResult && m.blocks[i].editable {
                    let original = m.blocks[i].text.clone();
                    if let Some(h) = ctx.store_original(&original) {
                        changed |= m.set_block_text(i, headroom::marker("everything omitted", &h));
                    }
                }
            }
        }
        Ok(changed)
    }
}

struct Fails;
impl Transform for Fails {
    fn name(&self) -> &'static str {
        "fails"
    }
    fn apply(&self, conv: &mut Conversation, _ctx: &mut Context<'_>) -> headroom::Result<bool> {
        conv.messages.clear(); // damage first, then fail: the engine must roll this back
        Err(headroom::Error::compression("boom", "deliberate failure"))
    }
}

fn pipeline_with(extra: Vec<Box<dyn Transform>>) -> Vec<Box<dyn Transform>> {
    let mut p = extra;
    p.extend(default_pipeline());
    p
}

#[test]
fn markers_are_retrievable_and_bring_the_retrieve_tool_in_every_format() {
    for name in ["openai_tools.json", "anthropic_tools.json", "google_tools.json"] {
        // Without its cache breakpoints (a cached prefix allows only lossless steps; see below),
        // and with tool outputs large enough that replacing them pays for the retrieve tool.
        let long = "padding ".repeat(400);
        let text = fixture(name)
            .replace(r#","cache_control":{"type":"ephemeral"}"#, "")
            .replace(r#"\"sky\":\"clear\""#, &format!(r#"\"sky\":\"clear {long}\""#))
            .replace(r#"a.txt\nb.txt"#, &format!("a.txt\\nb.txt {long}"))
            .replace(r#""id":"FR200""#, &format!(r#""id":"FR200","note":"{long}""#));
        let mut h = Headroom::with_pipeline(Config::default(), pipeline_with(vec![Box::new(MarkAll)])).unwrap();
        let r = h.compress(&text, &RequestOptions::default()).unwrap();
        assert!(!r.markers.is_empty(), "{name}");
        for hash in &r.markers {
            assert!(h.retrieve(hash).unwrap().is_some(), "{name}: {hash} must be retrievable");
        }
        let body = serde_json::to_string(r.request.as_ref().unwrap()).unwrap();
        assert!(body.contains("headroom_retrieve"), "{name}: retrieve tool missing");
        assert_eq!(r.transforms_applied, vec!["mark_all", "retrieve_tool"]);
        // Idempotent: running again adds no second tool.
        let again = h.compress(&body, &RequestOptions::default()).unwrap();
        assert_eq!(serde_json::to_string(again.request.as_ref().unwrap()).unwrap().matches("\"headroom_retrieve\"").count(), 1);
    }
}

#[test]
fn failing_transform_is_rolled_back_with_a_warning() {
    let text = fixture("openai_tools.json");
    let mut h = Headroom::with_pipeline(Config::default(), pipeline_with(vec![Box::new(Fails)])).unwrap();
    let r = h.compress(&text, &RequestOptions::default()).unwrap();
    assert_eq!(serde_json::to_string(r.request.as_ref().unwrap()).unwrap(), text);
    assert!(r.warnings.iter().any(|w| w.starts_with("fails failed")), "{:?}", r.warnings);
    assert_eq!(h.stats().transforms["fails"].failed, 1);
    assert!(r.timing.contains_key("fails") && r.timing.contains_key("total"));
}

#[test]
fn audit_never_modifies_but_reports_potential() {
    let big = "result line\n".repeat(500);
    let text = serde_json::json!([
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "run", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": big},
    ])
    .to_string();
    let mut h = Headroom::with_pipeline(Config::default(), pipeline_with(vec![Box::new(MarkAll)])).unwrap();
    let opts = RequestOptions { mode: Some(Mode::Audit), ..Default::default() };
    let r = h.compress(&text, &opts).unwrap();
    assert_eq!(r.messages.to_string(), text);
    assert!(r.transforms_applied.is_empty() && r.markers.is_empty());
    assert_eq!(r.tokens_after, r.tokens_before);
    assert!(r.potential_tokens_saved.unwrap() > 0);
    let sim = h.simulate(&text, &RequestOptions::default()).unwrap();
    assert_eq!(sim.mode, Mode::Simulate);
    assert!(sim.tokens_after < sim.tokens_before);
    let s = h.stats();
    assert_eq!(s.requests_by_mode["audit"], 1);
    assert_eq!(s.requests_by_mode["simulate"], 1);
    assert_eq!(s.tokens_saved_total, sim.tokens_saved);
}

#[test]
fn frozen_prefix_is_never_changed_and_blocks_lossy_steps_when_tools_are_cached() {
    let big = "line\n".repeat(300);
    let anthropic = serde_json::json!({
        "model": "claude-sonnet-4-5", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": big, "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": big}]},
        ]
    })
    .to_string();
    let mut h = Headroom::with_pipeline(Config::default(), pipeline_with(vec![Box::new(MarkAll)])).unwrap();
    let r = h.compress(&anthropic, &RequestOptions::default()).unwrap();
    // The tools are inside the cached prefix and lack the retrieve tool: lossless only.
    assert!(r.markers.is_empty());
    assert!(r.warnings.iter().any(|w| w.contains("only lossless")), "{:?}", r.warnings);
    assert_eq!(r.request.unwrap().to_string(), anthropic);
    // With the retrieve tool already declared, lossy steps may run, but only after the prefix.
    let mut with_tool: Value = serde_json::from_str(&anthropic).unwrap();
    with_tool["tools"] = serde_json::json!([headroom::retrieve_tool(Provider::Anthropic)]);
    let r = h.compress(&with_tool.to_string(), &RequestOptions::default()).unwrap();
    assert_eq!(r.markers.len(), 1);
    let out = r.request.unwrap();
    assert_eq!(out["messages"][2], with_tool["messages"][2], "frozen message unchanged");
    assert_ne!(out["messages"][4], with_tool["messages"][4]);
    // OpenAI: a caller-declared frozen prefix.
    let openai = serde_json::json!([
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": big},
    ])
    .to_string();
    let opts = RequestOptions { frozen_messages: Some(3), ..Default::default() };
    let r = h.compress(&openai, &opts).unwrap();
    assert_eq!(r.messages.to_string(), openai);
    // A bare array gets the tool to add in the result.
    let r = h.compress(&openai, &RequestOptions::default()).unwrap();
    assert_eq!(r.tools.as_ref().map(Vec::len), Some(1));
}

#[test]
fn google_text_responses_write_back_in_place() {
    let req = r#"{"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"output":"LONG"}}}]}]}"#;
    let long = "long text ".repeat(300);
    let req = req.replace("LONG", &long);
    let req = req.as_str();
    let mut h = Headroom::with_pipeline(Config::default(), pipeline_with(vec![Box::new(MarkAll)])).unwrap();
    let r = h.compress(req, &RequestOptions::default()).unwrap();
    let out = r.request.unwrap();
    let output = out.pointer("/contents/2/parts/0/functionResponse/response/output").and_then(Value::as_str).unwrap();
    assert!(output.starts_with("[headroom: everything omitted"), "{output}");
    assert!(out.pointer("/tools/0/functionDeclarations/0/name").is_some());
}

#[test]
fn token_counts_follow_the_model() {
    let h = hr();
    assert_eq!(h.count_text("hello world", Some("gpt-4o")), 2);
    assert_eq!(h.count_text("hello world", Some("gpt-4")), 2);
    // Claude is estimated: o200k count x 1.15, rounded up.
    assert_eq!(h.count_text("hello world", Some("claude-3-5-sonnet")), 3);
    let n = h.count_request(r#"[{"role":"user","content":"hello world"}]"#, None).unwrap();
    assert_eq!(n, 2 + 3 + 3, "text + per-message overhead + reply priming");
    assert_eq!(Headroom::count_with_encoding("hello world", "cl100k_base").unwrap(), 2);
    assert_eq!(Headroom::count_with_encoding("x", "gpt2").unwrap_err().kind, ErrorKind::Configuration);
}
