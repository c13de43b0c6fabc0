"""Export the trained classifier to ONNX (opset 17) with numpy + `onnx` (no torch).

Graph contract: inputs input_ids, attention_mask (int64 [batch, sequence]); output logits
(float32 [batch, sequence, 2]); class 1 = keep. Only standard opset-17 ops (Gather, MatMul,
LayerNormalization, Softmax, Erf, ...): no EmbedLayerNormalization or other ORT fusions, and
no graph.value_info (tract cannot unify exporter value_info with concrete shapes).

--int8: weight-only int8, symmetric, per output channel (int8 initializer +
DequantizeLinear, fp32 math). Matrices of linear layers are stored [in, out] with one scale
per output column; embedding tables one scale per row. LayerNorm, biases and the 2-way
classifier stay fp32.

Usage: python export.py WEIGHTS.npz OUT.onnx [--int8] [--tokenizer OUT_tokenizer.json]
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

N_HEAD = 12  # MiniLM-L6: 6 layers, hidden 384 (read from the weights)


class G:
    def __init__(self, int8):
        self.nodes, self.inits, self.int8, self.n = [], [], int8, 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(self, op_type, inputs, base=None, **attrs):
        out = self.name(base or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out + "_node", **attrs))
        return out

    def weight(self, name, w, axis):
        """fp32 initializer, or int8 + DequantizeLinear with one scale per slice along axis."""
        w = np.ascontiguousarray(w, np.float32)
        if not self.int8:
            return self.const(name, w)
        red = tuple(i for i in range(w.ndim) if i != axis)
        scale = np.maximum(np.abs(w).max(axis=red), 1e-8) / 127.0
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        self.const(name + "_q", q)
        self.const(name + "_scale", scale.astype(np.float32))
        self.const(name + "_zp", np.zeros_like(scale, np.int8))
        return self.op("DequantizeLinear", [name + "_q", name + "_scale", name + "_zp"], name, axis=axis)


def build(p, int8, n_head=N_HEAD, token_type_input=False, opset=17):
    """ONNX ModelProto for BERT-style weights p (Hugging Face names + classifier.*).

    token_type_input adds a third int64 input token_type_ids (as BERT exports from other
    tools have); the default model takes only input_ids and attention_mask.
    """
    g = G(int8)
    ids, am = "input_ids", "attention_mask"
    d = p["embeddings.word_embeddings.weight"].shape[1]
    n_layer = len({k.split(".")[2] for k in p if k.startswith("encoder.layer.")})
    word = g.weight("word_embeddings", p["embeddings.word_embeddings.weight"], 0)
    pos = g.weight("position_embeddings", p["embeddings.position_embeddings.weight"], 0)
    x = g.op("Gather", [word, ids], axis=0)
    shape = g.op("Shape", [ids])
    seq = g.op("Gather", [shape, g.const("one_i64", np.array(1, np.int64))], axis=0)
    rng = g.op("Range", [g.const("zero_i64", np.array(0, np.int64)), seq, "one_i64"])
    x = g.op("Add", [x, g.op("Gather", [pos, rng], axis=0)])
    if token_type_input:
        tt = g.const("token_type_embeddings", p["embeddings.token_type_embeddings.weight"])
        x = g.op("Add", [x, g.op("Gather", [tt, "token_type_ids"], axis=0)])
    else:
        x = g.op("Add", [x, g.const("token_type_embedding0", p["embeddings.token_type_embeddings.weight"][0])])

    def ln(x, pre):
        return g.op("LayerNormalization", [x, g.const(pre + ".weight", p[pre + ".weight"]),
                                           g.const(pre + ".bias", p[pre + ".bias"])],
                    axis=-1, epsilon=1e-12)

    def lin(x, pre):
        w = g.weight(pre + ".weight", p[pre + ".weight"].T, 1)
        return g.op("Add", [g.op("MatMul", [x, w]), g.const(pre + ".bias", p[pre + ".bias"])])

    x = ln(x, "embeddings.LayerNorm")
    m = g.op("Cast", [am], to=TensorProto.FLOAT)
    m = g.op("Sub", [g.const("one_f", np.array(1.0, np.float32)), m])
    m = g.op("Mul", [m, g.const("neg_big", np.array(-10000.0, np.float32))])
    bias = g.op("Unsqueeze", [m, g.const("axes_12", np.array([1, 2], np.int64))])
    hd = d // n_head
    heads = g.const("heads_shape", np.array([0, 0, n_head, hd], np.int64))
    merged = g.const("merged_shape", np.array([0, 0, d], np.int64))
    scale = g.const("attn_scale", np.array(1.0 / np.sqrt(hd), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    inv_sqrt2 = g.const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
    for i in range(n_layer):
        pre = f"encoder.layer.{i}."
        q = g.op("Transpose", [g.op("Reshape", [lin(x, pre + "attention.self.query"), heads])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [lin(x, pre + "attention.self.key"), heads])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [lin(x, pre + "attention.self.value"), heads])], perm=[0, 2, 1, 3])
        s = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias])
        a = g.op("MatMul", [g.op("Softmax", [s], axis=-1), v])
        a = g.op("Reshape", [g.op("Transpose", [a], perm=[0, 2, 1, 3]), merged])
        x = ln(g.op("Add", [x, lin(a, pre + "attention.output.dense")]), pre + "attention.output.LayerNorm")
        h = lin(x, pre + "intermediate.dense")
        h = g.op("Mul", [g.op("Mul", [h, half]),
                         g.op("Add", [g.op("Erf", [g.op("Mul", [h, inv_sqrt2])]), "one_f"])])
        x = ln(g.op("Add", [x, lin(h, pre + "output.dense")]), pre + "output.LayerNorm")
    cw = g.const("classifier.weight", p["classifier.weight"].T.astype(np.float32))
    logits = g.op("Add", [g.op("MatMul", [x, cw]), g.const("classifier.bias", p["classifier.bias"])])
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits_out"))

    dims = ["batch_size", "sequence_length"]
    inputs = [helper.make_tensor_value_info(ids, TensorProto.INT64, dims),
              helper.make_tensor_value_info(am, TensorProto.INT64, dims)]
    if token_type_input:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, dims))
    graph = helper.make_graph(
        g.nodes, "token_classifier", inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, dims + [2])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="headroom-models-train")
    model.ir_version = 8
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def save_tokenizer(path):
    from common import student_tokenizer
    student_tokenizer(512).save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("out")
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--tokenizer")
    args = ap.parse_args()
    p = dict(np.load(args.weights))
    model = build(p, args.int8)
    onnx.save(model, args.out)
    if args.tokenizer:
        save_tokenizer(args.tokenizer)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
