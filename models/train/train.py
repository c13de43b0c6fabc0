"""Fine-tune MiniLM-L6 (all-MiniLM-L6-v2 weights) as a 2-class token classifier in JAX.

Class 1 = keep. Each WordPiece token of a word gets that word's soft target: the fraction of
target rates (label.py RATES) at which the teacher labels keep the word, so the model's keep
probability ranks words the way the teacher's surprisal does at every rate. Tokens outside
any word ([CLS], [SEP], padding) carry no loss.

Resumable: parameters and optimizer state are checkpointed to OUT/ckpt/state.pkl every
--ckpt-every steps and at the end; a restart with the same arguments continues from there.
The final weights go to OUT/ckpt/final.npz in Hugging Face BERT names plus
classifier.weight [2, 384] / classifier.bias [2].

Usage: python train.py OUT_DIR [--epochs 3] [--lr 8e-5] [--max-shards N] [--tag NAME]
       [--init earlier/final.npz --first-shard K]   (continue on shards K.. only)
"""
import argparse
import glob
import json
import os
import pickle
import sys
import time

import numpy as np

from common import minilm_dir, student_tokenizer

BUCKETS = ((128, 16), (256, 8), (384, 5), (512, 4))  # (seq len, batch): ~2k tokens a step
N_LAYER, N_HEAD, D = 6, 12, 384


def load_records(out_dir, split, max_shards=None, first_shard=0):
    files = sorted(glob.glob(os.path.join(out_dir, "labels", "shard_*.json")))
    if max_shards:
        files = files[:max_shards]
    files = files[first_shard:]
    recs = []
    for f in files:
        recs += [r for r in json.load(open(f, encoding="utf-8")) if r["split"] == split]
    return recs


def encode(recs, tok, max_len=512):
    """Token ids and per-token (soft target, mask) from word-level labels."""
    out = []
    for r in recs:
        e = tok.encode(r["text"])
        ids = np.array(e.ids[:max_len], np.int32)
        starts = np.array([s[0] for s in r["spans"]] + [1 << 30])
        soft = np.mean(np.array(r["labels"], np.float32), 0) if r["spans"] else np.zeros(0, np.float32)
        tgt = np.zeros(len(ids), np.float32)
        msk = np.zeros(len(ids), np.float32)
        word = np.full(len(ids), -1, np.int32)
        for i, (a, b) in enumerate(e.offsets[:len(ids)]):
            if b <= a:
                continue  # special tokens
            wi = int(np.searchsorted(starts, a, side="right")) - 1
            if 0 <= wi < len(r["spans"]) and a < r["spans"][wi][1]:
                tgt[i], msk[i], word[i] = soft[wi], 1.0, wi
        out.append((ids, tgt, msk, word))
    return out


def init_params(seed=0):
    from safetensors.numpy import load_file
    w = load_file(os.path.join(minilm_dir(), "model.safetensors"))
    w = {k: v for k, v in w.items() if k != "embeddings.position_ids"}
    rng = np.random.default_rng(seed)
    w["classifier.weight"] = (rng.standard_normal((2, D)) * 0.02).astype(np.float32)
    w["classifier.bias"] = np.zeros(2, np.float32)
    return w


def forward(p, ids, mask, dropout_key=None, rate=0.1):
    """BERT encoder + token classifier; p uses Hugging Face names. Returns logits [B,S,2]."""
    import jax
    import jax.numpy as jnp

    def ln(x, pre):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) * jax.lax.rsqrt(v + 1e-12) * p[pre + ".weight"] + p[pre + ".bias"]

    def lin(x, pre):
        return x @ p[pre + ".weight"].T + p[pre + ".bias"]

    keys = list(jax.random.split(dropout_key, 4 * N_LAYER + 2)) if dropout_key is not None else None

    def drop(x):
        if keys is None:
            return x
        k = keys.pop()
        keep = jax.random.bernoulli(k, 1 - rate, x.shape)
        return jnp.where(keep, x / (1 - rate), 0.0)

    B, S = ids.shape
    x = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][:S][None] \
        + p["embeddings.token_type_embeddings.weight"][0]
    x = drop(ln(x, "embeddings.LayerNorm"))
    bias = (1.0 - mask[:, None, None, :]) * -1e4
    hd = D // N_HEAD
    for i in range(N_LAYER):
        pre = f"encoder.layer.{i}."
        q = lin(x, pre + "attention.self.query").reshape(B, S, N_HEAD, hd)
        k = lin(x, pre + "attention.self.key").reshape(B, S, N_HEAD, hd)
        v = lin(x, pre + "attention.self.value").reshape(B, S, N_HEAD, hd)
        s = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(hd) + bias
        a = jnp.einsum("bhqk,bkhd->bqhd", drop(jax.nn.softmax(s, -1)), v).reshape(B, S, D)
        x = ln(x + drop(lin(a, pre + "attention.output.dense")), pre + "attention.output.LayerNorm")
        h = jax.nn.gelu(lin(x, pre + "intermediate.dense"), approximate=False)
        x = ln(x + drop(lin(h, pre + "output.dense")), pre + "output.LayerNorm")
    return lin(drop(x), "classifier")


def batches(data, rng):
    """Length-bucketed, padded batches in random order."""
    by = {S: [] for S, _ in BUCKETS}
    for i, (ids, *_r) in enumerate(data):
        S = next(S for S, _ in BUCKETS if S >= len(ids))
        by[S].append(i)
    out = []
    for S, B in BUCKETS:
        idx = by[S]
        rng.shuffle(idx)
        for j in range(0, len(idx), B):
            out.append((S, B, idx[j:j + B]))
    rng.shuffle(out)
    return out


def collate(data, S, B, idx):
    ids = np.zeros((B, S), np.int32)
    am = np.zeros((B, S), np.float32)
    tgt = np.zeros((B, S), np.float32)
    msk = np.zeros((B, S), np.float32)
    for r, i in enumerate(idx):
        t, g, m, _ = data[i]
        n = len(t)
        ids[r, :n], am[r, :n], tgt[r, :n], msk[r, :n] = t, 1, g, m
    return ids, am, tgt, msk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--max-shards", type=int, default=None)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--tag", default="run")
    ap.add_argument("--init", help="start from these weights (final.npz of an earlier run)")
    ap.add_argument("--first-shard", type=int, default=0, help="train on shards from this one on")
    args = ap.parse_args()
    import jax
    import jax.numpy as jnp
    import optax

    ck_dir = os.path.join(args.out_dir, "ckpt", args.tag)
    os.makedirs(ck_dir, exist_ok=True)
    tok = student_tokenizer()
    train = encode(load_records(args.out_dir, "train", args.max_shards, args.first_shard), tok)
    held = encode(load_records(args.out_dir, "heldout", args.max_shards), tok)
    n_tok = sum(len(d[0]) for d in train)
    plan = [batches(train, np.random.default_rng(1000 + e)) for e in range(args.epochs)]
    total = sum(len(p) for p in plan)
    print(f"train chunks {len(train)} ({n_tok} tokens), heldout {len(held)}, steps {total}", flush=True)

    sched = optax.warmup_cosine_decay_schedule(0.0, args.lr, max(1, total // 20), total, args.lr * 0.05)
    opt = optax.chain(optax.clip_by_global_norm(1.0),
                      optax.adamw(sched, weight_decay=0.01,
                                  mask=lambda p: {k: v.ndim > 1 for k, v in p.items()}))
    state_path = os.path.join(ck_dir, "state.pkl")
    if os.path.exists(state_path):
        with open(state_path, "rb") as f:
            st = pickle.load(f)
        params, opt_state, step = st["params"], st["opt_state"], st["step"]
        params = {k: jnp.asarray(v) for k, v in params.items()}
        opt_state = jax.tree_util.tree_map(jnp.asarray, opt_state)
        print(f"resumed at step {step}", flush=True)
    else:
        init = dict(np.load(args.init)) if args.init else init_params()
        params = {k: jnp.asarray(v) for k, v in init.items()}
        opt_state, step = opt.init(params), 0

    def loss_fn(p, ids, am, tgt, msk, key):
        logits = forward(p, ids, am, key)
        lp = jax.nn.log_softmax(logits, -1)
        ce = -(tgt * lp[..., 1] + (1 - tgt) * lp[..., 0])
        return (ce * msk).sum() / jnp.maximum(msk.sum(), 1.0)

    @jax.jit
    def train_step(p, o, ids, am, tgt, msk, key):
        l, g = jax.value_and_grad(loss_fn)(p, ids, am, tgt, msk, key)
        upd, o = opt.update(g, o, p)
        return optax.apply_updates(p, upd), o, l

    @jax.jit
    def eval_loss(p, ids, am, tgt, msk):
        return loss_fn(p, ids, am, tgt, msk, None) * msk.sum(), msk.sum()

    def save(final=False):
        host = {k: np.asarray(v) for k, v in params.items()}
        tmp = state_path + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump({"params": host, "opt_state": jax.tree_util.tree_map(np.asarray, opt_state),
                         "step": step}, f)
        os.replace(tmp, state_path)
        if final:
            np.savez(os.path.join(ck_dir, "final.npz"), **host)

    def heldout_loss():
        tot = n = 0.0
        for S, B, idx in batches(held, np.random.default_rng(0)):
            a, b = eval_loss(params, *map(jnp.asarray, collate(held, S, B, idx)))
            tot += float(a)
            n += float(b)
        return tot / max(n, 1)

    flat = [b for p in plan for b in p]
    t0, seen, run_loss = time.time(), 0, []
    key = jax.random.PRNGKey(step)
    while step < total:
        S, B, idx = flat[step]
        ids, am, tgt, msk = map(jnp.asarray, collate(train, S, B, idx))
        key, sub = jax.random.split(key)
        params, opt_state, l = train_step(params, opt_state, ids, am, tgt, msk, sub)
        step += 1
        seen += int(am.sum())
        run_loss.append(float(l))
        if step % 20 == 0:
            el = time.time() - t0
            print(f"step {step}/{total} loss {np.mean(run_loss[-20:]):.4f} {seen / el:.0f} tok/s "
                  f"elapsed {el:.0f}s", flush=True)
        if step % args.ckpt_every == 0:
            save()
        if step % len(plan[0]) == 0:
            print(f"epoch done at step {step}: heldout loss {heldout_loss():.4f}", flush=True)
    save(final=True)
    print(f"done: heldout loss {heldout_loss():.4f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
