//! Peak heap memory of one `compress` call on a 10 MB tool output, measured by a counting global
//! allocator (native only: this test binary's allocator, deterministic for the same input). The
//! bound is the issue's goal for wasm: peak <= 4x the input; the wasm figure (whose memory never
//! shrinks) is measured by `benches/node/bench.mjs`.
#![cfg(not(target_arch = "wasm32"))]
// A global allocator is unsafe by definition; this file is the one place unsafe is allowed.
#![allow(unsafe_code)]

use headroom::{Config, Headroom, RequestOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                // Counted as wasm's allocator does it: the new block is taken while the old one
                // is still held (native realloc may remap in place; dlmalloc in wasm copies).
                let before = LIVE.fetch_add(new - l.size(), Ordering::Relaxed);
                PEAK.fetch_max(before + new, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

fn grep_output(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 128);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!("src/module_{}.rs:{i}:    let value_{i} = compute({i}); // TODO check\n", i % 500));
        i += 1;
    }
    s
}

fn log_output(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 128);
    let mut i = 0;
    while s.len() < bytes {
        let level = if i % 997 == 0 { "ERROR" } else { "INFO" };
        s.push_str(&format!("2026-11-21T10:{:02}:{:02}Z {level} worker-{} processed batch {i} in {} ms\n", (i / 60) % 60, i % 60, i % 8, i % 300));
        i += 1;
    }
    s
}

fn json_rows(bytes: usize) -> String {
    let mut rows = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < bytes {
        let row = format!(
            r#"{{"id":{i},"name":"user_{i}","email":"user{i}@example.com","status":"{}","score":{}}}"#,
            if i % 1001 == 0 { "failed" } else { "ok" },
            (i * 37) % 100
        );
        size += row.len() + 1;
        rows.push(row);
        i += 1;
    }
    format!("[{}]", rows.join(","))
}

/// Peak bytes allocated during one compress of a request whose tool output is `output`, over
/// what was live before the call (the request text included, as the JS layer's copy into wasm
/// memory would be), as a multiple of the output's size.
fn peak_over_input(output: &str) -> f64 {
    let request = serde_json::json!({
        "model": "gpt-4o",
        "messages": [
            { "role": "user", "content": "where is value_777 computed?" },
            { "role": "assistant", "content": null, "tool_calls": [{ "id": "c", "type": "function", "function": { "name": "tool", "arguments": "{}" } }] },
            { "role": "tool", "tool_call_id": "c", "content": output }
        ]
    })
    .to_string();
    let mut hr = Headroom::new(Config::default()).expect("default config");
    // Warm the tokenizer tables so they are not counted as per-request memory.
    hr.count_text("warm up", Some("gpt-4o"));
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    // By value, as the wasm layer passes it: the engine frees the text once it is parsed.
    let r = hr.compress_owned(request, &RequestOptions::default()).expect("compress");
    assert!(r.tokens_after < r.tokens_before / 10, "it compressed: {} -> {}", r.tokens_before, r.tokens_after);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop(r);
    peak as f64 / output.len() as f64
}

/// One test, so no other test thread allocates while a peak is measured.
///
/// Text tool outputs meet the 4x goal: the request is parsed without a scratch copy of its long
/// strings (src/json.rs), its texts are held once (shared by the rollback snapshot and the CCR
/// store), the request text is freed once parsed, BM25 keeps per line only what scoring needs,
/// and the search compressor keeps its rows flat. Measured 2.09x (grep) and 2.32x (log).
///
/// JSON tool outputs miss it: SmartCrusher parses the output into a `serde_json::Value` (ordered
/// maps, numbers kept as text), about 11x the text for small records. Measured 15.0x (the
/// selection also holds a compact record of every field of every item, so that it reads each
/// item once); its bound guards against regressions. The lever is a compact borrowed representation for SmartCrusher's
/// analysis (see ARCHITECTURE.md, "Memory").
#[test]
fn peak_memory_of_a_10_mb_tool_output() {
    let mut over = Vec::new();
    let only = std::env::var("MEMORY_KIND").ok();
    for (kind, output, bound) in
        [("grep", grep_output(10_000_000), 4.0), ("log", log_output(10_000_000), 4.0), ("json", json_rows(10_000_000), 16.0)]
    {
        // MEMORY_KIND=grep|log|json measures one (for a heap profiler such as massif).
        if only.as_deref().is_some_and(|k| k != kind) {
            continue;
        }
        let x = peak_over_input(&output);
        eprintln!("{kind}: peak {x:.2}x the input ({} bytes)", output.len());
        if x > bound {
            over.push(format!("{kind}: {x:.2}x (bound {bound}x)"));
        }
    }
    assert!(over.is_empty(), "peak heap over its bound: {over:?}");
}
