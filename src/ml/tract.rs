//! The tract backend: runs on every target (wasm32 with SIMD included). The model is optimised
//! once at load for a symbolic sequence length, so any window length up to the model's
//! positions runs without re-planning. Weight-only int8 models keep their weights int8 in the
//! plan (`int8_weight`).

use super::{Input, TokenClassifier};
use crate::error::{Error, Result};
use prost::Message;
use std::borrow::Cow;
use std::sync::Arc;
use tract_onnx::prelude::*;

pub struct TractClassifier {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<Input>,
    /// Index of the `logits` output (the first output when none has that name).
    output: usize,
}

/// The tract ONNX framework the loader uses: tract's, with the linear layers' int8 weights kept
/// int8 in the plan (`int8_weight`).
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    super::int8_weight::register(&mut onnx.op_register);
    onnx
}

fn load_err(e: impl std::fmt::Display) -> Error {
    Error::config("invalid_model", format!("the ONNX model could not be loaded: {e}"))
}

impl TractClassifier {
    /// Loads a token-classification ONNX model from its bytes: inputs `input_ids` and
    /// `attention_mask` (and optionally `token_type_ids`), int64 `[batch, sequence]`; output
    /// `logits` `[batch, sequence, 2]`.
    pub fn load(model: &[u8]) -> Result<TractClassifier> {
        TractClassifier::load_cow(Cow::Borrowed(model))
    }

    /// Like `load`, freeing owned bytes as soon as the protobuf is decoded: in wasm the linear
    /// memory never shrinks, so every buffer alive while tract optimises the graph raises the
    /// memory the instance keeps for good.
    pub fn load_cow(model: Cow<'_, [u8]>) -> Result<TractClassifier> {
        let proto = tract_onnx::pb::ModelProto::decode(&*model).map_err(load_err)?;
        drop(model);
        let mut m = onnx().model_for_proto_model(&proto).map_err(load_err)?;
        drop(proto);
        // Before typing, which would fold the weights to fp32 constants.
        super::int8_weight::keep_weights_int8(&mut m);
        let s = m.symbols.sym("S");
        let mut inputs = Vec::new();
        for (i, outlet) in m.input_outlets().map_err(load_err)?.to_vec().into_iter().enumerate() {
            let name = m.node(outlet.node).name.clone();
            let kind = Input::from_name(name.as_str())?;
            inputs.push(kind);
            m.set_input_fact(i, InferenceFact::dt_shape(i64::datum_type(), tvec![1.to_dim(), s.to_dim()]))
                .map_err(load_err)?;
        }
        if !inputs.contains(&Input::Ids) {
            return Err(Error::config("invalid_model", "the model has no input_ids input"));
        }
        let output = m
            .output_outlets()
            .map_err(load_err)?
            .iter()
            .position(|o| m.node(o.node).name == "logits")
            .unwrap_or(0);
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        super::wasm_gemm::link();
        let plan = m.into_optimized().map_err(load_err)?.into_runnable().map_err(load_err)?;
        Ok(TractClassifier { plan, inputs, output })
    }
}

fn run_err(e: impl std::fmt::Display) -> Error {
    Error::compression("model_failed", format!("the model failed: {e}"))
}

impl TokenClassifier for TractClassifier {
    fn logits(&self, input_ids: &[i64]) -> Result<Vec<[f32; 2]>> {
        let n = input_ids.len();
        let tensor = |v: Vec<i64>| -> Result<TValue> {
            Ok(tract_ndarray::Array2::from_shape_vec((1, n), v).map_err(run_err)?.into_tensor().into_tvalue())
        };
        let mut feed: TVec<TValue> = tvec![];
        for kind in &self.inputs {
            feed.push(match kind {
                Input::Ids => tensor(input_ids.to_vec())?,
                Input::Mask => tensor(vec![1; n])?,
                Input::TokenTypes => tensor(vec![0; n])?,
            });
        }
        let out = self.plan.run(feed).map_err(run_err)?;
        let t = out.get(self.output).ok_or_else(|| run_err("no output"))?;
        let view = t.to_plain_array_view::<f32>().map_err(run_err)?;
        let shape = view.shape().to_vec();
        if shape.len() != 3 || shape[0] != 1 || shape[1] != n || shape[2] < 2 {
            return Err(run_err(format!("expected logits of shape [1, {n}, 2], got {shape:?}")));
        }
        let c = shape[2];
        let flat: Vec<f32> = view.iter().copied().collect();
        Ok((0..n).map(|i| [flat[i * c], flat[i * c + 1]]).collect())
    }

    fn backend(&self) -> &'static str {
        "tract"
    }
}
