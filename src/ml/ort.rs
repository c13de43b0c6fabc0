//! The ONNX Runtime backend (feature `cuda`, native only): the CUDA execution provider with CPU
//! fallback. ONNX Runtime is loaded at run time from `ORT_DYLIB_PATH` (the library of the PyPI
//! `onnxruntime` or `onnxruntime-gpu` wheel, `onnxruntime/capi/libonnxruntime.so.*`), so nothing
//! is downloaded or linked at build time.

use super::{Device, Input, TokenClassifier};
use crate::error::{Error, Result};
use ort::environment::Environment;
use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

pub struct OrtClassifier {
    // ort's `run` takes `&mut self` (some EP allocators are not thread-safe): one run at a time.
    session: Mutex<Session>,
    inputs: Vec<(String, Input)>,
    output: String,
    backend: &'static str,
}

fn load_err(e: impl std::fmt::Display) -> Error {
    Error::config("invalid_model", format!("ONNX Runtime could not load the model: {e}"))
}

fn run_err(e: impl std::fmt::Display) -> Error {
    Error::compression("model_failed", format!("ONNX Runtime failed: {e}"))
}

/// The process's ONNX Runtime environment, loading the library once.
fn environment() -> Result<&'static Environment> {
    static ENV: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var("ORT_DYLIB_PATH").ok().filter(|p| !p.is_empty()).ok_or_else(|| {
            "ORT_DYLIB_PATH is not set: point it at libonnxruntime.so.* from the PyPI onnxruntime wheel (scripts/setup.sh ort installs one under .tools/ort)".to_string()
        })?;
        ort::init_from(&path).map_err(|e| format!("{path}: {e}"))?.with_name("headroom").build().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::config("ort_unavailable", format!("ONNX Runtime is not available: {e}")))
}

/// Whether the ONNX Runtime library can be loaded (for `Device::Auto`'s fallback to tract).
pub fn available() -> bool {
    environment().is_ok()
}

impl OrtClassifier {
    /// Loads the model on `device`: `Cuda` requires the CUDA execution provider, `Auto` tries it
    /// and falls back to the CPU, `Cpu` uses the CPU.
    pub fn load(model: &[u8], device: Device) -> Result<OrtClassifier> {
        use ort::ep::ExecutionProvider;
        let env = environment()?;
        let mut builder = Session::builder(env)
            .map_err(load_err)?
            // Int8 weights expanded to fp32 at load: faster than ORT's 8-bit kernels on this model
            // shape, and closer to tract's outputs.
            .with_config_entry("session.disable_quant_qdq", "1")
            .map_err(load_err)?;
        let cuda_built = ort::ep::CUDA::is_available().unwrap_or(false);
        let backend = match device {
            Device::Cpu => "ort-cpu",
            Device::Cuda => {
                if !cuda_built {
                    return Err(Error::config(
                        "cuda_unavailable",
                        "this ONNX Runtime library has no CUDA execution provider (install onnxruntime-gpu)",
                    ));
                }
                builder = builder
                    .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                    .map_err(|e| Error::config("cuda_unavailable", format!("CUDA could not be used: {e}")))?;
                "ort-cuda"
            }
            Device::Auto if cuda_built => {
                builder = builder.with_execution_providers([ort::ep::CUDA::default().build()]).map_err(load_err)?;
                "ort-cuda"
            }
            Device::Auto => "ort-cpu",
        };
        let session = builder.commit_from_memory(model).map_err(load_err)?;
        let mut inputs = Vec::new();
        for i in session.inputs() {
            let kind = Input::from_name(i.name())?;
            inputs.push((i.name().to_string(), kind));
        }
        let output = session
            .outputs()
            .iter()
            .find(|o| o.name() == "logits")
            .or_else(|| session.outputs().first())
            .map(|o| o.name().to_string())
            .ok_or_else(|| Error::config("invalid_model", "the model has no output"))?;
        Ok(OrtClassifier { session: Mutex::new(session), inputs, output, backend })
    }
}

impl TokenClassifier for OrtClassifier {
    fn logits(&self, input_ids: &[i64]) -> Result<Vec<[f32; 2]>> {
        let n = input_ids.len();
        let mut feed: Vec<(Cow<'static, str>, SessionInputValue<'static>)> = Vec::new();
        for (name, kind) in &self.inputs {
            let data = match kind {
                Input::Ids => input_ids.to_vec(),
                Input::Mask => vec![1i64; n],
                Input::TokenTypes => vec![0i64; n],
            };
            let t = Tensor::from_array((vec![1i64, n as i64], data)).map_err(run_err)?;
            feed.push((Cow::Owned(name.clone()), SessionInputValue::from(t)));
        }
        let mut session = self.session.lock().map_err(|_| run_err("the session lock was poisoned"))?;
        let out = session.run(feed).map_err(run_err)?;
        let (shape, data) = out[self.output.as_str()].try_extract_tensor::<f32>().map_err(run_err)?;
        let shape: Vec<i64> = shape.to_vec();
        if shape.len() != 3 || shape[0] != 1 || shape[1] != n as i64 || shape[2] < 2 {
            return Err(run_err(format!("expected logits of shape [1, {n}, 2], got {shape:?}")));
        }
        let c = shape[2] as usize;
        Ok((0..n).map(|i| [data[i * c], data[i * c + 1]]).collect())
    }

    fn backend(&self) -> &'static str {
        self.backend
    }
}
