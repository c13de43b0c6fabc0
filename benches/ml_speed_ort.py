"""ONNX Runtime (Python, CPU) on the same window as benches/ml_speed.rs, for comparison.

python benches/ml_speed_ort.py MODEL.onnx N_TOKENS [RUNS] [THREADS]
(N_TOKENS: the window length ml_speed.rs printed; the ids are random but the cost does not
depend on them.) Runs with session.disable_quant_qdq=1 (int8 weights expanded to fp32 at load,
as tract does) and, for reference, ORT's default int8 QDQ path.
"""
import sys
import time

import numpy as np
import onnxruntime as ort

model, n = sys.argv[1], int(sys.argv[2])
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
for label, entries in (("fp32 (disable_quant_qdq)", {"session.disable_quant_qdq": "1"}), ("ORT default (int8 QDQ)", {})):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    for k, v in entries.items():
        so.add_session_config_entry(k, v)
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    ids = np.random.default_rng(0).integers(1000, 2000, (1, n)).astype(np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if "token_type_ids" in names:
        feed["token_type_ids"] = np.zeros_like(ids)
    s.run(None, feed)
    t = []
    for _ in range(runs):
        a = time.perf_counter()
        s.run(None, feed)
        t.append(time.perf_counter() - a)
    med = sorted(t)[len(t) // 2]
    print(f"onnxruntime {ort.__version__} {label}, {threads} thread(s): {n}-token window {med * 1e3:.1f} ms = {n / med:.0f} tokens/s")
