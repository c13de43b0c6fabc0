// One test per bug found by the property tests (tests/properties.rs) and the fuzzers (fuzz/),
// each with the input that showed it. Run natively and as wasm (Makefile WASM_TESTS).

use headroom::{content_hash, Config, Headroom, RequestOptions};
use serde_json::json;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Found by the property test (Google case 8, default config): a text compressor's lossy result
/// that did not save tokens once its marker was added was dropped, but its original had already
/// been stored and reported as a marker. The result named a marker that was nowhere in the
/// output, and the retrieve tool was added for it (which could then make the whole request come
/// back unchanged with a "would have added tokens" warning).
#[test]
fn an_abandoned_text_compression_leaves_no_marker_and_stores_nothing() {
    // A diff header alone: the diff compressor's result plus its marker costs more than it saves.
    let diff = "--- serde_json-1.0.149/src/number.rs\t2006-07-24 01:21:28.000000000 +0000\n+++ serde_json-1.0.154/src/number.rs\t2006-07-24 01:21:28.000000000 +0000\n@@ -120,7 +120,7 @@";
    let hr = Headroom::new(Config::default()).expect("engine");
    let r = hr.compress_text("diff", diff, "", "").expect("diff compressor");
    assert_eq!(r.compressed, diff);
    assert_eq!(r.hash, None);
    assert_eq!(hr.retrieve(&content_hash(diff)).expect("hash"), None, "an unused original was stored");
    assert_eq!(hr.stats().store_entries, 0);

    let cfg = Config::from_json(r#"{"contentRouter":{"minTokens":0}}"#).expect("config");
    let mut hr = Headroom::new(cfg).expect("engine");
    let request = json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "what changed in number.rs?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": diff},
    ]})
    .to_string();
    let r = hr.compress(&request, &RequestOptions::default()).expect("compress");
    assert!(r.markers.is_empty(), "dangling markers: {:?}", r.markers);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.request.expect("body").to_string(), request);
}

/// Found by the property test (Anthropic case 10, eager config): the cache optimizer measured the
/// prefix without the retrieve tool that the last step adds in the same pass, so it placed no
/// breakpoint; compressing that output again (now with the tool) placed one: not idempotent.
#[test]
fn cache_breakpoints_count_the_retrieve_tool_added_in_the_same_pass() {
    let log: String = (0..300).map(|i| format!("test case_{i} ... ok\n")).collect::<String>() + "test result: FAILED. 299 passed; 1 failed\n";
    let tools = json!([{"name": "run", "input_schema": {"type": "object"}}]);
    let system = "You are a careful test runner.";
    let request = |min: u64| {
        let cfg = Config::from_json(&format!(r#"{{"cacheOptimizer":{{"minCacheableTokens":{min}}}}}"#)).expect("config");
        // The tool output comes after the newest user turn (an agent loop), so the only place for a
        // breakpoint is the end of the stable head: system prompt plus tools.
        let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "system": system, "tools": tools,
            "messages": [
                {"role": "user", "content": "run the tests"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "run", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]},
            ]})
        .to_string();
        (cfg, body)
    };
    // A threshold the head reaches only with the retrieve tool.
    let probe = Headroom::new(Config::default()).expect("engine");
    let count = |s: &str| probe.count_text(s, Some("claude-sonnet-4-5")) as u64;
    let min = count(&tools.to_string()) + count(system) + 25;
    let with_tool = json!([tools[0], headroom::retrieve_tool(headroom::Provider::Anthropic)]);
    assert!(count(&with_tool.to_string()) > min + 25);

    let (cfg, body) = request(min);
    let mut hr = Headroom::new(cfg).expect("engine");
    let once = hr.compress(&body, &RequestOptions::default()).expect("compress");
    assert!(!once.markers.is_empty(), "the log must be compressed lossily for this test");
    let once_text = once.request.expect("body").to_string();
    let twice = hr.compress(&once_text, &RequestOptions::default()).expect("compress again");
    assert_eq!(twice.request.expect("body").to_string(), once_text, "compress(compress(x)) != compress(x)");
    assert!(once_text.contains("cache_control"), "the breakpoint belongs in the first pass: {once_text}");
}

/// Found by the `markers` fuzz target (on its own seed: a marker whose summary quotes another
/// marker): `find_markers` looked for the `[headroom:` opening only after the previous `hash=`,
/// so the outer marker's hash was not found.
#[test]
fn a_marker_whose_summary_names_a_hash_is_still_found() {
    let inner = "x [headroom: 3 of 9 items omitted; retrieve the original with headroom_retrieve hash=0123456789abcdef01234567] y\n";
    let h = content_hash(inner);
    let m = headroom::marker(inner, &h);
    assert_eq!(headroom::find_markers(&m), vec!["0123456789abcdef01234567".to_string(), h]);
    // Unchanged: a hash with no marker opening before it, or one followed by more hex, is none.
    assert!(headroom::find_markers("hash=0123456789abcdef01234567 without a marker").is_empty());
    assert!(headroom::find_markers("[headroom: x; retrieve the original with headroom_retrieve hash=0123456789abcdef012345678]").is_empty());
}

/// Found by the `request_openai` fuzz target (seeded with examples/long_chat.json, whose messages
/// quote this crate's source) after the fix above: a `[headroom:` anywhere earlier made any
/// later `hash=<24 hex>` count as a marker: here one in quoted source code, once RollingWindow's
/// marker message came before it, so the output named a "marker" nothing was stored under. A
/// marker is now its whole tail, up to the `]`.
#[test]
fn text_that_mentions_a_hash_is_not_a_marker() {
    let quoted = r#"[headroom: 2 rows omitted; retrieve the original with headroom_retrieve hash=00cf9639b969a55b6e8641cc]
        assert!(find_markers("hash=0123456789abcdef01234567 without a marker").is_empty());"#;
    assert_eq!(headroom::find_markers(quoted), vec!["00cf9639b969a55b6e8641cc".to_string()]);
    assert!(headroom::find_markers("[headroom: see hash=0123456789abcdef01234567]").is_empty());
}

/// Found by review: SmartCrusher's numeric-outlier pass made one column per numeric key of the
/// first items, each as long as the array, so one object with 30,000 numeric keys followed by
/// 30,000 plain numbers asked for ~14 GB (an abort natively, a trap in wasm). Columns are now
/// sparse and the keys looked at are bounded.
#[test]
fn one_item_with_thousands_of_numeric_keys_compresses_in_bounded_memory() {
    let wide: serde_json::Map<String, serde_json::Value> = (0..30_000).map(|i| (format!("k{i}"), json!(i % 7))).collect();
    let mut items = vec![serde_json::Value::Object(wide)];
    items.extend((0..30_000).map(|i| json!(i % 13)));
    let output = serde_json::Value::Array(items).to_string();
    let request = json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "any outliers?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "q", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": output},
    ]})
    .to_string();
    let mut hr = Headroom::new(Config::default()).expect("engine");
    let r = hr.compress(&request, &RequestOptions::default()).expect("compress");
    assert!(r.tokens_after < r.tokens_before / 2, "{} -> {}", r.tokens_before, r.tokens_after);
    assert_eq!(r.markers.len(), 1, "{:?}", r.markers);
}
