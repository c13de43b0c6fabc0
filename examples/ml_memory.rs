//! Where the memory of loading an ONNX token classifier with tract goes, stage by stage:
//! resident memory (VmRSS) after each stage and its peak (VmHWM) during it, natively (Linux).
//! Run with glibc's mmap threshold low, so that every large buffer is its own mapping and freeing
//! it shows in RSS at once (wasm's linear memory never shrinks: there the peak is what stays):
//!
//! MALLOC_MMAP_THRESHOLD_=65536 cargo run --release --features ml --example ml_memory -- MODEL.onnx [--fold]
//!
//! The first stages go through tract step by step, keeping the weights int8 as the engine's
//! loader does (`--fold`: as tract alone does, folding them to fp32); the last ones through the
//! engine's loader.
//!
//! Each line also gives the live heap (bytes allocated and not freed, counted by this example's
//! allocator) and its peak during the stage: what an allocator that never returns memory (wasm's)
//! must at least hold, before fragmentation.

// A global allocator is unsafe by definition; the counting allocator is the only unsafe code here.
#![allow(unsafe_code)]

use headroom::ml::{Device, MlModel};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use tract_onnx::prelude::*;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Counting;

impl Counting {
    fn grow(n: usize) {
        let live = LIVE.fetch_add(n, Relaxed) + n;
        PEAK.fetch_max(live, Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            Counting::grow(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Relaxed);
            Counting::grow(new);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn status(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Probe(f64);

impl Probe {
    fn new() -> Probe {
        let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM
        Probe(status("VmRSS:"))
    }
    fn stage(&mut self, name: &str) {
        let (rss, hwm) = (status("VmRSS:"), status("VmHWM:"));
        let mb = |b: usize| b as f64 / 1048576.0;
        let (live, peak) = (mb(LIVE.load(Relaxed)), mb(PEAK.load(Relaxed)));
        println!(
            "{name:<40} rss {rss:>6.1} MB ({:>+6.1}) peak during {hwm:>6.1} MB | heap {live:>6.1} MiB, peak during {peak:>6.1} MiB",
            rss - self.0
        );
        self.0 = rss;
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        PEAK.store(LIVE.load(Relaxed), Relaxed);
    }
}

fn main() -> TractResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // --fold: the raw stages without the engine's int8 lever (tract folds the weights to fp32).
    let fold = args.iter().any(|a| a == "--fold");
    let path = args.iter().find(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| "models/default/model.onnx".into());
    let tok_path = std::path::Path::new(&path).with_file_name("tokenizer.json");
    let mut p = Probe::new();
    p.stage("start");
    let bytes = std::fs::read(&path)?;
    p.stage("model bytes read");
    let onnx = headroom::ml::tract::onnx();
    let proto = onnx.proto_model_for_read(&mut bytes.as_slice())?;
    p.stage("protobuf decoded");
    let mut m = onnx.model_for_proto_model(&proto)?;
    p.stage("inference model built");
    drop(proto);
    p.stage("protobuf dropped");
    if !fold {
        headroom::ml::int8_weight::keep_weights_int8(&mut m);
    }
    let s = m.symbols.sym("S");
    for i in 0..m.input_outlets()?.len() {
        m.set_input_fact(i, InferenceFact::dt_shape(i64::datum_type(), tvec![1.to_dim(), s.to_dim()]))?;
    }
    let typed = m.into_typed()?;
    p.stage("into_typed");
    let decl = typed.into_decluttered()?;
    p.stage("into_decluttered");
    let mut by_type = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for node in decl.nodes() {
        let t = if let Some(c) = node.op_as::<tract_onnx::tract_core::ops::konst::Const>() {
            c.val().clone()
        } else if let Some(w) = node.op_as::<headroom::ml::int8_weight::DequantizedWeight>() {
            // Weights the plan keeps int8 (src/ml/int8_weight.rs).
            w.int8().clone()
        } else if let Some(g) = node.op_as::<headroom::ml::int8_weight::GatheredWeight>() {
            g.weight().int8().clone()
        } else {
            continue;
        };
        let e = by_type.entry(format!("{:?}{}", t.datum_type(), if node.op_is::<tract_onnx::tract_core::ops::konst::Const>() { "" } else { " kept" })).or_default();
        e.0 += 1;
        e.1 += t.len() * t.datum_type().size_of();
    }
    for (dt, (n, b)) in &by_type {
        println!("  decluttered constants {dt:<6} {n:>4} tensors, {:>6.1} MB", *b as f64 / 1048576.0);
    }
    let opt = decl.into_optimized()?;
    p.stage("into_optimized");
    let plan = opt.into_runnable()?;
    p.stage("into_runnable");
    let ids: Vec<i64> = (0..512).map(|i| 1000 + i).collect();
    let n = ids.len();
    let t = |v: Vec<i64>| tract_ndarray::Array2::from_shape_vec((1, n), v).map(|a| a.into_tensor().into_tvalue());
    let out = plan.run(tvec![t(ids)?, t(vec![1; n])?])?;
    drop(out);
    p.stage("one 512-token run");
    drop(plan);
    drop(bytes);
    p.stage("all dropped");
    // The same through the engine's loader.
    let bytes = std::fs::read(&path)?;
    let tok = std::fs::read_to_string(tok_path)?;
    p.stage("bytes + tokenizer.json read");
    let model = MlModel::load(&bytes, &tok, Device::Cpu).map_err(|e| TractError::msg(e.to_string()))?;
    p.stage("MlModel::load (bytes borrowed)");
    drop(bytes);
    drop(model);
    p.stage("bytes and model dropped");
    let bytes = std::fs::read(&path)?;
    p.stage("bytes read");
    let model = MlModel::load_owned(bytes, &tok, Device::Cpu).map_err(|e| TractError::msg(e.to_string()))?;
    p.stage("MlModel::load_owned (bytes freed early)");
    let probs = model.keep_probs(&(0..510).map(|i| 1000 + i).collect::<Vec<i64>>()).map_err(|e| TractError::msg(e.to_string()))?;
    p.stage(&format!("keep_probs of 510 tokens ({})", probs.len()));
    Ok(())
}
