//! Weights kept int8 in the loaded plan (tract backend).
//!
//! A weight-only int8 model stores each weight as `DequantizeLinear(int8 constant, scale, zero
//! point)`. tract folds the linear layers' ones into fp32 constants while typing the graph, so the
//! plan holds them at four times their stored size and the load's peak holds some twice (int8
//! source and fp32 result; old and new graphs during the passes); the word embeddings stay int8,
//! but the plan casts the whole table to fp32 on every run to gather a few rows from it. In wasm
//! the linear memory never shrinks, so those peaks are what the instance keeps.
//!
//! Here a `DequantizeLinear` of a constant read only by matmuls or as a `Gather`'s data becomes
//! [`DequantizedWeight`], an op with no inputs that holds the int8 tensor and writes the fp32
//! weight when the plan evaluates it. tract's memory-ordered plan starts a node with no inputs
//! only when the node it feeds is next, and frees a value after its last reader, so one layer's
//! fp32 weight is alive at a time. A `Gather` on its first axis becomes [`GatheredWeight`], which
//! dequantizes only the rows it picks. The cost is dequantizing and packing each linear weight on
//! every run instead of once at load (benches/results/ml_memory.md: net, no slower, since the
//! per-run cast of the embedding table goes away). Any other `DequantizeLinear` goes through
//! tract's own translation, unchanged.

use std::sync::{Arc, OnceLock};
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::array::Gather;
use tract_onnx::tract_core::{as_op, not_out_of_plan, op_as_typed_op, op_out_of_plan};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::Expansion;

/// Ops (by tract name: ONNX `MatMul` parses as `MatMulInference`) whose weight input may stay
/// int8: they become tract matmuls that take a run-time B.
const MATMUL_OPS: &[&str] = &["MatMul", "MatMulInference", "Gemm"];

/// An ONNX op builder (tract's `OpBuilder`, which it does not export).
type OpBuilder = fn(&ParsingContext, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// tract's own `DequantizeLinear` builder, which [`register`] wraps.
static TRACT_BUILDER: OnceLock<Option<OpBuilder>> = OnceLock::new();

/// Replaces the `DequantizeLinear` builder of `ops` with one that records the op's axis, so that
/// [`keep_weights_int8`] can later mark the ones to keep int8. Does nothing if `ops` has no
/// such builder.
pub fn register(ops: &mut OnnxOpRegister) {
    let tract = *TRACT_BUILDER.get_or_init(|| tract_onnx::onnx().op_register.0.get("DequantizeLinear").copied());
    if tract.is_some() {
        ops.insert("DequantizeLinear", build);
    }
}

fn build(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let tract = TRACT_BUILDER.get().copied().flatten().context("DequantizeLinear builder missing")?;
    let (op, outputs) = tract(ctx, node)?;
    // tract's op is an `Expansion`; anything else (a later tract) is used as it is.
    let Some(inner) = op.as_op().downcast_ref::<Box<dyn Expansion>>().cloned() else {
        return Ok((op, outputs));
    };
    // The attribute tract read (ONNX default 1); block quantization was refused above.
    let axis = node.attribute.iter().find(|a| a.name == "axis").map_or(1, |a| a.i);
    Ok((tract_onnx::tract_hir::ops::expandable::expand(KeepInt8 { inner, axis, keep: false }), outputs))
}

/// Marks the `DequantizeLinear` nodes of `model` (parsed with [`register`]) that dequantize a
/// weight only matmuls read: those are typed as [`DequantizedWeight`] when their inputs turn out
/// constant. Returns how many were marked.
pub fn keep_weights_int8(model: &mut InferenceModel) -> usize {
    let mut marked = Vec::new();
    for node in model.nodes() {
        let Some(e) = node.op.as_op().downcast_ref::<Box<dyn Expansion>>() else { continue };
        let Some(k) = tract_onnx::tract_core::downcast_rs::Downcast::as_any(&**e).downcast_ref::<KeepInt8>() else { continue };
        let succ = node.outputs.first().map(|o| &o.successors);
        let reads_as_weight = |inlet: &InletId| {
            let name = model.node(inlet.node).op.name();
            MATMUL_OPS.contains(&&*name) || (name == "Gather" && inlet.slot == 0)
        };
        let weight_only = node.outputs.len() == 1 && succ.is_some_and(|s| !s.is_empty() && s.iter().all(reads_as_weight));
        if weight_only {
            marked.push((node.id, KeepInt8 { keep: true, ..k.clone() }));
        }
    }
    let n = marked.len();
    for (id, op) in marked {
        model.node_mut(id).op = tract_onnx::tract_hir::ops::expandable::expand(op);
    }
    n
}

/// tract's `DequantizeLinear` expansion, wired as a [`DequantizedWeight`] when `keep` (it
/// dequantizes a weight that only matmuls read) and its inputs are constants.
#[derive(Debug, Clone)]
struct KeepInt8 {
    inner: Box<dyn Expansion>,
    axis: i64,
    keep: bool,
}

impl Expansion for KeepInt8 {
    fn name(&self) -> StaticName {
        self.inner.name()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        self.inner.info()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        self.inner.rules(s, inputs, outputs)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        self.inner.wire(prefix, model, inputs)
    }

    // Analysis would fold a kept weight into an fp32 constant: what this op exists to avoid.
    fn runs_out_of_plan(&self) -> bool {
        !self.keep && self.inner.runs_out_of_plan()
    }

    fn wire_with_inference_model_and_node(
        &self,
        prefix: &str,
        source: &InferenceModel,
        node: &InferenceNode,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        if self.keep {
            if let Some(op) = DequantizedWeight::from_facts(target, inputs, self.axis)? {
                return target.wire_node(prefix, op, &[]);
            }
        }
        self.inner.wire_with_inference_model_and_node(prefix, source, node, target, inputs)
    }
}

/// An fp32 weight computed from int8 on evaluation: `(q - zero[c]) * scale[c]`, `c` the index
/// along `axis` (or one scale and zero point for the whole tensor), in the same f32 operations
/// as tract's folding, so the weight is bit-identical.
#[derive(Debug, Clone)]
pub struct DequantizedWeight {
    q: Arc<Tensor>,
    axis: usize,
    scale: Vec<f32>,
    zero: Vec<f32>,
}

impl DequantizedWeight {
    /// The op for `DequantizeLinear(inputs)` when all three inputs are constants of the types
    /// and shapes ONNX allows (int8/uint8 data; per-tensor or per-axis f32 scale); `None`
    /// otherwise, and tract's translation is used.
    fn from_facts(target: &TypedModel, inputs: &[OutletId], axis: i64) -> TractResult<Option<DequantizedWeight>> {
        let konst = |i: usize| -> TractResult<Option<Arc<Tensor>>> {
            Ok(match inputs.get(i) {
                Some(o) => target.outlet_fact(*o)?.konst.clone(),
                None => None,
            })
        };
        let (Some(q), Some(scale)) = (konst(0)?, konst(1)?) else { return Ok(None) };
        let rank = q.rank();
        let dt = q.datum_type();
        if rank == 0 || !(dt == i8::datum_type() || dt == u8::datum_type()) || scale.datum_type() != f32::datum_type() {
            return Ok(None);
        }
        let axis = if axis < 0 { axis + rank as i64 } else { axis };
        let Some(axis) = usize::try_from(axis).ok().filter(|&a| a < rank) else { return Ok(None) };
        let scale: Vec<f32> = scale.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        if scale.len() != 1 && scale.len() != q.shape()[axis] {
            return Ok(None);
        }
        let zero: Vec<f32> = match (inputs.len(), konst(2)?) {
            (2, _) => vec![0.0; scale.len()],
            (3, Some(z)) if z.datum_type() == dt && z.len() == scale.len() => {
                let z = z.try_as_plain_ram()?;
                if dt == i8::datum_type() {
                    z.as_slice::<i8>()?.iter().map(|&v| v as f32).collect()
                } else {
                    z.as_slice::<u8>()?.iter().map(|&v| v as f32).collect()
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(DequantizedWeight { q, axis, scale, zero }))
    }

    /// The int8 (or uint8) tensor the weight is computed from.
    pub fn int8(&self) -> &Arc<Tensor> {
        &self.q
    }

    /// Dequantizes `q`, the values of `self.q` from flat index `start` on, into `out`.
    /// `start` is a whole number of blocks (values sharing one scale) from the start.
    fn dequant<T: Copy + Into<f32>>(&self, start: usize, q: &[T], out: &mut [f32]) {
        if self.scale.len() == 1 {
            let (s, z) = (self.scale[0], self.zero[0]);
            out.iter_mut().zip(q).for_each(|(o, &v)| *o = (v.into() - z) * s);
            return;
        }
        let n = self.scale.len();
        let inner: usize = self.q.shape()[self.axis + 1..].iter().product::<usize>().max(1);
        let params = || self.scale.iter().zip(&self.zero);
        if inner == 1 && start % n == 0 {
            // The layout of a linear layer's weight (one scale per output column of [K, N]):
            // rows of `n` values, each against the whole scale vector.
            for (orow, qrow) in out.chunks_mut(n).zip(q.chunks(n)) {
                for ((o, &v), (&s, &z)) in orow.iter_mut().zip(qrow).zip(params()) {
                    *o = (v.into() - z) * s;
                }
            }
        } else {
            let first = (start / inner) % n;
            let blocks = out.chunks_mut(inner).zip(q.chunks(inner));
            for ((oblock, qblock), (&s, &z)) in blocks.zip(params().cycle().skip(first)) {
                oblock.iter_mut().zip(qblock).for_each(|(o, &v)| *o = (v.into() - z) * s);
            }
        }
    }

    /// Dequantizes the values `start..start + out.len()` of `self.q` into `out`.
    fn dequant_range(&self, start: usize, out: &mut [f32]) -> TractResult<()> {
        let q = self.q.try_as_plain_ram()?;
        let end = start + out.len();
        if self.q.datum_type() == i8::datum_type() {
            let q = q.as_slice::<i8>()?.get(start..end).context("dequantized range out of the weight")?;
            self.dequant(start, q, out);
        } else {
            let q = q.as_slice::<u8>()?.get(start..end).context("dequantized range out of the weight")?;
            self.dequant(start, q, out);
        }
        Ok(())
    }
}

impl PartialEq for DequantizedWeight {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        self.axis == other.axis
            && self.q == other.q
            && bits(&self.scale) == bits(&other.scale)
            && bits(&self.zero) == bits(&other.zero)
    }
}

impl Eq for DequantizedWeight {}

impl Op for DequantizedWeight {
    fn name(&self) -> StaticName {
        "DequantizedWeight".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{:?} {:?} kept int8, axis {}", self.q.datum_type(), self.q.shape(), self.axis)])
    }

    op_as_typed_op!();
}

impl EvalOp for DequantizedWeight {
    // Never folded into a constant: keeping it out of const-folding is the point.
    not_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, _inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut out = Tensor::zero::<f32>(self.q.shape())?;
        self.dequant_range(0, out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?)?;
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DequantizedWeight {
    as_op!();

    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(TypedFact::dt_shape(f32::datum_type(), self.q.shape())))
    }

    /// `Gather(weight, ids)` on the first axis (an embedding lookup) becomes [`GatheredWeight`],
    /// which dequantizes the rows it picks: tract would otherwise compute the whole fp32 table
    /// on every run (the default model's word embeddings: 45 MiB) to keep a few hundred rows.
    fn declutter(&self, model: &TypedModel, node: &TypedNode) -> TractResult<Option<TypedModelPatch>> {
        let Some(succ) = model.single_succ(node.id)? else { return Ok(None) };
        let Some(gather) = succ.op_as::<Gather>() else { return Ok(None) };
        let ids = match succ.inputs.as_slice() {
            [data, ids] if *data == OutletId::new(node.id, 0) => *ids,
            _ => return Ok(None),
        };
        if gather.axis != 0
            || gather.output_type.is_some_and(|t| t != f32::datum_type())
            || model.outlet_fact(ids)?.datum_type != i64::datum_type()
        {
            return Ok(None);
        }
        let mut patch = TypedModelPatch::default();
        let ids = patch.tap_model(model, ids)?;
        let out = patch.wire_node(&succ.name, GatheredWeight { weight: self.clone() }, &[ids])?;
        patch.shunt_outside(model, succ.id.into(), out[0])?;
        Ok(Some(patch))
    }
}

/// The rows of a [`DequantizedWeight`] that an `i64` index tensor picks along its first axis,
/// dequantized (ONNX `Gather(DequantizeLinear(q, scale, zero), ids)`; negative ids count from
/// the end). An id out of range is an error, not a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatheredWeight {
    weight: DequantizedWeight,
}

impl GatheredWeight {
    /// The dequantized weight the rows come from.
    pub fn weight(&self) -> &DequantizedWeight {
        &self.weight
    }
}

impl Op for GatheredWeight {
    fn name(&self) -> StaticName {
        "GatheredWeight".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        self.weight.info()
    }

    op_as_typed_op!();
}

impl EvalOp for GatheredWeight {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let ids = inputs.first().context("GatheredWeight takes one input")?;
        let ids = ids.to_plain_array_view::<i64>()?;
        let shape = self.weight.q.shape();
        let rows = *shape.first().context("a gathered weight has rank 1 or more")?;
        let row_len: usize = shape[1..].iter().product();
        let mut out_shape: TVec<usize> = ids.shape().into();
        out_shape.extend(shape[1..].iter().copied());
        let mut out = Tensor::zero::<f32>(&out_shape)?;
        {
            let mut view = out.try_as_plain_ram_mut()?;
            let o = view.as_slice_mut::<f32>()?;
            for (&id, dst) in ids.iter().zip(o.chunks_mut(row_len.max(1))) {
                let row = if id < 0 { id + rows as i64 } else { id };
                let row = usize::try_from(row)
                    .ok()
                    .filter(|&r| r < rows)
                    .with_context(|| format!("index {id} is out of range for {rows} rows"))?;
                self.weight.dequant_range(row * row_len, dst)?;
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for GatheredWeight {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let ids = inputs.first().context("GatheredWeight takes one input")?;
        let mut shape: TVec<TDim> = ids.shape.iter().cloned().collect();
        shape.extend(self.weight.q.shape()[1..].iter().map(|&d| d.to_dim()));
        Ok(tvec!(TypedFact::dt_shape(f32::datum_type(), shape)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::tract::TractClassifier;
    use crate::ml::TokenClassifier;
    use prost::Message;
    use tract_onnx::pb::{self, tensor_proto::DataType};

    // A token classifier small enough to check by hand: int8 embeddings [V, H] with one scale
    // and zero point per row (axis 0), then three int8 linear layers: scales per output column
    // (axis 1, zero points given), per input row (axis 0, none given), one for the whole tensor.
    const V: usize = 5;
    const H: usize = 3;
    const F: usize = 4;
    const EMB: [i8; V * H] = [1, -2, 3, 4, 5, -6, 7, -8, 9, -10, 11, 12, 127, -128, 0];
    const EMB_SCALE: [f32; V] = [0.5, 0.25, 0.125, 1.5, 0.01];
    const EMB_ZERO: [i8; V] = [0, 1, -1, 2, 0];
    const W1: [i8; H * F] = [3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8];
    const W1_SCALE: [f32; F] = [0.1, 0.2, 0.3, 0.4];
    const W1_ZERO: [i8; F] = [0, -1, 1, 0];
    const W2: [i8; F * 2] = [2, -7, 1, 8, -2, 8, 1, -8];
    const W2_SCALE: [f32; F] = [0.5, 0.05, 1.0, 2.0];
    const W3: [i8; 4] = [5, -3, 2, 7];
    const W3_SCALE: f32 = 0.75;
    const W3_ZERO: i8 = 1;

    fn int8(name: &str, dims: &[usize], v: &[i8]) -> pb::TensorProto {
        pb::TensorProto {
            name: name.into(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Int8 as i32,
            raw_data: v.iter().map(|&x| x as u8).collect(),
            ..Default::default()
        }
    }

    fn float(name: &str, v: &[f32]) -> pb::TensorProto {
        pb::TensorProto {
            name: name.into(),
            dims: vec![v.len() as i64],
            data_type: DataType::Float as i32,
            float_data: v.to_vec(),
            ..Default::default()
        }
    }

    fn node(op: &str, inputs: &[&str], output: &str, axis: Option<i64>) -> pb::NodeProto {
        let attribute = axis
            .map(|i| pb::AttributeProto {
                name: "axis".into(),
                r#type: pb::attribute_proto::AttributeType::Int as i32,
                i,
                ..Default::default()
            })
            .into_iter()
            .collect();
        pb::NodeProto {
            op_type: op.into(),
            name: output.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute,
            ..Default::default()
        }
    }

    fn value(name: &str, elem: DataType, dims: &[Option<i64>]) -> pb::ValueInfoProto {
        use pb::tensor_shape_proto::{dimension::Value, Dimension};
        let dim = dims
            .iter()
            .map(|d| Dimension {
                value: Some(match d {
                    Some(v) => Value::DimValue(*v),
                    None => Value::DimParam("S".into()),
                }),
                ..Default::default()
            })
            .collect();
        pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: elem as i32,
                    shape: Some(pb::TensorShapeProto { dim }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn model_bytes() -> Vec<u8> {
        let graph = pb::GraphProto {
            name: "g".into(),
            node: vec![
                node("DequantizeLinear", &["emb_q", "emb_s", "emb_z"], "emb", Some(0)),
                node("Gather", &["emb", "input_ids"], "h", None),
                node("DequantizeLinear", &["w1_q", "w1_s", "w1_z"], "w1", Some(1)),
                node("MatMul", &["h", "w1"], "a", None),
                node("DequantizeLinear", &["w2_q", "w2_s"], "w2", Some(0)),
                node("MatMul", &["a", "w2"], "b", None),
                node("DequantizeLinear", &["w3_q", "w3_s", "w3_z"], "w3", None),
                node("MatMul", &["b", "w3"], "logits", None),
            ],
            initializer: vec![
                int8("emb_q", &[V, H], &EMB),
                float("emb_s", &EMB_SCALE),
                int8("emb_z", &[V], &EMB_ZERO),
                int8("w1_q", &[H, F], &W1),
                float("w1_s", &W1_SCALE),
                int8("w1_z", &[F], &W1_ZERO),
                int8("w2_q", &[F, 2], &W2),
                float("w2_s", &W2_SCALE),
                int8("w3_q", &[2, 2], &W3),
                pb::TensorProto { dims: vec![], ..float("w3_s", &[W3_SCALE]) },
                int8("w3_z", &[], &[W3_ZERO]),
            ],
            input: vec![value("input_ids", DataType::Int64, &[Some(1), None])],
            output: vec![value("logits", DataType::Float, &[Some(1), None, Some(2)])],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 17 }],
            graph: Some(graph),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// The model computed in plain f32 from the ONNX definitions.
    fn reference(ids: &[usize]) -> Vec<[f32; 2]> {
        let emb = |r: usize, j: usize| (EMB[r * H + j] as f32 - EMB_ZERO[r] as f32) * EMB_SCALE[r];
        let w1 = |k: usize, j: usize| (W1[k * F + j] as f32 - W1_ZERO[j] as f32) * W1_SCALE[j];
        let w2 = |k: usize, j: usize| W2[k * 2 + j] as f32 * W2_SCALE[k];
        let w3 = |k: usize, j: usize| (W3[k * 2 + j] as f32 - W3_ZERO as f32) * W3_SCALE;
        ids.iter()
            .map(|&id| {
                let a: Vec<f32> = (0..F).map(|j| (0..H).map(|k| emb(id, k) * w1(k, j)).sum()).collect();
                let b: [f32; 2] = [0, 1].map(|j| (0..F).map(|k| a[k] * w2(k, j)).sum());
                [0, 1].map(|j| (0..2).map(|k| b[k] * w3(k, j)).sum())
            })
            .collect()
    }

    #[test]
    fn int8_weights_compute_what_dequantize_linear_does() -> crate::error::Result<()> {
        let model = TractClassifier::load(&model_bytes())?;
        let ids = [0usize, 4, 2, 3, 1, 4];
        let got = model.logits(&ids.map(|i| i as i64))?;
        let want = reference(&ids);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            for k in 0..2 {
                assert!((g[k] - w[k]).abs() <= 1e-5 * w[k].abs().max(1.0), "{got:?} vs {want:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn the_plan_keeps_every_weight_int8() -> TractResult<()> {
        let mut m = crate::ml::tract::onnx().model_for_read(&mut model_bytes().as_slice())?;
        assert_eq!(keep_weights_int8(&mut m), 4);
        let plan = m.into_optimized()?;
        let count = |name: &str| plan.nodes().iter().filter(|n| n.op.name() == name).count();
        assert_eq!((count("DequantizedWeight"), count("GatheredWeight")), (3, 1));
        // No fp32 copy of a weight is left as a constant.
        for n in plan.nodes() {
            if let Some(c) = n.op_as::<tract_onnx::tract_core::ops::konst::Const>() {
                assert!(c.val().datum_type() != f32::datum_type() || c.val().len() <= 1, "{n}");
            }
        }
        Ok(())
    }

    #[test]
    fn an_id_out_of_the_table_is_an_error_not_a_panic() -> crate::error::Result<()> {
        let model = TractClassifier::load(&model_bytes())?;
        assert!(model.logits(&[1, V as i64]).is_err());
        assert!(model.logits(&[-(V as i64) - 1]).is_err());
        // A negative id counts from the end, as ONNX Gather does.
        let last = model.logits(&[-1])?;
        let want = reference(&[V - 1]);
        assert!((last[0][0] - want[0][0]).abs() <= 1e-5 * want[0][0].abs().max(1.0));
        Ok(())
    }
}
