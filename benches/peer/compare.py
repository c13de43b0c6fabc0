#!/usr/bin/env python3
"""Runs the peer, the Python package headroom-ai 0.42, on the same requests as our benchmark and
records its output messages and time per request. benches/report.mjs counts the tokens of both
outputs with the same tokenizer. Usage: compare.py INPUTS.json OUT.json  (run inside the venv that
benches/peer/setup.sh makes)."""
import json, statistics, sys, time

from headroom import compress  # headroom-ai 0.42


def run(messages, model, runs):
    compress(messages, model=model)  # warm-up: imports, lazy models
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = compress(messages, model=model)
        times.append((time.perf_counter() - t0) * 1000)
    return out, times


def main():
    inputs = json.load(open(sys.argv[1]))
    results = []
    for item in inputs:
        out, times = run(item["messages"], item["model"], item.get("runs", 5))
        results.append({
            "name": item["name"],
            "messages": out.messages,
            "medianMs": statistics.median(times),
            "p99Ms": max(times),
            "peerTokensBefore": getattr(out, "tokens_before", None),
            "peerTokensAfter": getattr(out, "tokens_after", None),
        })
        print(f"{item['name']}: {statistics.median(times):.1f} ms", file=sys.stderr)
    json.dump({"peer": "headroom-ai 0.42.0", "results": results}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
