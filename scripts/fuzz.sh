#!/usr/bin/env bash
# Runs every fuzz target for a fixed time (default 60 s each) with cargo-fuzz on nightly, seeded
# from the test fixtures, and writes fuzz/RESULTS.md (executions and findings per target).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "[fuzz] installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
command -v cargo-fuzz >/dev/null 2>&1 || { echo "[fuzz] installing cargo-fuzz"; cargo install cargo-fuzz --locked; }

targets=$(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^headroom-fuzz$')
seed() { # target, files...
  local dir=fuzz/corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/" ; done
}
seed request tests/fixtures/requests/*.json examples/*.json
seed smart_crusher tests/fixtures/text/*.json
seed text_compressors tests/fixtures/text/*
seed tokens_and_markers tests/fixtures/text/*

{
  echo "# Fuzzing results"
  echo
  echo "\`scripts/fuzz.sh $secs\` on $(date -u +%Y-%m-%d), $(nproc) cores, cargo-fuzz on $(rustc +nightly --version)."
  echo
  echo "| target | seconds | executions | findings |"
  echo "|---|---|---|---|"
} > fuzz/RESULTS.md
for t in $targets; do
  log=$(mktemp)
  # A crash makes cargo fuzz exit non-zero; record it and go on to the next target.
  (cd fuzz && cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -max_len=262144) >"$log" 2>&1 || true
  runs=$(grep -o 'Done [0-9]* runs' "$log" | awk '{print $2}' | tail -n 1)
  findings=$(ls fuzz/artifacts/"$t" 2>/dev/null | wc -l)
  echo "| $t | $secs | ${runs:-see log} | $findings |" >> fuzz/RESULTS.md
  echo "[fuzz] $t: ${runs:-?} runs, $findings findings"
  rm -f "$log"
done
cat fuzz/RESULTS.md
