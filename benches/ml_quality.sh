#!/usr/bin/env bash
# The ML compressor's quality benchmark (results: benches/results/ml_quality.md).
# 1. the held-out chunks of the training corpus (documents never trained on) are compressed by the
#    ML compressor (default model, native tract, the shipped LLMLingua-2 path; word and segment
#    granularity), random word dropping and TextCompressor at rates 0.5 and 0.33 (examples/ml_quality.rs);
# 2. the teacher (SmolLM2-135M) scores the original given each compressed text (ml_quality.py).
# Needs the training recipe's venv and corpus in $WORK (models/train/README.md).
#   WORK=/work/cache/headroom-ml benches/ml_quality.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:?set WORK to the training recipe folder (venv, corpus.jsonl)}
OUT=${1:-$WORK/quality}
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/root/.cache/headroom/target}
"$WORK/venv/bin/python" - "$WORK/corpus.jsonl" "$OUT/heldout.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in open(sys.argv[1], encoding="utf-8"):
        r = json.loads(line)
        if r["split"] == "heldout":
            out.write(json.dumps({"id": r["id"], "source": r["source"], "text": r["text"]}) + "\n")
PY
flock /tmp/headroom-cargo.lock cargo build --release --features ml --example ml_quality
nice -n 10 "$CARGO_TARGET_DIR/release/examples/ml_quality" models/default/model.onnx models/default/tokenizer.json \
  "$OUT/heldout.jsonl" "$OUT/variants.jsonl"
source "$WORK/env.sh"
nice -n 10 "$WORK/venv/bin/python" benches/ml_quality.py "$OUT/variants.jsonl" "$OUT/nll_cache.jsonl" "$OUT/summary.json" --texts 80
