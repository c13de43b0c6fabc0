#!/usr/bin/env bash
# GPU smoke test of the `cuda` feature, for a machine with an NVIDIA GPU and driver: installs the
# PyPI onnxruntime-gpu wheel (with its CUDA libraries) into .tools/ort-gpu, then runs the ort tests
# and the speed bench on the CUDA execution provider.
# Usage: scripts/gpu-smoke.sh [MODEL.onnx TOKENIZER.json]
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi -L >/dev/null || { echo "gpu-smoke: no NVIDIA GPU here" >&2; exit 1; }
if [ ! -x .tools/ort-gpu/bin/python ]; then
  python3 -m venv .tools/ort-gpu
  .tools/ort-gpu/bin/pip install -q "onnxruntime-gpu[cuda,cudnn]==1.31.1"
fi
capi=$(.tools/ort-gpu/bin/python -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')
# The CUDA and cuDNN libraries come as nvidia-* wheels; preload_dlls puts them on the search path
# for Python, so for Rust list them explicitly.
nv=$(.tools/ort-gpu/bin/python -c 'import nvidia, os; print(":".join(os.path.join(p, d, "lib") for p in nvidia.__path__ for d in os.listdir(p)))' 2>/dev/null || true)
export ORT_DYLIB_PATH=$(ls "$capi"/libonnxruntime.so.* | head -n 1)
export LD_LIBRARY_PATH="$capi${nv:+:$nv}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo test --release --features cuda --test ml_ort
HEADROOM_ML_DEVICE=cuda cargo bench --features cuda --bench ml_speed -- "${1:-tests/fixtures/ml/wordpiece/model.onnx}" "${2:-tests/fixtures/ml/wordpiece/tokenizer.json}"
