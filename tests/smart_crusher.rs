// SmartCrusher and CCR through the public API, on real-shaped JSON tool outputs: what the user
// needs stays visible, tables decode to the original, originals are retrievable, compression is
// idempotent and never adds tokens. Runs natively and as wasm (see tests/engine.rs).

use headroom::{decode_table, Config, Encoding, Headroom, RequestOptions};
use serde_json::{json, Value};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// One OpenAI request: the user's question, one tool call, its JSON output.
fn request(question: &str, tool: &str, output: &Value) -> String {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are an operations assistant."},
            {"role": "user", "content": question},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": tool, "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": output.to_string()},
        ]
    })
    .to_string()
}

struct Run {
    hr: Headroom,
    before: String,
    after: String,
    markers: Vec<String>,
    tokens: (u64, u64),
    applied: Vec<String>,
}

fn run_with(config: Config, question: &str, output: &Value) -> Run {
    let mut hr = Headroom::new(config).unwrap();
    let req = request(question, "fetch", output);
    let r = hr.compress(&req, &RequestOptions::default()).unwrap();
    let after = r.request.as_ref().unwrap()["messages"][3]["content"].as_str().unwrap().to_string();
    // Idempotent: compressing the output again changes nothing.
    let again = hr.compress(&serde_json::to_string(r.request.as_ref().unwrap()).unwrap(), &RequestOptions::default()).unwrap();
    assert_eq!(again.request, r.request, "compressing twice must equal compressing once");
    assert!(r.tokens_after <= r.tokens_before);
    Run { hr, before: output.to_string(), after, markers: r.markers, tokens: (r.tokens_before, r.tokens_after), applied: r.transforms_applied }
}

fn run(question: &str, output: &Value) -> Run {
    run_with(Config::default(), question, output)
}

impl Run {
    fn saved(&self) -> f64 {
        1.0 - self.tokens.1 as f64 / self.tokens.0 as f64
    }
    fn assert_retrievable(&self) {
        assert_eq!(self.markers.len(), 1, "one marker hash per tool output");
        assert!(self.after.contains(&format!("hash={}", self.markers[0])));
        assert_eq!(self.hr.retrieve(&self.markers[0]).unwrap().as_deref(), Some(self.before.as_str()), "exact original");
    }
    /// The kept items as JSON, whether the output is a table or JSON.
    fn kept(&self) -> Value {
        if self.after.starts_with("#headroom-table") {
            decode_table(&self.after).unwrap()
        } else {
            serde_json::from_str(&self.after).unwrap()
        }
    }
}

fn issues() -> Value {
    let items: Vec<Value> = (1..=400)
        .map(|i| {
            json!({
                "number": 4000 + i,
                "title": format!("Improve docs for module {}", i % 37),
                "state": if i % 9 == 0 { "closed" } else { "open" },
                "user": {"login": format!("dev{}", i % 23), "id": 100 + i % 23},
                "labels": if i % 5 == 0 { json!(["docs"]) } else { json!([]) },
                "comments": i % 7,
                "created_at": format!("2026-0{}-{:02}T10:00:00Z", 1 + i % 9, 1 + i % 28),
            })
        })
        .collect();
    Value::Array(items)
}

#[test]
fn api_list_keeps_the_item_asked_about_and_first_last() {
    let r = run("What is the status of issue 4242?", &issues());
    assert!(r.saved() > 0.7, "saved {:.2}", r.saved());
    r.assert_retrievable();
    let kept = r.kept();
    let items = kept.as_array().unwrap();
    let numbers: Vec<i64> = items.iter().filter_map(|i| i["number"].as_i64()).collect();
    assert!(numbers.contains(&4242), "{numbers:?}");
    assert!(numbers.contains(&4001) && numbers.contains(&4400));
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "original order");
    if r.after.starts_with("#headroom-table") {
        assert!(r.after.lines().last().unwrap().starts_with("[headroom:"), "the table ends with the marker line");
    } else {
        assert!(items.last().unwrap().as_str().unwrap().starts_with("[headroom:"), "the array ends with the marker");
    }
    // Schema unchanged: kept items equal their originals.
    let orig = issues();
    for it in items.iter().filter(|i| i.is_object()) {
        let n = it["number"].as_i64().unwrap();
        assert_eq!(it, &orig[(n - 4001) as usize]);
    }
    assert!(r.applied.iter().any(|a| a.starts_with("smart_crusher")));
}

#[test]
fn logs_as_json_keep_every_error() {
    let entries: Vec<Value> = (0..1000)
        .map(|i| {
            let error = [137, 512, 777, 901].contains(&i);
            json!({
                "ts": format!("2026-11-21T06:{:02}:{:02}Z", i / 60 % 60, i % 60),
                "level": if error { "ERROR" } else { "INFO" },
                "service": "checkout",
                "msg": if error { format!("payment gateway timeout for order ord_{i}") } else { "request handled".to_string() },
            })
        })
        .collect();
    let r = run("Why are checkouts failing?", &Value::Array(entries));
    assert!(r.saved() > 0.8, "saved {:.2}", r.saved());
    r.assert_retrievable();
    for i in [137, 512, 777, 901] {
        assert!(r.after.contains(&format!("ord_{i}")), "error {i} must stay visible");
    }
}

#[test]
fn time_series_keeps_anomalies_and_change_points() {
    let points: Vec<Value> = (0..1000)
        .map(|t| {
            let base = if t < 400 { 20.0 } else { 60.0 };
            let cpu = if t == 700 { 99.5 } else { base + ((t * 7919) % 10) as f64 / 10.0 };
            json!({"t": t, "cpu": cpu})
        })
        .collect();
    let r = run("Show CPU usage", &Value::Array(points));
    r.assert_retrievable();
    let kept = r.kept();
    let ts: Vec<i64> = kept.as_array().unwrap().iter().filter_map(|p| p["t"].as_i64()).collect();
    assert!(ts.contains(&700), "the spike is kept: {ts:?}");
    assert!(ts.iter().any(|t| (395..=405).contains(t)), "the level shift at 400 is kept: {ts:?}");
}

#[test]
fn nested_search_results_keep_relevant_items() {
    let results: Vec<Value> = (0..300)
        .map(|i| {
            let topic = if i == 123 { "quantum error correction with surface codes" } else { "classical sorting algorithms" };
            json!({"title": format!("Result {i}: {topic}"), "url": format!("https://example.com/{i}"), "score": 1.0 - i as f64 / 1000.0})
        })
        .collect();
    let output = json!({"data": {"query": "papers", "results": results, "meta": {"total": 300, "took_ms": 41}}});
    let r = run("Find the paper about quantum surface codes", &output);
    r.assert_retrievable();
    assert!(r.after.contains("Result 123: quantum"), "the relevant item stays");
    assert!(r.after.contains("\"took_ms\":41"), "the rest of the object stays");
}

#[test]
fn mixed_arrays_and_arrays_of_strings() {
    let mixed: Vec<Value> = (0..200)
        .map(|i| match i % 4 {
            0 => json!(i),
            1 => json!(format!("line {i} ok")),
            2 => json!({"k": i}),
            _ => json!([i, i + 1]),
        })
        .collect();
    let r = run("summarise", &json!({"values": mixed, "lines": (0..300).map(|i| if i == 250 { "FATAL: disk full on /dev/sda1".to_string() } else { format!("step {i} ok") }).collect::<Vec<_>>()}));
    r.assert_retrievable();
    assert!(r.after.contains("FATAL: disk full"), "error line kept");
    assert!(r.saved() > 0.5, "saved {:.2}", r.saved());
}

#[test]
fn long_opaque_strings_become_markers() {
    let blob: String = (0..20_000).map(|i| (b'A' + (i * 7 % 26) as u8) as char).collect();
    let output = json!({"name": "logo.png", "content": format!("data:image/png;base64,{blob}"), "size": 20000});
    let r = run("what is the file name?", &output);
    r.assert_retrievable();
    assert!(r.after.contains("logo.png"));
    assert!(r.after.contains("base64 string of"));
    assert!(r.saved() > 0.9);
}

#[test]
fn lossless_table_decodes_to_the_original() {
    let cfg = Config::from_json(r#"{"smartCrusher":{"losslessOnly":true}}"#).unwrap();
    let r = run_with(cfg, "anything", &issues());
    assert!(r.markers.is_empty(), "lossless only: no marker");
    assert!(r.after.starts_with("#headroom-table v1"), "{}", &r.after[..200]);
    assert_eq!(decode_table(&r.after).unwrap(), issues(), "types and values survive");
    assert!(r.saved() > 0.15, "saved {:.2}", r.saved());
}

#[test]
fn small_outputs_and_non_json_pass_through() {
    let r = run("q", &json!([{"a": 1}, {"a": 2}]));
    assert_eq!(r.after, r.before);
    assert!(r.markers.is_empty());
    let mut hr = Headroom::new(Config::default()).unwrap();
    let text = request("q", "t", &json!("not json at all ".repeat(100)));
    let out = hr.compress(&text, &RequestOptions::default()).unwrap();
    assert_eq!(serde_json::to_string(out.request.as_ref().unwrap()).unwrap(), text);
}

#[test]
fn tool_profiles_and_exclusions() {
    let cfg = Config::from_json(r#"{"excludeTools":["fet*"]}"#).unwrap();
    let r = run_with(cfg, "q", &issues());
    assert_eq!(r.after, r.before);
    let cfg = Config::from_json(r#"{"toolProfiles":{"fetch":{"maxItems":40}}}"#).unwrap();
    let wide = run_with(cfg, "q", &issues());
    let narrow = run("q", &issues());
    let count = |r: &Run| r.kept().as_array().unwrap().len();
    assert!(count(&wide) > count(&narrow), "{} vs {}", count(&wide), count(&narrow));
}

#[test]
fn decode_table_rejects_garbage_with_an_error() {
    assert!(decode_table("hello").is_err());
    assert!(decode_table("#headroom-table v1\n{\"a\":\"@table:1\"}\n@table:1 [1] [\"x\"]\n1,2").is_err());
    assert_eq!(decode_table("#headroom-table v1\n{\"a\":\"@table:1\"}\n@table:1 [2] [\"x\",[\"o\",\"p\"]]\n1,\n,\"s\"").unwrap(), json!({"a": [{"x": 1}, {"o": {"p": "s"}}]}));
}

/// A small deterministic generator of arbitrary JSON (xorshift), for the property test.
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn value(&mut self, depth: u32) -> Value {
        match self.next() % if depth > 3 { 4 } else { 9 } {
            0 => Value::Null,
            1 => json!(self.next() % 1000),
            2 => json!(format!("s{}", self.next() % 50)),
            3 => json!((self.next() % 10_000) as f64 / 7.0),
            4 => Value::Array((0..self.next() % 60).map(|_| self.value(depth + 1)).collect()),
            5 => {
                let keys = ["id", "name", "status", "value", "error", "tags"];
                let n = self.next() % 6;
                Value::Object((0..n).map(|i| (keys[i as usize].to_string(), self.value(depth + 1))).collect())
            }
            6 => Value::Array((0..self.next() % 80).map(|i| json!({"id": i, "status": if self.next() % 17 == 0 { "failed" } else { "ok" }, "v": self.next() % 100})).collect()),
            // A map of records keyed by id.
            7 => Value::Object(
                (0..self.next() % 150).map(|i| (format!("k{i}"), json!({"n": self.next() % 50, "ok": self.next() % 9 != 0}))).collect(),
            ),
            // Events of several shapes.
            _ => Value::Array(
                (0..self.next() % 90)
                    .map(|i| match self.next() % 3 {
                        0 => json!({"type": "push", "id": i, "ref": format!("r{}", self.next() % 9)}),
                        1 => json!({"type": "issue", "id": i, "state": if self.next() % 13 == 0 { "error" } else { "open" }, "user": {"login": "u"}}),
                        _ => json!({"type": "star", "id": i}),
                    })
                    .collect(),
            ),
        }
    }
}

#[test]
fn property_never_more_tokens_lossless_decodes_never_panics() {
    let mut g = Gen(0x9E3779B97F4A7C15);
    let lossless = Config::from_json(r#"{"smartCrusher":{"losslessOnly":true,"minTokensToCrush":0},"contentRouter":{"minTokens":0}}"#).unwrap();
    let lossy = Config::from_json(r#"{"smartCrusher":{"minTokensToCrush":50},"contentRouter":{"minTokens":0}}"#).unwrap();
    for case in 0..80 {
        let v = g.value(0);
        for (cfg, is_lossless) in [(lossless.clone(), true), (lossy.clone(), false)] {
            let mut hr = Headroom::new(cfg).unwrap();
            let req = request("find failed id 7", "gen", &v);
            let r = hr.compress(&req, &RequestOptions::default()).unwrap();
            assert!(r.tokens_after <= r.tokens_before, "case {case}");
            let out = r.request.as_ref().unwrap()["messages"][3]["content"].as_str().unwrap().to_string();
            let o200k = |s: &str| Encoding::O200kBase.count(s);
            assert!(o200k(&out) <= o200k(&v.to_string()), "case {case}: tool output grew");
            if is_lossless {
                let back = if out.starts_with("#headroom-table") { decode_table(&out).unwrap() } else { serde_json::from_str(&out).unwrap() };
                assert_eq!(back, v, "case {case}: lossless output must decode to the input");
            }
            for h in &r.markers {
                assert_eq!(hr.retrieve(h).unwrap().as_deref(), Some(v.to_string().as_str()));
            }
        }
    }
}

/// A dict keyed by id with 5,000 entries: reduced like an array, a marker entry at the end.
fn users_by_id() -> Value {
    let mut m = serde_json::Map::new();
    for i in 0..5000 {
        let status = if i == 3217 { "suspended" } else { "active" };
        let mut user = json!({"name": format!("user {i}"), "email": format!("u{i}@example.com"), "status": status, "logins": 10 + i % 7});
        if i == 4100 {
            user["error"] = json!("password hash missing");
        }
        m.insert(format!("usr_{i:05}"), user);
    }
    Value::Object(m)
}

#[test]
fn map_with_many_keys_keeps_the_keys_that_matter() {
    let orig = users_by_id();
    let r = run("What is the email of usr_02718?", &orig);
    assert!(r.saved() > 0.9, "saved {:.2}", r.saved());
    r.assert_retrievable();
    let kept = r.kept();
    let m = kept.as_object().unwrap();
    for key in ["usr_02718", "usr_00000", "usr_04999", "usr_04100"] {
        assert_eq!(m.get(key), orig.get(key), "{key} kept, unchanged");
    }
    assert!(m.len() < 40, "{} keys", m.len());
    let keys: Vec<&String> = m.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "original order");
    if r.after.starts_with("#headroom-table") {
        assert!(r.after.contains("@table:1 {"), "a map table");
        assert!(r.after.lines().last().unwrap().contains("keys omitted"));
    } else {
        let marker = m.get("[headroom]").and_then(Value::as_str).unwrap();
        assert!(marker.contains("keys omitted") && marker.contains(&r.markers[0]));
    }
}

#[test]
fn flat_config_map_keeps_the_key_asked_about() {
    let mut m = serde_json::Map::new();
    for i in 0..400 {
        m.insert(format!("feature.flag_{i}.enabled"), json!(i % 3 == 0));
    }
    m.insert("database.pool_size".into(), json!(64));
    let orig = json!({"service": "checkout", "settings": Value::Object(m)});
    let r = run("What is database.pool_size set to?", &orig);
    assert!(r.saved() > 0.7, "saved {:.2}", r.saved());
    r.assert_retrievable();
    let kept = r.kept();
    assert_eq!(kept["service"], "checkout");
    assert_eq!(kept["settings"]["database.pool_size"], 64);
    assert_eq!(kept["settings"]["feature.flag_0.enabled"], true, "first key");
    assert!(kept["settings"]["[headroom]"].as_str().unwrap().starts_with("[headroom: "));
}

fn events(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| match i % 4 {
                0 | 2 => json!({"type": "PushEvent", "id": i, "actor": {"login": format!("dev{}", i % 9)}, "commits": i % 5, "ref": "refs/heads/main"}),
                1 => json!({"type": "IssuesEvent", "id": i, "actor": {"login": format!("dev{}", i % 9)}, "action": if i == 41 { "failed" } else { "opened" }, "number": 1000 + i}),
                _ => json!({"type": "WatchEvent", "id": i, "actor": {"login": format!("dev{}", i % 9)}}),
            })
            .collect(),
    )
}

#[test]
fn heterogeneous_array_becomes_one_table_per_shape_and_decodes() {
    let cfg = Config::from_json(r#"{"smartCrusher":{"losslessOnly":true}}"#).unwrap();
    let orig = events(60);
    let r = run_with(cfg, "anything", &orig);
    assert!(r.markers.is_empty());
    assert!(r.after.starts_with("#headroom-table v1"), "{}", &r.after[..200.min(r.after.len())]);
    for b in ["@table:1.1 [30]", "@table:1.2 [15]", "@table:1.3 [15]"] {
        assert!(r.after.contains(b), "{b} in\n{}", r.after);
    }
    assert_eq!(decode_table(&r.after).unwrap(), orig, "decodes to the original, order included");
    assert!(r.saved() > 0.15, "saved {:.2}", r.saved());
    // Lossy: the kept items decode in order, the failed one among them.
    let orig = events(1000);
    let r = run("which issue event failed?", &orig);
    r.assert_retrievable();
    let kept = r.kept();
    let items = kept.as_array().unwrap();
    let ids: Vec<u64> = items.iter().filter_map(|i| i["id"].as_u64()).collect();
    assert!(ids.contains(&41) && ids.contains(&0) && ids.contains(&999), "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for it in items.iter().filter(|i| i.is_object()) {
        assert_eq!(it, &orig[it["id"].as_u64().unwrap() as usize]);
    }
}

#[test]
fn map_and_bucket_tables_decode_by_hand() {
    let t = "#headroom-table v1\n{\"m\":\"@table:1\",\"e\":\"@table:2\"}\n@table:1 {2} [\"a\"]\n\"x\",1\n\"y\",\n@table:2.1 [1] [\"t\",\"v\"]\n1,\"b\",2\n@table:2.2 [1] [\"t\"]\n0,\"a\"";
    assert_eq!(decode_table(t).unwrap(), json!({"m": {"x": {"a": 1}, "y": {}}, "e": [{"t": "a"}, {"t": "b", "v": 2}]}));
    // Bucket indices must cover 0..n exactly.
    let bad = "#headroom-table v1\n\"@table:1\"\n@table:1.1 [1] [\"t\"]\n3,\"a\"";
    assert!(decode_table(bad).is_err());
    let bad = "#headroom-table v1\n\"@table:1\"\n@table:1 {1} [\"t\"]\n3,\"a\"";
    assert!(decode_table(bad).is_err(), "a map row starts with its key");
}

#[test]
fn schema_properties_are_never_dropped() {
    let props: serde_json::Map<String, Value> = (0..40).map(|i| (format!("Param{i}"), json!({"type": "string", "description": format!("parameter {i}")}))).collect();
    let tools: Vec<Value> = (0..30)
        .map(|t| json!({"type": "function", "function": {"name": format!("Op{t}"), "description": "an operation", "parameters": {"type": "object", "properties": props.clone(), "required": ["Param0"]}}}))
        .collect();
    let r = run("which parameters does Op7 need?", &Value::Array(tools));
    let kept = r.kept();
    for t in kept.as_array().unwrap().iter().filter(|t| t.is_object()) {
        assert_eq!(t["function"]["parameters"]["properties"].as_object().unwrap().len(), 40, "every parameter stays");
    }
}

/// The real API outputs of the side-by-side benchmark (benches/peer/fixtures/api, sources in
/// SOURCES.md there): every fact the question needs stays visible, the median saving is at least
/// 70%, and the original is retrievable.
#[test]
fn real_api_outputs_keep_the_facts_asked_about() {
    let fixtures = [
        include_str!("../benches/peer/fixtures/api/db_customers.json"),
        include_str!("../benches/peer/fixtures/api/db_invoices.json"),
        include_str!("../benches/peer/fixtures/api/db_jazz_tracks.json"),
        include_str!("../benches/peer/fixtures/api/db_invoice_lines.json"),
        include_str!("../benches/peer/fixtures/api/gh_issues_regex.json"),
        include_str!("../benches/peer/fixtures/api/fn_tools_dynamodb.json"),
        include_str!("../benches/peer/fixtures/api/fn_tools_sqs.json"),
    ];
    let mut saved = Vec::new();
    for f in fixtures {
        let fx: Value = serde_json::from_str(f).unwrap();
        let output: Value = serde_json::from_str(fx["output"].as_str().unwrap()).unwrap();
        let r = run(fx["query"].as_str().unwrap(), &output);
        for fact in fx["facts"].as_array().unwrap() {
            let fact = fact.as_str().unwrap();
            assert!(r.after.contains(fact), "{}: lost {fact:?}", fx["name"]);
        }
        if !r.markers.is_empty() {
            r.assert_retrievable();
        }
        saved.push(r.saved());
    }
    saved.sort_by(f64::total_cmp);
    let median = saved[saved.len() / 2];
    assert!(median >= 0.7, "median saved {median:.2}: {saved:?}");
}
