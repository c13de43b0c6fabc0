#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a fixed time (default 60 s each) with cargo-fuzz (libFuzzer,
# AddressSanitizer) on nightly, seeded from the test fixtures and examples, and writes
# fuzz/RESULTS.md (executions, coverage, corpus and findings per target) and the fuzz totals in
# the README. Installs what it needs: the nightly toolchain (minimal profile) and cargo-fuzz.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Builds hold the shared cargo lock ($HEADROOM_CARGO_LOCK, default /tmp/headroom-cargo.lock, so
# do not run this under that lock yourself); the fuzzers themselves run without it, at nice 10.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-60}
shift || true
lock=${HEADROOM_CARGO_LOCK:-/tmp/headroom-cargo.lock}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/headroom/target}
locked() { if command -v flock >/dev/null 2>&1; then flock "$lock" "$@"; else "$@"; fi; }

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "[fuzz] installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz"
  locked cargo install cargo-fuzz --locked
fi

all_targets=$(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^headroom-fuzz$')
targets=${*:-$all_targets}

echo "[fuzz] building the targets (release, debug assertions, AddressSanitizer)"
(cd fuzz && locked cargo +nightly fuzz build --debug-assertions)
bindir=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release

# Seed corpora from the repository's own inputs. Corpora grow across runs (fuzz/corpus is not
# committed); seeds are re-copied every time, so a fresh clone starts from the same place.
seed() { # target, files...
  local dir=fuzz/corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed-$(basename "$f")"; done
  return 0
}
provider_of() { # the provider of a request file, from its shape
  if grep -q '"contents"' "$1"; then echo google
  elif grep -Eq '"model": ?"claude' "$1"; then echo anthropic
  else echo openai; fi
}
for p in openai anthropic google; do
  files=()
  for f in tests/fixtures/requests/*.json examples/*.json; do
    [ "$(provider_of "$f")" = "$p" ] && files+=("$f")
  done
  seed "request_$p" "${files[@]}"
done
seed smart_crusher tests/fixtures/requests/*.json examples/json_api.json
mkdir -p fuzz/corpus/smart_crusher
printf '%s' '[{"id":1,"status":"ok","v":3},{"id":2,"status":"failed","v":99},{"id":3,"status":"ok","v":4},{"id":4,"status":"ok","v":5}]' > fuzz/corpus/smart_crusher/seed-records.json
printf '%s' '{"items":[{"name":"a","tags":["x"]},{"name":"b","tags":[]}],"total":2,"next":null}' > fuzz/corpus/smart_crusher/seed-nested.json
seed compress_search tests/fixtures/text/search_*
seed compress_log tests/fixtures/text/log_*
seed compress_diff tests/fixtures/text/diff_*
seed compress_text tests/fixtures/text/prose_*
seed detect tests/fixtures/text/*.txt tests/fixtures/text/*.md tests/fixtures/requests/*.json
seed tokens tests/fixtures/text/prose_man_grep.txt tests/fixtures/text/log_pip_install.txt tests/fixtures/text/search_context_peek_error.txt
mkdir -p fuzz/corpus/markers
printf '%s\n' 'x [headroom: 3 of 9 items omitted; retrieve the original with headroom_retrieve hash=0123456789abcdef01234567] y' > fuzz/corpus/markers/seed-marker.txt
printf '%s\n' '#headroom-table v1' '{"a":"@table:1","n":2}' '@table:1 [2] ["x",["o","p"]]' '1,' ',"s"' > fuzz/corpus/markers/seed-table.txt
printf '%s' '{"id":"c1","type":"function","function":{"name":"headroom_retrieve","arguments":"{\"hash\":\"0123456789abcdef01234567\",\"query\":\"error\"}"}}' > fuzz/corpus/markers/seed-call.json

# Per target: the largest input libFuzzer makes, and a dictionary for the JSON-shaped ones.
max_len() { # requests keep their seeds whole (cut JSON is only a parse error); the rest favour speed
  case $1 in
    request_*|smart_crusher) echo 65536 ;;
    tokens) echo 2048 ;;
    *) echo 8192 ;;
  esac
}
dict() {
  case $1 in
    request_*|smart_crusher|markers) echo "-dict=fuzz/json.dict" ;;
    *) echo "" ;;
  esac
}

results=fuzz/RESULTS.md
rows=()
total_runs=0
total_findings=0
for t in $targets; do
  log=fuzz/artifacts/$t.log
  mkdir -p "fuzz/artifacts/$t"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  echo "[fuzz] $t for $secs s"
  # A finding makes libFuzzer exit non-zero: record it and go on to the next target.
  # shellcheck disable=SC2046
  nice -n 10 "$bindir/$t" "fuzz/corpus/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
    -max_len="$(max_len "$t")" $(dict "$t") -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
    >"$log" 2>&1 || true
  # (A crash while loading the seeds leaves no coverage line: `|| true` keeps set -e quiet.)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | awk '{print $2}' || true)
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  fresh=$(ls -t "fuzz/artifacts/$t" | head -n "$(( $(ls "fuzz/artifacts/$t" | wc -l) - before ))")
  # Findings: crashes (panics, sanitizer reports), timeouts (-timeout), out-of-memory. Slow units
  # (over 10 s) are listed apart: under ASan the first input also pays tiktoken's start-up.
  names=$(echo "$fresh" | grep -E '^(crash|timeout|oom|leak)-' | tr '\n' ' ' || true)
  slow=$(echo "$fresh" | grep -c '^slow-unit-' || true)
  new=$(echo "$names" | wc -w)
  total_runs=$(( total_runs + ${runs:-0} ))
  total_findings=$(( total_findings + new ))
  rows+=("| \`$t\` | $secs | ${runs:-?} | ${cov:-?} | $corpus | $new${names:+ ($names)} | $slow |")
  echo "[fuzz] $t: ${runs:-?} runs, coverage ${cov:-?}, $new findings, $slow slow units"
done

{
  echo "# Fuzzing results"
  echo
  echo "Written by \`scripts/fuzz.sh $secs\` (\`make fuzz FUZZ_SECONDS=$secs\`) on $(date -u +%Y-%m-%d),"
  echo "$(nproc) cores shared with other work, fuzzers at nice 10; cargo-fuzz $(cargo fuzz --version 2>/dev/null | awk '{print $2}'),"
  echo "$(rustc +nightly --version), release build with debug assertions and AddressSanitizer."
  echo "Seeds: \`tests/fixtures\` and \`examples\` (see the script); corpora grow across runs in \`fuzz/corpus/\`."
  echo "Every finding gets a regression test in \`tests/regressions.rs\` and a fix; see below."
  echo
  echo "| target | seconds | executions | coverage (edges) | corpus | findings | slow units (> 10 s) |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Total: $total_runs executions, $total_findings findings."
  if [ -f fuzz/FINDINGS.md ]; then echo; cat fuzz/FINDINGS.md; fi
} > "$results"

# The README's figures (between the fuzz markers), when every target ran.
if [ "$targets" = "$all_targets" ] && grep -q '<!-- fuzz:start -->' README.md; then
  n=$(echo "$all_targets" | wc -w)
  line="Last run ($(date -u +%Y-%m-%d)): $n targets, $secs s each, $total_runs executions in total, $total_findings findings; per target in [fuzz/RESULTS.md](fuzz/RESULTS.md)."
  awk -v line="$line" '
    /<!-- fuzz:start -->/ { print; print line; skip = 1; next }
    /<!-- fuzz:end -->/ { skip = 0 }
    !skip { print }
  ' README.md > README.md.tmp && mv README.md.tmp README.md
fi
cat "$results"
