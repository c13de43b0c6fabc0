//! Shared checks for the request targets: one provider's parse → pipeline → write path under two
//! configs (defaults, and one that makes every transform fire on small inputs).
use headroom::message::BlockKind;
use headroom::{find_markers, Config, Conversation, Headroom, Provider, RequestOptions};
use serde_json::Value;
use std::collections::HashSet;

/// Small enough that RollingWindow drops turns and every compressor runs on fuzzer-sized inputs.
const EAGER: &str = r#"{"modelContextLimits":{"fuzz-small":700},"outputBufferTokens":100,
  "contentRouter":{"minTokens":10,"minErrorTokens":10},"smartCrusher":{"minTokensToCrush":10,"minItemsToAnalyze":3,"maxItemsAfterCrush":3},
  "cacheAligner":{"mode":"rewrite"},"cacheOptimizer":{"minCacheableTokens":10}}"#;

fn answered(conv: &Conversation) -> HashSet<String> {
    let results: HashSet<&str> = conv
        .messages
        .iter()
        .flat_map(|m| &m.blocks)
        .filter(|b| b.kind == BlockKind::ToolResult)
        .filter_map(|b| b.tool_id.as_deref())
        .collect();
    conv.messages
        .iter()
        .flat_map(|m| &m.blocks)
        .filter(|b| b.kind == BlockKind::ToolCall)
        .filter_map(|b| b.tool_id.clone())
        .filter(|id| results.contains(id.as_str()))
        .collect()
}

fn calls(conv: &Conversation) -> HashSet<String> {
    conv.messages.iter().flat_map(|m| &m.blocks).filter(|b| b.kind == BlockKind::ToolCall).filter_map(|b| b.tool_id.clone()).collect()
}

/// Runs `text` as a `provider` request through both configs and checks the invariants.
pub fn check_request(text: &str, provider: Provider) {
    let Ok(input) = serde_json::from_str::<Value>(text) else { return };
    if headroom::engine::json_depth(text) > 100 {
        // The engine rejects it before parsing; only check that it does not panic.
        let _ = Headroom::new(Config::default()).expect("engine").compress(text, &RequestOptions::default());
        return;
    }
    let Ok(conv_in) = Conversation::parse(input, Some(provider)) else {
        // Not a valid request for this provider: the engine must say so with an error, not panic.
        let r = Headroom::new(Config::default()).expect("engine").compress(text, &RequestOptions { provider: Some(provider), ..Default::default() });
        assert!(r.is_err(), "the engine accepted what the parser rejects");
        return;
    };
    for (cfg, model) in [("{}", None), (EAGER, Some("fuzz-small".to_string()))] {
        let config = Config::from_json(cfg).expect("config");
        let opts = RequestOptions { provider: Some(provider), model: model.clone(), ..Default::default() };
        let mut hr = Headroom::new(config.clone()).expect("engine");
        let r = hr.compress(text, &opts).expect("a request the parser accepts compresses");
        let out = r.request.clone().unwrap_or_else(|| r.messages.clone());
        let out_text = out.to_string();
        // The output parses as the same provider's format.
        let conv_out = Conversation::parse(out.clone(), Some(provider)).expect("our output parses as the same provider");
        // Tokens: never more, except what the cache steps add on purpose.
        let cache_steps = r.transforms_applied.iter().any(|t| t == "cache_aligner" || t == "cache_optimizer");
        let slack = if cache_steps { 64 } else { 0 };
        assert!(r.tokens_after <= r.tokens_before + slack, "tokens grew: {} -> {} ({:?})", r.tokens_before, r.tokens_after, r.transforms_applied);
        // Every call that had its result still has it (or both went, with RollingWindow).
        let kept = calls(&conv_out);
        for id in answered(&conv_in) {
            if kept.contains(&id) {
                assert!(answered(&conv_out).contains(&id), "call {id} lost its result");
            }
        }
        // Markers retrieve their originals: the ones this request reports, and every marker in the
        // output that was not already in the input.
        let before: HashSet<String> = find_markers(&serde_json::from_str::<Value>(text).map(|v| v.to_string()).unwrap_or_default()).into_iter().collect();
        let new_markers: Vec<String> = find_markers(&out_text).into_iter().filter(|h| !before.contains(h)).collect();
        for h in r.markers.iter().chain(&new_markers) {
            assert!(hr.retrieve(h).expect("valid hash").is_some(), "marker {h} not retrievable");
        }
        // Deterministic: a fresh engine gives the same bytes.
        let mut fresh = Headroom::new(config).expect("engine");
        let r2 = fresh.compress(text, &opts).expect("second run");
        assert_eq!(r2.request.clone().unwrap_or_else(|| r2.messages.clone()).to_string(), out_text, "not deterministic");
        // Idempotent: compressing the output again changes nothing.
        let again = hr.compress(&out_text, &opts).expect("our own output compresses");
        assert_eq!(again.request.unwrap_or(again.messages).to_string(), out_text, "not idempotent");
    }
}
