//! Criterion scenarios for the engine (native). Named per workload; inputs are the bundled
//! examples and generated arrays of realistic records. `make bench` runs them.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use headroom::{Config, Encoding, Headroom, RequestOptions};
use serde_json::json;
use std::hint::black_box;

const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-south-1"];

fn records(n: usize) -> String {
    let items: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "id": i, "name": format!("item-{i}"), "status": if i % 97 == 0 { "failed" } else { "ok" },
                "latency_ms": 20 + (i * 7919) % 50, "region": REGIONS[i % 3],
                "owner": {"login": format!("user{}", i % 40), "id": i % 40},
                "updated_at": format!("2026-11-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24),
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn request_with(output: &str) -> String {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Which items failed in us-east-1?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "list", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": output},
        ]
    })
    .to_string()
}

/// Token counting without the memo (every call counts), side by side with tiktoken-rs, the
/// reference our counter is tested equal to.
fn token_counting(c: &mut Criterion) {
    let text = include_str!("../examples/grep_output.json");
    let mut g = c.benchmark_group("count_tokens");
    for size in [1_000usize, 100_000, 1_000_000] {
        let input: String = text.chars().cycle().take(size).collect();
        g.throughput(Throughput::Bytes(input.len() as u64));
        for (enc, reference) in [
            (Encoding::O200kBase, tiktoken_rs::o200k_base_singleton()),
            (Encoding::Cl100kBase, tiktoken_rs::cl100k_base_singleton()),
        ] {
            g.bench_with_input(BenchmarkId::new(enc.as_str(), size), &input, |b, s| {
                b.iter(|| enc.count_uncached(black_box(s)))
            });
            g.bench_with_input(BenchmarkId::new(format!("tiktoken-rs/{}", enc.as_str()), size), &input, |b, s| {
                b.iter(|| reference.count_ordinary(black_box(s)))
            });
        }
    }
    let adversarial = "a".repeat(200_000);
    g.throughput(Throughput::Bytes(adversarial.len() as u64));
    g.bench_function("o200k_base/a_x_200k", |b| b.iter(|| Encoding::O200kBase.count_uncached(black_box(&adversarial))));
    g.sample_size(10);
    g.bench_function("tiktoken-rs/o200k_base/a_x_200k", |b| {
        b.iter(|| tiktoken_rs::o200k_base_singleton().count_ordinary(black_box(&adversarial)))
    });
    g.finish();
}

fn smart_crusher(c: &mut Criterion) {
    let mut g = c.benchmark_group("smart_crusher");
    g.sample_size(20);
    for n in [1_000usize, 10_000] {
        let req = request_with(&records(n));
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_with_input(BenchmarkId::new("records", n), &req, |b, r| {
            let mut hr = Headroom::new(Config::default()).unwrap();
            b.iter(|| hr.compress(black_box(r), &RequestOptions::default()).unwrap())
        });
    }
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(20);
    for (name, text) in [
        ("json_api", include_str!("../examples/json_api.json")),
        ("grep_output", include_str!("../examples/grep_output.json")),
        ("build_log", include_str!("../examples/build_log.json")),
        ("diff", include_str!("../examples/diff.json")),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            let mut hr = Headroom::new(Config::default()).unwrap();
            b.iter(|| hr.compress(black_box(text), &RequestOptions::default()).unwrap())
        });
    }
    // One real tool output per text compressor (tests/fixtures/text; sources in SOURCES.md).
    for (name, output) in [
        ("search", include_str!("../tests/fixtures/text/search_serde_json_fn.txt")),
        ("log", include_str!("../tests/fixtures/text/log_pytest_fail.txt")),
        ("diff", include_str!("../tests/fixtures/text/diff_clap_builder.txt")),
        ("text", include_str!("../tests/fixtures/text/prose_man_grep.txt")),
        ("mixed", include_str!("../tests/fixtures/text/mixed_agent_scratchpad.md")),
    ] {
        let req = json!({"model": "gpt-4o", "messages": [
            {"role": "user", "content": "What does this output say, and what failed?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "run", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": output},
        ]})
        .to_string();
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_function(format!("compressor/{name}"), |b| {
            let mut hr = Headroom::new(Config::default()).unwrap();
            b.iter(|| hr.compress(black_box(&req), &RequestOptions::default()).unwrap())
        });
    }
    g.finish();
}

/// A 500-turn agent conversation (~200k tokens) over gpt-4o's window: RollingWindow drops the
/// oldest tool units, CacheAligner and the cache optimizer run, every tool output is routed.
fn long_conversation(c: &mut Criterion) {
    let mut messages = vec![json!({"role": "system", "content": "You are a coding agent. Today is 2026-11-21."})];
    for t in 0..500 {
        messages.push(json!({"role": "user", "content": format!("Step {t}: run the next check and report.")}));
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("c{t}"), "type": "function", "function": {"name": "run", "arguments": format!("{{\"step\":{t}}}")}}]}));
        let out: String = (0..40).map(|i| format!("check {t}.{i}: ok in {} ms\n", (t * 31 + i * 7) % 97)).collect();
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{t}"), "content": out}));
        messages.push(json!({"role": "assistant", "content": format!("Step {t} passed.")}));
    }
    let req = json!({"model": "gpt-4o", "messages": messages}).to_string();
    let mut g = c.benchmark_group("long_conversation");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(req.len() as u64));
    g.bench_function("500_turns", |b| {
        let mut hr = Headroom::new(Config::default()).unwrap();
        b.iter(|| hr.compress(black_box(&req), &RequestOptions::default()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, token_counting, smart_crusher, pipeline, long_conversation);
criterion_main!(benches);
