"""A token classifier made only of dense MatMuls, with the default model's inputs, outputs and layer
shapes: a Gather embedding (vocab 30522 x 384) times the mask, then LAYERS x (384x384, 384x1536,
1536x384) MatMuls, then 384x2. For benches/ml_profile.mjs: tract and onnxruntime-web on dense f32
GEMMs alone (no attention, softmax or normalisation). Needs the `onnx` package (models/train's
requirements).   python benches/ml_matmul_model.py OUT.onnx [LAYERS]
"""
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
out = sys.argv[1]; layers = int(sys.argv[2]) if len(sys.argv) > 2 else 6
rng = np.random.default_rng(0)
H, F, V = 384, 1536, 30522
inits, nodes = [], []
def w(name, shape):
    inits.append(numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32), name)); return name
nodes.append(helper.make_node('Gather', [w('emb', (V, H)), 'input_ids'], ['x0'], axis=0))
nodes.append(helper.make_node('Cast', ['attention_mask'], ['mf'], to=TensorProto.FLOAT))
inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), 'ax'))
nodes.append(helper.make_node('Unsqueeze', ['mf', 'ax'], ['mu']))
nodes.append(helper.make_node('Mul', ['x0', 'mu'], ['x']))
x = 'x'
for l in range(layers):
    nodes.append(helper.make_node('MatMul', [x, w(f'wq{l}', (H, H))], [f'q{l}']))
    nodes.append(helper.make_node('MatMul', [f'q{l}', w(f'w1{l}', (H, F))], [f'h{l}']))
    nodes.append(helper.make_node('MatMul', [f'h{l}', w(f'w2{l}', (F, H))], [f'y{l}']))
    x = f'y{l}'
nodes.append(helper.make_node('MatMul', [x, w('wc', (H, 2))], ['logits']))
g = helper.make_graph(nodes, 'mm', [helper.make_tensor_value_info('input_ids', TensorProto.INT64, ['batch_size', 'sequence_length']),
    helper.make_tensor_value_info('attention_mask', TensorProto.INT64, ['batch_size', 'sequence_length'])],
    [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['batch_size', 'sequence_length', 2])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]); m.ir_version = 8
onnx.checker.check_model(m); onnx.save(m, out)
S = 512; print(f'{out}: {layers} layers, {2*S*(H*H+H*F+F*H)*layers/1e9:.3f} GFLOP per {S}-token window (dense layers)')
