// Issue 4 through the public API: RollingWindow on long agent conversations in all three
// provider formats, CacheAligner (detect / rewrite), Anthropic cache breakpoints, and
// simulate()'s cost fields. Generated conversations only (no std::fs), so the same cases run
// natively and as wasm.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use headroom::{find_markers, Config, Conversation, ErrorKind, Headroom, Provider, RequestOptions};
use serde_json::{json, Value};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const SYSTEM: &str = "You are a careful coding agent. Use the tools to inspect the repository before answering.";

/// A tool result of roughly `lines` * 12 tokens, unique to its turn and call.
fn big_result(turn: usize, call: usize, lines: usize) -> String {
    (0..lines)
        .map(|k| format!("src/module_{turn}/file_{call}_{k}.rs:{k}: fn handler_{k}() -> Result<(), Error> {{ todo!() }}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many tool calls turn `t` makes in one assistant message, and how many such steps it takes.
fn shape(t: usize) -> (usize, usize) {
    match t % 7 {
        0 => (0, 0),     // a plain question and answer
        3 => (2, 1),     // two parallel calls
        5 => (1, 2),     // two sequential steps
        _ => (1, 1),
    }
}

fn openai_conversation(turns: usize, lines: usize) -> Value {
    let mut msgs = vec![json!({"role": "system", "content": SYSTEM})];
    for t in 0..turns {
        msgs.push(json!({"role": "user", "content": format!("Question {t}: what does module {t} do?")}));
        let (calls, steps) = shape(t);
        for s in 0..steps {
            let ids: Vec<String> = (0..calls).map(|c| format!("call_{t}_{s}_{c}")).collect();
            let tc: Vec<Value> = ids
                .iter()
                .map(|id| json!({"id": id, "type": "function", "function": {"name": "grep", "arguments": format!("{{\"q\":\"{id}\"}}")}}))
                .collect();
            msgs.push(json!({"role": "assistant", "content": null, "tool_calls": tc}));
            for (c, id) in ids.iter().enumerate() {
                msgs.push(json!({"role": "tool", "tool_call_id": id, "content": big_result(t, s * 10 + c, lines)}));
            }
        }
        msgs.push(json!({"role": "assistant", "content": format!("Answer {t}: module {t} handles requests.")}));
    }
    json!({"model": "gpt-4o", "messages": msgs})
}

fn anthropic_conversation(turns: usize, lines: usize) -> Value {
    let mut msgs = Vec::new();
    for t in 0..turns {
        msgs.push(json!({"role": "user", "content": format!("Question {t}: what does module {t} do?")}));
        let (calls, steps) = shape(t);
        for s in 0..steps {
            let ids: Vec<String> = (0..calls).map(|c| format!("toolu_{t}_{s}_{c}")).collect();
            let mut content = vec![json!({"type": "text", "text": format!("Looking at module {t}.")})];
            content.extend(ids.iter().map(|id| json!({"type": "tool_use", "id": id, "name": "grep", "input": {"q": id}})));
            msgs.push(json!({"role": "assistant", "content": content}));
            let results: Vec<Value> = ids
                .iter()
                .enumerate()
                .map(|(c, id)| json!({"type": "tool_result", "tool_use_id": id, "content": big_result(t, s * 10 + c, lines)}))
                .collect();
            msgs.push(json!({"role": "user", "content": results}));
        }
        msgs.push(json!({"role": "assistant", "content": format!("Answer {t}: module {t} handles requests.")}));
    }
    json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": SYSTEM, "messages": msgs})
}

fn google_conversation(turns: usize, lines: usize) -> Value {
    let mut contents = Vec::new();
    for t in 0..turns {
        contents.push(json!({"role": "user", "parts": [{"text": format!("Question {t}: what does module {t} do?")}]}));
        let (calls, steps) = shape(t);
        for s in 0..steps {
            let names: Vec<String> = (0..calls).map(|c| if c == 0 { "grep".to_string() } else { "read_file".to_string() }).collect();
            let parts: Vec<Value> =
                names.iter().map(|n| json!({"functionCall": {"name": n, "args": {"q": format!("{t}-{s}")}}})).collect();
            contents.push(json!({"role": "model", "parts": parts}));
            let responses: Vec<Value> = names
                .iter()
                .enumerate()
                .map(|(c, n)| json!({"functionResponse": {"name": n, "response": {"output": big_result(t, s * 10 + c, lines)}}}))
                .collect();
            contents.push(json!({"role": "user", "parts": responses}));
        }
        contents.push(json!({"role": "model", "parts": [{"text": format!("Answer {t}: module {t} handles requests.")}]}));
    }
    json!({"model": "gemini-2.5-flash", "systemInstruction": {"parts": [{"text": SYSTEM}]}, "contents": contents})
}

fn list_key(p: Provider) -> &'static str {
    if p == Provider::Google { "contents" } else { "messages" }
}

fn small_window() -> Headroom {
    let cfg = Config::from_json(r#"{"modelContextLimits":{"gpt-4o":24000,"claude":24000,"gemini":24000}}"#).unwrap();
    Headroom::new(cfg).unwrap()
}

/// The same window without cache breakpoints, to compare kept messages byte for byte.
fn small_window_no_breakpoints() -> Headroom {
    let cfg = Config::from_json(
        r#"{"modelContextLimits":{"gpt-4o":24000,"claude":24000,"gemini":24000},"cacheOptimizer":{"enabled":false}}"#,
    )
    .unwrap();
    Headroom::new(cfg).unwrap()
}

fn is_turn_start(p: Provider, m: &Value) -> bool {
    match p {
        Provider::Openai => m["role"] == "user",
        Provider::Anthropic => m["role"] == "user" && m["content"].is_string(),
        Provider::Google => m["role"] == "user" && m["parts"][0].get("text").is_some(),
    }
}

fn check_fits(p: Provider, input: &Value, keep: usize) {
    // With breakpoints: still a valid request within the window, with at most 4 breakpoints.
    let r = small_window().compress(&input.to_string(), &RequestOptions { keep_turns: Some(keep as u64), ..Default::default() }).unwrap();
    assert!(r.tokens_after <= 20000);
    Conversation::parse(r.request.clone().unwrap(), Some(p)).unwrap();
    assert!(breakpoints(r.request.as_ref().unwrap()) <= 4);

    let mut h = small_window_no_breakpoints();
    let opts = RequestOptions { keep_turns: Some(keep as u64), ..Default::default() };
    let r = h.compress(&input.to_string(), &opts).unwrap();
    let name = p.as_str();
    let budget = 24000 - 4000;
    assert!(r.tokens_before > budget * 3, "{name}: the test conversation must be far over the window ({})", r.tokens_before);
    assert!(r.tokens_after <= budget, "{name}: {} tokens after, budget {budget}; warnings {:?}", r.tokens_after, r.warnings);
    assert!(r.transforms_applied.contains(&"rolling_window".to_string()), "{name}: {:?}", r.transforms_applied);
    let out = r.request.clone().unwrap();

    // Still a valid request: parses, and every call has its result and every result its call.
    let conv = Conversation::parse(out.clone(), Some(p)).unwrap();
    let mut calls = std::collections::HashSet::new();
    let mut results = std::collections::HashSet::new();
    for m in &conv.messages {
        for b in &m.blocks {
            match b.kind {
                headroom::message::BlockKind::ToolCall => calls.insert(b.tool_id.clone().unwrap()),
                headroom::message::BlockKind::ToolResult => results.insert(b.tool_id.clone().unwrap()),
                _ => true,
            };
        }
    }
    assert_eq!(calls, results, "{name}: every tool call paired with its result");

    // The system prompt first and unchanged.
    match p {
        Provider::Openai => assert_eq!(out["messages"][0], input["messages"][0]),
        Provider::Anthropic => assert_eq!(out["system"], input["system"]),
        Provider::Google => assert_eq!(out["systemInstruction"], input["systemInstruction"]),
    }

    let key = list_key(p);
    let inp = input[key].as_array().unwrap();
    let outp = out[key].as_array().unwrap();

    // The last `keep` turns intact.
    let starts: Vec<usize> = (0..inp.len()).filter(|&i| is_turn_start(p, &inp[i])).collect();
    let tail = &inp[starts[starts.len() - keep]..];
    assert!(&outp[outp.len() - tail.len()..] == tail, "{name}: the last {keep} turns must be intact");

    // Exactly one marker message; the rest is the input minus what was dropped, in order.
    let marker_at: Vec<usize> = (0..outp.len()).filter(|&i| outp[i].to_string().contains("[headroom:")).collect();
    assert_eq!(marker_at.len(), 1, "{name}: one marker message");
    let marker_msg = &outp[marker_at[0]];
    let hashes = find_markers(&marker_msg.to_string());
    assert_eq!(hashes.len(), 1);
    assert_eq!(r.markers, hashes);
    let mut dropped = Vec::new();
    let mut j = 0;
    for m in inp {
        if j == marker_at[0] {
            j += 1;
        }
        if outp.get(j) == Some(m) {
            j += 1;
        } else {
            dropped.push(m.clone());
        }
    }
    assert_eq!(j, outp.len(), "{name}: the output is the input minus dropped messages, plus the marker");
    let stored: Value = serde_json::from_str(&h.retrieve(&hashes[0]).unwrap().expect("stored")).unwrap();
    assert!(stored == Value::Array(dropped.clone()), "{name}: retrieve gives the dropped messages back exactly");
    let text = marker_msg.to_string();
    assert!(text.contains("turn(s)") && text.contains("tool result(s)") && text.contains("tokens"), "{text}");

    // Alternation (Anthropic user/assistant, Google user/model), starting with a user turn.
    if p != Provider::Openai {
        assert_eq!(outp[0]["role"], "user", "{name}: the first turn is a user turn");
        for w in outp.windows(2) {
            assert_ne!(w[0]["role"], w[1]["role"], "{name}: roles must alternate");
        }
    }
    // The marker brings the retrieve tool.
    assert!(out.to_string().contains("headroom_retrieve"), "{name}: the retrieve tool");
}

#[test]
fn long_agent_conversations_fit_in_every_format() {
    check_fits(Provider::Openai, &openai_conversation(200, 25), 2);
    check_fits(Provider::Anthropic, &anthropic_conversation(200, 25), 2);
    check_fits(Provider::Google, &google_conversation(200, 25), 2);
    check_fits(Provider::Anthropic, &anthropic_conversation(200, 25), 5);
}

#[test]
fn slightly_over_drops_tool_units_before_turns() {
    // Just over the window: a few tool units go; every user question stays.
    let input = openai_conversation(30, 25);
    let h = Headroom::new(Config::default()).unwrap();
    let n = h.count_request(&input.to_string(), None).unwrap() as u64;
    let cfg = format!(r#"{{"modelContextLimits":{{"gpt-4o":{}}}}}"#, n + 4000 - 1500);
    let mut h = Headroom::new(Config::from_json(&cfg).unwrap()).unwrap();
    let r = h.compress(&input.to_string(), &RequestOptions::default()).unwrap();
    assert!(r.transforms_applied.contains(&"rolling_window".to_string()), "{:?}", r.warnings);
    let out = r.request.unwrap();
    let questions = |v: &Value| v["messages"].as_array().unwrap().iter().filter(|m| m["role"] == "user").count();
    // The anchor turn's answer may go with the marker, but no question does.
    assert_eq!(questions(&out), questions(&input));
    assert!(out.to_string().contains("0 earlier turn(s)"), "only tool units: {}", out["messages"]);
}

#[test]
fn a_conversation_that_cannot_fit_comes_back_undropped() {
    // The last two turns alone are over the window.
    let input = anthropic_conversation(6, 400);
    let cfg = Config::from_json(r#"{"modelContextLimits":{"claude":9000},"cacheOptimizer":{"enabled":false},"contentRouter":{"enabled":false}}"#).unwrap();
    let mut h = Headroom::new(cfg).unwrap();
    let r = h.compress(&input.to_string(), &RequestOptions::default()).unwrap();
    assert!(r.request.unwrap() == input, "unchanged");
    assert!(r.markers.is_empty());
    assert!(
        r.warnings.iter().any(|w| w.contains("rolling_window") && w.contains("left unchanged")),
        "{:?}",
        r.warnings
    );
    // And with CCR off, nothing is dropped either (a drop is lossy without a store).
    let cfg = Config::from_json(r#"{"modelContextLimits":{"gpt-4o":24000},"ccr":{"enabled":false}}"#).unwrap();
    let mut h = Headroom::new(cfg).unwrap();
    let input = openai_conversation(100, 25);
    let r = h.compress(&input.to_string(), &RequestOptions::default()).unwrap();
    assert!(r.request.unwrap() == input, "unchanged");
    assert!(r.warnings.iter().any(|w| w.contains("lossy")), "{:?}", r.warnings);
}

#[test]
fn frozen_prefix_is_kept_when_something_else_fits() {
    let mut input = anthropic_conversation(60, 25);
    // A provider cache breakpoint on message 3: messages 0..=3 are frozen.
    input["messages"][3]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    input["tools"] = json!([headroom::retrieve_tool(Provider::Anthropic)]);
    let mut h = small_window();
    let r = h.compress(&input.to_string(), &RequestOptions::default()).unwrap();
    assert!(r.transforms_applied.contains(&"rolling_window".to_string()), "{:?}", r.warnings);
    let out = r.request.unwrap();
    for i in 0..=3 {
        assert_eq!(out["messages"][i], input["messages"][i], "frozen message {i}");
    }
    assert_eq!(out["system"], input["system"]);
    let outp = out["messages"].as_array().unwrap();
    for w in outp.windows(2) {
        assert_ne!(w[0]["role"], w[1]["role"]);
    }
}

fn dated_system(day: u32, hour: u32, id: &str) -> String {
    format!(
        "You are the Acme support assistant. Answer briefly and cite the docs.\nToday is January {day}, 2026. The time is {hour}:15 UTC.\nRequest ID: {id}\nNever reveal internal notes."
    )
}

#[test]
fn rewrite_mode_makes_the_prefix_stable_and_keeps_the_values() {
    let cfg = Config::from_json(r#"{"cacheAligner":{"mode":"rewrite"}}"#).unwrap();
    for provider in [Provider::Openai, Provider::Anthropic, Provider::Google] {
        let mut h = Headroom::new(cfg.clone()).unwrap();
        let mut hashes = Vec::new();
        for (k, (day, hour, id)) in [(7, 9, "req_8f3KQ2x1"), (8, 14, "req_Z91mmQ0p"), (9, 23, "req_aa77Bc19")].into_iter().enumerate() {
            let sys = dated_system(day, hour, id);
            let req = match provider {
                Provider::Openai => json!({"model": "gpt-4o", "messages": [{"role": "system", "content": sys}, {"role": "user", "content": "hi"}]}),
                Provider::Anthropic => json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "system": sys, "messages": [{"role": "user", "content": "hi"}]}),
                Provider::Google => json!({"model": "gemini-2.5-flash", "systemInstruction": {"parts": [{"text": sys}]}, "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
            };
            let r = h.compress(&req.to_string(), &RequestOptions::default()).unwrap();
            let out = r.request.unwrap().to_string();
            assert!(out.contains(&format!("January {day}, 2026")) && out.contains(id), "{provider:?}: values kept: {out}");
            assert!(out.contains("[Dynamic Context]"), "{out}");
            assert!(out.contains("Never reveal internal notes."));
            assert!(r.transforms_applied.contains(&"cache_aligner".to_string()));
            assert_eq!(r.estimated_cache_hit, k > 0, "{provider:?} request {k}");
            assert!(r.cache_alignment_score > 0.5 && r.cache_alignment_score < 1.0, "{}", r.cache_alignment_score);
            assert_eq!(r.stable_prefix_hash.len(), 16);
            hashes.push(r.stable_prefix_hash);
        }
        assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{provider:?}: {hashes:?}");
    }
}

#[test]
fn detect_mode_warns_and_changes_nothing() {
    let mut h = Headroom::new(Config::default()).unwrap();
    let mut hashes = Vec::new();
    for (day, id) in [(7, "req_8f3KQ2x1"), (8, "req_Z91mmQ0p")] {
        let req = json!([{"role": "system", "content": dated_system(day, 10, id)}, {"role": "user", "content": "hi"}]);
        let r = h.compress(&req.to_string(), &RequestOptions::default()).unwrap();
        assert_eq!(r.messages, req);
        assert!(r.warnings.iter().any(|w| w.contains("cache_aligner") && w.contains("date")), "{:?}", r.warnings);
        assert!(!r.warnings.iter().any(|w| w.contains(id)), "identifiers are not echoed into warnings");
        assert!(!r.estimated_cache_hit);
        assert!(r.cache_alignment_score < 1.0);
        hashes.push(r.stable_prefix_hash);
    }
    assert_ne!(hashes[0], hashes[1]);
    // An identical stable prefix on the next request is a hit.
    let same = json!([{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "a"}]);
    let other = json!([{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "b"}]);
    assert!(!h.compress(&same.to_string(), &RequestOptions::default()).unwrap().estimated_cache_hit);
    let r = h.compress(&other.to_string(), &RequestOptions::default()).unwrap();
    assert!(r.estimated_cache_hit);
    assert_eq!(r.cache_alignment_score, 1.0);
    // Off: no warnings.
    let mut h = Headroom::new(Config::from_json(r#"{"cacheAligner":{"mode":"off"}}"#).unwrap()).unwrap();
    let req = json!([{"role": "system", "content": dated_system(7, 10, "r1x9")}, {"role": "user", "content": "hi"}]);
    assert!(h.compress(&req.to_string(), &RequestOptions::default()).unwrap().warnings.is_empty());
}

#[test]
fn reordered_tools_are_reported() {
    let mut h = Headroom::new(Config::default()).unwrap();
    let a = json!({"type": "function", "function": {"name": "a", "parameters": {}}});
    let b = json!({"type": "function", "function": {"name": "b", "parameters": {}}});
    let req = |tools: Value| json!({"model": "gpt-4o", "tools": tools, "prompt_cache_key": "k1", "messages": [{"role": "user", "content": "hi"}]});
    let first = req(json!([a.clone(), b.clone()]));
    let r = h.compress(&first.to_string(), &RequestOptions::default()).unwrap();
    assert_eq!(r.request.unwrap(), first, "prompt_cache_key and tools pass through");
    let r = h.compress(&req(json!([b, a])).to_string(), &RequestOptions::default()).unwrap();
    assert!(!r.estimated_cache_hit);
    assert!(r.warnings.iter().any(|w| w.contains("different order")), "{:?}", r.warnings);
}

/// Every `cache_control` in an Anthropic body.
fn breakpoints(v: &Value) -> usize {
    match v {
        Value::Object(m) => usize::from(m.contains_key("cache_control")) + m.values().map(breakpoints).sum::<usize>(),
        Value::Array(a) => a.iter().map(breakpoints).sum(),
        _ => 0,
    }
}

fn long_system() -> String {
    (0..200).map(|i| format!("Rule {i}: keep answers short and precise, and check the docs first.")).collect::<Vec<_>>().join("\n")
}

#[test]
fn anthropic_gets_valid_breakpoints() {
    let mut input = anthropic_conversation(8, 25);
    input["system"] = json!(long_system());
    input["tools"] = json!([{"name": "grep", "description": "search", "input_schema": {"type": "object"}}]);
    let mut h = Headroom::new(Config::default()).unwrap();
    let r = h.compress(&input.to_string(), &RequestOptions::default()).unwrap();
    let out = r.request.unwrap();
    assert_eq!(breakpoints(&out), 2, "system + history: {:?} {:?} {}", r.warnings, r.transforms_applied, out["system"].to_string().chars().take(300).collect::<String>());
    assert_eq!(out["system"][0]["cache_control"]["type"], "ephemeral");
    assert_eq!(out["system"][0]["text"], input["system"]);
    let msgs = out["messages"].as_array().unwrap();
    let newest = msgs.iter().rposition(|m| m["content"].is_string() && m["role"] == "user").unwrap();
    assert!(breakpoints(&msgs[newest - 1]) == 1, "the message before the newest user turn");
    assert!(r.cacheable_tokens >= 1024, "{}", r.cacheable_tokens);
    assert!(r.transforms_applied.contains(&"cache_optimizer".to_string()));
    // The output parses and a second pass adds nothing (and changes no byte of the prefix).
    let again = h.compress(&out.to_string(), &RequestOptions::default()).unwrap();
    assert_eq!(again.request.unwrap(), out);

    // An existing breakpoint: nothing at or before it changes; at most 4 in total.
    let mut input2 = input.clone();
    input2["messages"][4]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    input2["tools"] = json!([headroom::retrieve_tool(Provider::Anthropic)]);
    let r = h.compress(&input2.to_string(), &RequestOptions::default()).unwrap();
    let out = r.request.unwrap();
    assert_eq!(out["system"], input2["system"]);
    assert_eq!(out["tools"], input2["tools"]);
    for i in 0..=4 {
        assert_eq!(out["messages"][i], input2["messages"][i], "message {i} before the breakpoint");
    }
    assert!(breakpoints(&out) <= 4 && breakpoints(&out) == 2, "{}", breakpoints(&out));

    // Four already: none added, nothing changed.
    let mut full = input.clone();
    full["system"] = json!([{"type": "text", "text": long_system(), "cache_control": {"type": "ephemeral"}}]);
    let with_parts: Vec<usize> =
        (0..full["messages"].as_array().unwrap().len()).filter(|&i| full["messages"][i]["content"].is_array()).take(3).collect();
    for i in with_parts {
        full["messages"][i]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    }
    full["tools"] = json!([headroom::retrieve_tool(Provider::Anthropic)]);
    assert_eq!(breakpoints(&full), 4);
    let r = h.compress(&full.to_string(), &RequestOptions::default()).unwrap();
    assert_eq!(r.request.unwrap(), full);

    // Disabled: nothing added. Short prompts: nothing added (below minCacheableTokens).
    let mut off = Headroom::new(Config::from_json(r#"{"cacheOptimizer":{"enabled":false}}"#).unwrap()).unwrap();
    assert_eq!(breakpoints(off.compress(&input.to_string(), &RequestOptions::default()).unwrap().request.as_ref().unwrap()), 0);
    let short = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "system": "be brief", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "bye"}]});
    let r = h.compress(&short.to_string(), &RequestOptions::default()).unwrap();
    assert_eq!(r.request.unwrap(), short);
    assert_eq!(r.cacheable_tokens, 0);
}

#[test]
fn anthropic_rewrite_caches_the_stable_part_of_the_system_prompt() {
    let cfg = Config::from_json(r#"{"cacheAligner":{"mode":"rewrite"}}"#).unwrap();
    let mut h = Headroom::new(cfg).unwrap();
    let sys = format!("{}\nToday is January 7, 2026.", long_system());
    let req = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "system": sys, "messages": [{"role": "user", "content": "hi"}]});
    let r = h.compress(&req.to_string(), &RequestOptions::default()).unwrap();
    let out = r.request.unwrap();
    let parts = out["system"].as_array().expect("split into blocks");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["cache_control"]["type"], "ephemeral");
    assert!(parts[1].get("cache_control").is_none());
    assert!(parts[1]["text"].as_str().unwrap().contains("January 7, 2026"));
    assert!(r.cacheable_tokens > 1024);
}

#[test]
fn simulate_reports_cost_breakdown_and_waste() {
    let input = openai_conversation(100, 25);
    let mut h = small_window();
    let sim = h.simulate(&input.to_string(), &RequestOptions::default()).unwrap();
    assert!(sim.tokens_saved > 0);
    let usd = sim.estimated_savings_usd.unwrap();
    assert!((usd - sim.tokens_saved as f64 * 2.5 / 1e6).abs() < 1e-12, "gpt-4o input at $2.50/1M");
    assert_eq!(sim.estimated_savings.as_deref(), Some(format!("${usd:.4} per request").as_str()));
    let breakdown = sim.block_breakdown.as_ref().unwrap();
    assert_eq!(breakdown.values().sum::<u64>(), sim.tokens_before, "{breakdown:?}");
    assert!(breakdown["tool_result"] > breakdown["user"]);
    for k in ["system", "user", "assistant", "tool_call", "tool_result", "overhead"] {
        assert!(breakdown.contains_key(k), "{k}");
    }
    let waste = sim.waste_signals.as_ref().unwrap();
    assert_eq!(waste["over_context_limit"], sim.tokens_before - 20000);
    let json = serde_json::to_value(&sim).unwrap();
    for k in ["estimatedSavingsUsd", "estimatedSavings", "blockBreakdown", "wasteSignals", "stablePrefixHash", "cacheAlignmentScore", "cacheableTokens", "estimatedCacheHit", "tokensSaved"] {
        assert!(json.get(k).is_some(), "{k}");
    }
    // compress() has the cache fields but not the cost ones.
    let r = h.compress(&input.to_string(), &RequestOptions::default()).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("estimatedSavingsUsd").is_none() && json.get("stablePrefixHash").is_some());

    // A price override, by model prefix.
    let cfg = Config::from_json(r#"{"modelContextLimits":{"gpt-4o":24000},"pricing":{"gpt-4o":{"input":10,"cachedInput":1,"output":30}}}"#).unwrap();
    let mut h = Headroom::new(cfg).unwrap();
    let sim = h.simulate(&input.to_string(), &RequestOptions::default()).unwrap();
    assert!((sim.estimated_savings_usd.unwrap() - sim.tokens_saved as f64 * 10.0 / 1e6).abs() < 1e-12);
    // An unknown model: no estimate, and a warning.
    let sim = h.simulate(r#"[{"role":"user","content":"hi"}]"#, &RequestOptions { model: Some("llama-3-70b".into()), ..Default::default() }).unwrap();
    assert!(sim.estimated_savings_usd.is_none());
    assert!(sim.warnings.iter().any(|w| w.contains("pricing")));
}

#[test]
fn bad_pricing_is_a_configuration_error() {
    for (cfg, code) in [
        (r#"{"pricing":{"gpt-4o":{"input":-1,"output":1}}}"#, "invalid_value"),
        (r#"{"pricing":{"gpt-4o":{"input":1,"output":1,"cachedInput":-0.5}}}"#, "invalid_value"),
        (r#"{"pricing":{"gpt-4o":{"input":1}}}"#, "invalid_config"),
        (r#"{"pricing":{"gpt-4o":{"input":1,"output":1,"cached":1}}}"#, "invalid_config"),
        (r#"{"pricing":{"gpt-4o":{"input":"cheap","output":1}}}"#, "invalid_config"),
        (r#"{"pricing":{"":{"input":1,"output":1}}}"#, "invalid_value"),
        (r#"{"pricing":{"gpt-4o":{"input":1e999,"output":1}}}"#, ""),
    ] {
        let e = Config::from_json(cfg).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Configuration, "{cfg}: {e}");
        if !code.is_empty() {
            assert_eq!(e.code, code, "{cfg}: {e}");
        }
    }
}

/// Time per request on a 500-turn, ~200k-token agent conversation (natively:
/// `cargo test --release --test context_cache -- --ignored --nocapture`).
#[test]
#[ignore]
fn timing_500_turns() {
    let input = openai_conversation(500, 12).to_string();
    let mut h = Headroom::new(Config::default()).unwrap();
    let tokens = h.count_request(&input, None).unwrap();
    let runs = 5;
    let sw = headroom::clock::Stopwatch::start();
    let mut last = None;
    for _ in 0..runs {
        last = Some(h.compress(&input, &RequestOptions::default()).unwrap());
    }
    let ms = sw.elapsed_ms() / runs as f64;
    let r = last.unwrap();
    println!(
        "500 turns, {tokens} tokens, {} bytes: {ms:.1} ms per request; {} -> {} tokens; timing {:?}",
        input.len(),
        r.tokens_before,
        r.tokens_after,
        r.timing
    );
    assert!(r.tokens_after <= 128_000 - 4000);
}
