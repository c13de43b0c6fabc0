"""Teacher conditional likelihood of held-out texts given their compressed versions.

Reads the output of `examples/ml_quality.rs` (every held-out text compressed by the ML
compressor, random word dropping and TextCompressor at rates 0.5 and 0.33) and scores each
compressed version c of a text x with the teacher, SmolLM2-135M-Instruct (the recipe's JAX
forward pass, models/train/label.py):

    NLL(x | c) = - 1/|x| * sum_t log p(x_t | <|endoftext|> P(c), x_<t)

in nats per teacher token of x, where P(c) = "Compressed text:\\n" + c + "\\n\\nFull text:\\n"
and x is tokenized on its own (so every condition scores the same tokens, truncated at 511).
`seg`/`segsize` are the same with `granularity: "segment"` (lines and sentences ranked by the
model's mean keep probability). `mlsize` is the ML compressor held to exactly TextCompressor's output size (TextCompressor keeps
whole blocks, so it rarely lands on the rate): ml vs random and mlsize vs text are the
like-for-like comparisons. Two references bracket it: `none` (c = "", what the teacher predicts with no hint) and `full`
(c = x, a verbatim copy). "Gap closed" = (NLL_none - NLL_c) / (NLL_none - NLL_full): the share
of the information a verbatim copy gives that the compressed text still gives.

Sequences are cached one per line in CACHE (resumable). Writes a JSON summary.

Usage: python ml_quality.py VARIANTS.jsonl CACHE.jsonl SUMMARY.json [--limit N]
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "train"))
from label import load_teacher, make_forward, teacher_tokenizer  # noqa: E402

MAX_X = 511
BUCKETS = (256, 384, 512, 640, 768, 896, 1024, 1152)
PRE, MID = "Compressed text:\n", "\n\nFull text:\n"
METHODS = ("ml", "random", "text", "mlsize", "seg", "segsize")
RATES = ("0.5", "0.33")


def sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def paired_ci(a, b, n_boot=2000, seed=0):
    """Mean of a - b over texts and a 95% bootstrap interval."""
    d = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(1)
    return float(d.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("variants")
    ap.add_argument("cache")
    ap.add_argument("summary")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--texts", type=int, default=0, help="score only the first N texts of a fixed shuffle (0: all)")
    args = ap.parse_args()
    rows = [json.loads(l) for l in open(args.variants, encoding="utf-8")]
    if args.texts:
        order = np.random.default_rng(6).permutation(len(rows))
        rows = [rows[i] for i in sorted(order[:args.texts])]
    t0 = time.time()
    cfg, w, toks, merges = load_teacher()
    tok = teacher_tokenizer(toks, merges)
    bos = toks.index("<|endoftext|>")

    # Every (text, condition) sequence: ids, and where x's tokens start.
    jobs = []
    done = {}
    # The cache is keyed by the compressed text too, so a changed compressor is scored afresh.
    if os.path.exists(args.cache):
        for l in open(args.cache, encoding="utf-8"):
            r = json.loads(l)
            done[(r["id"], r["cond"], r.get("c_sha"))] = r
    originals = {}
    for row in rows:
        x_ids = tok.encode(row["text"]).ids[:MAX_X]
        originals[row["id"]] = len(x_ids)
        conds = {"none": "", "full": row["text"]}
        for k, v in row["variants"].items():
            conds[k] = v["text"]
        for cond, c in conds.items():
            key = (row["id"], cond, sha(c))
            if key in done:
                continue
            prefix = [bos] + tok.encode(PRE + c + MID).ids
            jobs.append((key, prefix + x_ids, len(prefix)))
    print(f"teacher loaded in {time.time() - t0:.0f}s; {len(jobs)} sequences to score, {len(done)} cached", flush=True)

    if jobs:
        fwd = make_forward(cfg, w)
        jobs.sort(key=lambda j: len(j[1]))
        t0, n_tok = time.time(), 0
        with open(args.cache, "a", encoding="utf-8") as cache:
            for i in range(0, len(jobs), args.batch):
                part = jobs[i:i + args.batch]
                n = max(len(j[1]) for j in part)
                S = next((b for b in BUCKETS if b >= n), n)
                ids = np.full((args.batch, S), bos, np.int32)  # right padding: causal, so harmless
                for r, j in enumerate(part):
                    ids[r, :len(j[1])] = j[1]
                su = np.asarray(fwd(ids))  # su[:, t] = surprisal of token t + 1
                for r, ((tid, cond, c_sha), seq, xs) in enumerate(part):
                    s = su[r, xs - 1:len(seq) - 1]
                    cache.write(json.dumps({"id": tid, "cond": cond, "c_sha": c_sha, "nll_sum": float(s.sum()),
                                            "n": int(len(s)), "prefix_tokens": xs}) + "\n")
                    n_tok += len(seq)
                cache.flush()
                if (i // args.batch) % 20 == 0:
                    el = time.time() - t0
                    print(f"{i + len(part)}/{len(jobs)} sequences, {n_tok / max(el, 1e-9):.0f} tok/s, {el:.0f}s", flush=True)
        for l in open(args.cache, encoding="utf-8"):
            r = json.loads(l)
            done[(r["id"], r["cond"], r.get("c_sha"))] = r

    # Summary: each text's current conditions.
    texts_of = {}
    for row in rows:
        conds = {"none": "", "full": row["text"], **{k: v["text"] for k, v in row["variants"].items()}}
        for cond, c in conds.items():
            r = done.get((row["id"], cond, sha(c)))
            if r is not None:
                texts_of[(row["id"], cond)] = r
    done = texts_of
    ids = [r["id"] for r in rows if all((r["id"], c) in done for c in ["none", "full"] + list(r["variants"]))]
    by_id = {r["id"]: r for r in rows}
    nll = lambda tid, cond: done[(tid, cond)]["nll_sum"] / max(done[(tid, cond)]["n"], 1)  # noqa: E731
    pooled = lambda cond, sel: (sum(done[(t, cond)]["nll_sum"] for t in sel)  # noqa: E731
                                / sum(done[(t, cond)]["n"] for t in sel))
    out = {"texts": len(ids), "teacher_tokens": sum(done[(t, "none")]["n"] for t in ids),
           "definition": "NLL(x|c) in nats per teacher token of x; prompt '<|endoftext|>Compressed text:\\n{c}\\n\\nFull text:\\n{x}'",
           "none": pooled("none", ids), "full": pooled("full", ids), "conditions": {}}
    gap = out["none"] - out["full"]
    for rate in RATES:
        for m in METHODS:
            cond = f"{m}@{rate}"
            v = [by_id[t]["variants"][cond] for t in ids]
            achieved = np.array([x["tokens"] / max(by_id[t]["original_tokens"], 1) for x, t in zip(v, ids)])
            dw = sum(x["digit_words"] for x in v)
            dk = sum(x["digit_kept"] for x in v)
            p = pooled(cond, ids)
            out["conditions"][cond] = {
                "nll": p, "gap_closed": (out["none"] - p) / gap if gap > 0 else None,
                "mean_nll_per_text": float(np.mean([nll(t, cond) for t in ids])),
                "achieved_rate_pooled": sum(x["tokens"] for x in v) / sum(by_id[t]["original_tokens"] for t in ids),
                "achieved_rate_mean": float(achieved.mean()),
                "abs_rate_error_mean": float(np.abs(achieved - float(rate)).mean()),
                "within_2pct": float(np.mean(np.abs(achieved - float(rate)) <= 0.02)),
                "within_2pct_no_warning": float(np.mean([abs(a - float(rate)) <= 0.02 for a, x in zip(achieved, v) if not x["warnings"]]))
                if any(not x["warnings"] for x in v) else None,
                "texts_with_warning": int(sum(1 for x in v if x["warnings"])),
                "digit_words": dw, "digit_words_kept": dk,
            }
        for mine, other in (("ml", "random"), ("mlsize", "text"), ("seg", "random"), ("segsize", "text")):
            a = [nll(t, f"{mine}@{rate}") for t in ids]
            b = [nll(t, f"{other}@{rate}") for t in ids]
            d, lo, hi = paired_ci(a, b)
            out["conditions"][f"{mine}@{rate}"][f"vs_{other}"] = {
                "mean_diff_per_text": d, "ci95": [lo, hi], "ml_better_share": float(np.mean(np.array(a) < np.array(b)))}
    # Rate adherence and digits over every text in the variants file (no teacher needed).
    all_rows = [json.loads(l) for l in open(args.variants, encoding="utf-8")]
    out["all_texts"] = {"texts": len(all_rows)}
    for rate in RATES:
        for m in ("ml", "random", "text"):
            cond = f"{m}@{rate}"
            v = [(r["variants"][cond], r["original_tokens"]) for r in all_rows]
            err = np.array([x["tokens"] / max(o, 1) - float(rate) for x, o in v])
            free = [abs(e) <= 0.02 for e, (x, _) in zip(err, v) if not x["warnings"]]
            out["all_texts"][cond] = {
                "within_2pct": float(np.mean(np.abs(err) <= 0.02)),
                "texts_with_warning": int(sum(1 for x, _ in v if x["warnings"])),
                "within_2pct_no_warning": float(np.mean(free)) if free else None,
                "abs_rate_error_mean_no_warning": float(np.mean([abs(e) for e, (x, _) in zip(err, v) if not x["warnings"]])) if free else None,
                "achieved_rate_pooled": sum(x["tokens"] for x, _ in v) / sum(o for _, o in v),
                "digit_words": sum(x["digit_words"] for x, _ in v),
                "digit_words_kept": sum(x["digit_kept"] for x, _ in v),
            }
    sources = sorted({by_id[t]["source"] for t in ids})
    out["by_source"] = {}
    for s in sources:
        sel = [t for t in ids if by_id[t]["source"] == s]
        out["by_source"][s] = {"texts": len(sel), **{c: round(pooled(c, sel), 4) for c in
                               ["none", "full"] + [f"{m}@{r}" for r in RATES for m in METHODS]}}
    with open(args.summary, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: v for k, v in out.items() if k != "by_source"}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
