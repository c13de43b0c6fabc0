"""Evaluate exported ONNX classifiers against the teacher on held-out chunks.

For every held-out chunk (documents never seen in training) the model's word keep
probability is the mean of its WordPiece tokens' class-1 probabilities, as LLMLingua-2's
inference does. Metrics (pooled over all held-out words):

* auc_rate50          AUC against the teacher's keep label at rate 0.5 (protect rules on).
* auc_rate50_unprot   Same, only over words that no protect rule covers (pure surprisal rank).
* auc_rate30 / 70     AUC against the labels at rates 0.3 and 0.7.
* spearman_soft       rank correlation with the soft target (mean label over all rates).
* compressor          the same numbers for the ranking the compressor decides by with its
                      default options: words with an ASCII digit first (`forceReserveDigit`,
                      on by default, as in LLMLingua-2), then the rest by the model's probability.
* per_text            AUC within each text (the compressor's threshold is per text), mean over
                      texts and word-weighted mean, for the model and the compressor ranking.
* model_protect_rules the same with every protect rule forced (not what the compressor does;
                      shows how much of the gap to the labels is the rules).
* baseline            the same numbers for a stopword + word-length heuristic (with the
                      protect rules applied to it too, so it is a fair baseline).
* int8 vs fp32        max |logit diff|, mean |prob diff|, agreement of the top-50% word sets.
* speed               onnxruntime, one thread, one 512-token window (median of a few runs).

Usage: python eval.py OUT_DIR --model int8.onnx [--fp32 fp32.onnx] [--json eval.json]
"""
import argparse
import json
import sys
import time

import numpy as np

from common import RATES, is_protected, student_tokenizer
from train import encode, load_records

STOPWORDS = set("""a an the and or but if then else of to in on at by for with from into onto as is are
was were be been being am do does did doing have has had having it its it's this that these those
there here which who whom whose what when where why how i me my we our you your he him his she her
they them their so than too very can will just should would could may might also about above below
over under again further once all any both each few more most other some such only own same nor up
down out off s t don let us via per etc""".split())


def auc(scores, labels):
    """Mann-Whitney AUC with tie handling."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, bool)
    n1, n0 = labels.sum(), (~labels).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    return float((r[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(np.float64)
    rb = np.argsort(np.argsort(b)).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def heuristic(word):
    core = word.strip("\"'`()[]{}<>,;:.!?*").lower()
    if not core:
        return 0.0
    if is_protected(word):
        return 100.0
    if core in STOPWORDS:
        return 1.0
    return 2.0 + min(len(core), 20) / 20


def run_model(path, data):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out = []
    for ids, *_ in data:
        x = np.asarray(ids, np.int64)[None]
        out.append(sess.run(["logits"], {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0])
    return sess, out


def word_probs(logits, word, n_words):
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p = p[:, 1] / p.sum(-1)
    s = np.zeros(n_words)
    c = np.zeros(n_words)
    np.add.at(s, word[word >= 0], p[word >= 0])
    np.add.at(c, word[word >= 0], 1)
    return s, c


def metrics(score, lab, prot, soft):
    r = {f"auc_rate{int(rt * 100)}": auc(score, lab[:, i]) for i, rt in enumerate(RATES)
         if rt in (0.3, 0.5, 0.7)}
    up = ~prot
    r["auc_rate50_unprot"] = auc(score[up], lab[up, RATES.index(0.5)])
    r["spearman_soft"] = spearman(score, soft)
    return {k: round(v, 4) for k, v in r.items()}


def per_text_auc(scores, labels):
    """AUC within each text (the compressor's threshold is per text, so only the order within
    one matters): mean over texts with a bootstrap 95% interval (texts resampled, seed 0), mean
    weighted by words, and the rank correlation of a text's AUC with its word count; texts with
    one class skipped."""
    r = {}
    for i, rt in enumerate(RATES):
        if rt not in (0.3, 0.5, 0.7):
            continue
        a = np.array([auc(s, l[:, i]) for s, l in zip(scores, labels)])
        n = np.array([len(s) for s in scores])[~np.isnan(a)]
        a = a[~np.isnan(a)]
        k = f"auc_rate{int(rt * 100)}"
        r[f"{k}_mean"] = round(float(a.mean()), 4)
        rng = np.random.default_rng(0)
        boot = [a[rng.integers(0, len(a), len(a))].mean() for _ in range(2000)]
        r[f"{k}_mean_ci95"] = [round(float(x), 4) for x in np.percentile(boot, [2.5, 97.5])]
        r[f"{k}_word_weighted"] = round(float((a * n).sum() / n.sum()), 4)
        r[f"{k}_spearman_vs_words"] = round(spearman(a, n), 3)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--model", required=True)
    ap.add_argument("--fp32")
    ap.add_argument("--json")
    ap.add_argument("--max-shards", type=int)
    args = ap.parse_args()
    recs = load_records(args.out_dir, "heldout", args.max_shards)
    data = encode(recs, student_tokenizer())
    sess, logits = run_model(args.model, data)
    W, L, P, S, H, D, SRC = [], [], [], [], [], [], []
    for r, (ids, tgt, msk, word), lg in zip(recs, data, logits):
        s, c = word_probs(lg, word, len(r["spans"]))
        ok = c > 0  # words past the 512-token window have no prediction
        W.append(s[ok] / c[ok])
        L.append(np.array(r["labels"]).T[ok])
        P.append(np.array(r["protected"], bool)[ok])
        S.append(np.array(r["labels"], np.float32).mean(0)[ok])
        H.append(np.array([heuristic(r["text"][a:b]) for a, b in r["spans"]])[ok])
        D.append(np.array([any("0" <= ch <= "9" for ch in r["text"][a:b]) for a, b in r["spans"]], bool)[ok])
        SRC += [r["source"]] * int(ok.sum())
    per_text = {"model": per_text_auc(W, L), "compressor": per_text_auc([w + d for w, d in zip(W, D)], L)}
    W, L, P, S, H, D, SRC = map(np.concatenate, (W, L, P, S, H, D, [np.array(SRC)]))
    res = {"heldout_chunks": len(recs), "heldout_words": int(len(W)),
           "protected_fraction": round(float(P.mean()), 4),
           "digit_fraction": round(float(D.mean()), 4),
           "model": metrics(W, L, P, S), "compressor": metrics(W + D, L, P, S),
           "model_protect_rules": metrics(W + P, L, P, S),
           "baseline_stopword_length": metrics(H, L, P, S), "per_text": per_text}
    res["model_by_source"] = {}
    for src in sorted(set(SRC)):
        m = SRC == src
        res["model_by_source"][src] = {"words": int(m.sum()), "auc_rate50": round(auc(W[m], L[m, 2]), 4),
                                       "baseline_auc_rate50": round(auc(H[m], L[m, 2]), 4)}
    if args.fp32:
        _, lf = run_model(args.fp32, data)
        diffs = [np.abs(a - b).max() for a, b in zip(logits, lf)]
        pd, agree, Wf = [], [], []
        for r, (ids, tgt, msk, word), a, b in zip(recs, data, logits, lf):
            sa, c = word_probs(a, word, len(r["spans"]))
            sb, _ = word_probs(b, word, len(r["spans"]))
            ok = c > 0
            pa, pb = sa[ok] / c[ok], sb[ok] / c[ok]
            Wf.append(pb)
            pd.append(np.abs(pa - pb))
            k = len(pa) // 2
            if k:
                ta, tb = set(np.argsort(-pa)[:k]), set(np.argsort(-pb)[:k])
                agree.append(len(ta & tb) / k)
        Wf = np.concatenate(Wf)
        res["fp32"] = metrics(Wf, L, P, S)
        res["int8_vs_fp32"] = {"max_abs_logit_diff": round(float(np.max(diffs)), 4),
                               "mean_abs_word_prob_diff": round(float(np.concatenate(pd).mean()), 5),
                               "top50_word_set_agreement": round(float(np.mean(agree)), 4)}
    x = np.full((1, 512), 1000, np.int64)
    x[0, 0], x[0, -1] = 101, 102
    times = []
    for _ in range(5):
        t = time.perf_counter()
        sess.run(["logits"], {"input_ids": x, "attention_mask": np.ones_like(x)})
        times.append(time.perf_counter() - t)
    res["ort_cpu_1thread_ms_per_512_window"] = round(1000 * float(np.median(times)), 1)
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
