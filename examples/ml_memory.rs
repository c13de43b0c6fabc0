//! Where the memory of loading an ONNX token classifier with tract goes, stage by stage:
//! resident memory (VmRSS) after each stage and its peak (VmHWM) during it, natively (Linux).
//! Run with glibc's mmap threshold low, so that every large buffer is its own mapping and freeing
//! it shows in RSS at once (wasm's linear memory never shrinks: there the peak is what stays):
//!
//! MALLOC_MMAP_THRESHOLD_=65536 cargo run --release --features ml --example ml_memory -- MODEL.onnx

use headroom::ml::{Device, MlModel};
use tract_onnx::prelude::*;

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
        println!("{name:<34} rss {rss:>7.1} MB ({:>+7.1})  peak during {hwm:>7.1} MB", rss - self.0);
        self.0 = rss;
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
}

fn main() -> TractResult<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "models/default/model.onnx".into());
    let tok_path = std::path::Path::new(&path).with_file_name("tokenizer.json");
    let mut p = Probe::new();
    p.stage("start");
    let bytes = std::fs::read(&path)?;
    p.stage("model bytes read");
    let onnx = tract_onnx::onnx();
    let proto = onnx.proto_model_for_read(&mut bytes.as_slice())?;
    p.stage("protobuf decoded");
    let mut m = onnx.model_for_proto_model(&proto)?;
    p.stage("inference model built");
    drop(proto);
    p.stage("protobuf dropped");
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
        if let Some(c) = node.op_as::<tract_onnx::tract_core::ops::konst::Const>() {
            let t = c.val();
            let e = by_type.entry(format!("{:?}", t.datum_type())).or_default();
            e.0 += 1;
            e.1 += t.len() * t.datum_type().size_of();
        }
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
