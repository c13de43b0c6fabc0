"""ONNX Runtime (Python, CPU) on the same window as benches/ml_speed.rs, for comparison.

python benches/ml_speed_ort.py MODEL.onnx WINDOW [RUNS] [THREADS]
WINDOW: the window JSON that benches/ml_bench.mjs writes (`{"ids": [...]}`: the ids the model
sees, from the native bench), or a token count (random ids; the cost does not depend on them).
Runs with session.disable_quant_qdq=1 (int8 weights expanded to fp32 at load, as tract does)
and ORT's default int8 QDQ path. The last line printed is one JSON object (timings in ms and
each configuration's logits for the window).
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

model, window = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
if window.isdigit():
    ids = np.random.default_rng(0).integers(1000, 2000, (1, int(window))).astype(np.int64)
else:
    with open(window) as f:
        ids = np.array([json.load(f)["ids"]], dtype=np.int64)
n = ids.shape[1]
out = {"runtime": "onnxruntime", "version": ort.__version__, "threads": threads, "tokens": n, "runs": runs, "configs": []}
for key, label, entries in (
    ("fp32", "fp32 (disable_quant_qdq)", {"session.disable_quant_qdq": "1"}),
    ("int8", "ORT default (int8 QDQ)", {}),
):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    for k, v in entries.items():
        so.add_session_config_entry(k, v)
    a = time.perf_counter()
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - a) * 1e3
    names = [i.name for i in s.get_inputs()]
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if "token_type_ids" in names:
        feed["token_type_ids"] = np.zeros_like(ids)
    logits = s.run(None, feed)[0]
    t = []
    for _ in range(runs):
        a = time.perf_counter()
        s.run(None, feed)
        t.append((time.perf_counter() - a) * 1e3)
    t.sort()
    med = t[len(t) // 2]
    print(f"onnxruntime {ort.__version__} {label}, {threads} thread(s): {n}-token window {med:.1f} ms = {n / med * 1e3:.0f} tokens/s")
    out["configs"].append({
        "weights": key, "label": label, "loadMs": round(load_ms, 1), "ms": [round(x, 3) for x in t],
        "logits": [round(float(x), 5) for x in logits.reshape(-1)],
    })
print(json.dumps(out))
