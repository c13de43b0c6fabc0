// Native and wasm give byte-identical output (issue 10): the bundled requests (tests/fixtures
// and examples/) compressed under fixed configs, compared byte for byte with the reviewed golden
// files in tests/golden/. The same file runs natively (`cargo test --test golden`) and as wasm in
// Node and Chromium (`make test-wasm`), so both targets are held to the same bytes. No ML, no
// deadline (the default), a fresh engine per case; timing is left out of the snapshot.
//
// A changed golden file is a behaviour change: review it. To regenerate after an intended change
// (or after `scripts/make-examples.py`):
//     HEADROOM_UPDATE_GOLDEN=1 cargo test --test golden

use headroom::{Config, Headroom, RequestOptions};
use serde_json::{json, Value};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// (name, request, golden file as committed)
macro_rules! cases {
    ($($name:literal => $input:literal),* $(,)?) => {
        &[$(($name, include_str!($input), include_str!(concat!("golden/", $name, ".json")))),*]
    };
}
const CASES: &[(&str, &str, &str)] = cases![
    "openai_tools" => "fixtures/requests/openai_tools.json",
    "anthropic_tools" => "fixtures/requests/anthropic_tools.json",
    "google_tools" => "fixtures/requests/google_tools.json",
    "build_log" => "../examples/build_log.json",
    "diff" => "../examples/diff.json",
    "grep_output" => "../examples/grep_output.json",
    "json_api" => "../examples/json_api.json",
    "long_chat" => "../examples/long_chat.json",
    "system_date" => "../examples/system_date.json",
];

/// The configs every request runs under: the defaults, and one where every transform fires
/// (CacheAligner rewrite, low thresholds, a 3,000-token context so RollingWindow drops turns).
fn configs() -> Vec<(&'static str, Config, RequestOptions)> {
    let eager = Config::from_json(
        r#"{"modelContextLimits":{"golden-small":3000},"outputBufferTokens":500,
            "contentRouter":{"minTokens":50},"smartCrusher":{"minTokensToCrush":50},
            "cacheAligner":{"mode":"rewrite"},"cacheOptimizer":{"minCacheableTokens":100}}"#,
    )
    .expect("eager config");
    vec![
        ("default", Config::default(), RequestOptions::default()),
        ("eager", eager, RequestOptions { model: Some("golden-small".into()), ..Default::default() }),
    ]
}

/// Everything a caller sees except timing, plus every marker's original (so a change to what is
/// stored shows up too).
fn snapshot(request: &str) -> String {
    let mut out = serde_json::Map::new();
    for (name, config, opts) in configs() {
        let mut hr = Headroom::new(config).expect("config");
        let r = hr.compress(request, &opts).expect("compress");
        let originals: serde_json::Map<String, Value> = r
            .markers
            .iter()
            .map(|h| (h.clone(), json!(hr.retrieve(h).expect("hash").expect("stored"))))
            .collect();
        let mut v = serde_json::to_value(&r).expect("serialise");
        if let Value::Object(m) = &mut v {
            m.remove("timing");
            m.insert("originals".into(), Value::Object(originals));
        }
        out.insert(name.into(), v);
    }
    serde_json::to_string_pretty(&Value::Object(out)).expect("serialise") + "\n"
}

#[cfg(not(target_arch = "wasm32"))]
fn update() -> bool {
    std::env::var_os("HEADROOM_UPDATE_GOLDEN").is_some()
}

#[test]
fn outputs_match_the_golden_files_byte_for_byte() {
    let mut failed = Vec::new();
    for (name, input, golden) in CASES {
        let actual = snapshot(input);
        #[cfg(not(target_arch = "wasm32"))]
        if update() {
            let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(&path, &actual).expect("write golden file");
            continue;
        }
        if actual != *golden {
            let line = actual.lines().zip(golden.lines()).position(|(a, b)| a != b).unwrap_or(actual.lines().count().min(golden.lines().count()));
            let at = |s: &str| s.lines().nth(line).unwrap_or("<end>").chars().take(300).collect::<String>();
            failed.push(format!("{name}: first difference at line {}:\n  got:    {}\n  golden: {}", line + 1, at(&actual), at(golden)));
        }
    }
    assert!(failed.is_empty(), "outputs differ from tests/golden (HEADROOM_UPDATE_GOLDEN=1 regenerates):\n{}", failed.join("\n"));
}
