#!/usr/bin/env python3
"""Float64 reference of `sinkscope mixing` on a llama GGUF (SPEC.md §Experiments "Over-mixing").

Runs the Hugging Face llama computation (the helpers of forward_ref.py) on every window that
mixing.json lists, keeping the residual stream after each layer, and recomputes from it:
  mu      ||V - mean rows||_F / ||V||_F per layer (over_mixing.csv), window means;
  spread  ||h_t - h'_t|| per (offset from the perturbed token, layer) (spread_tokens.csv), for
          the embedding perturbation (delta * ||x_p|| * u added to the perturbed token's input,
          u from splitmix64 as docs/mixing.md defines it) and for the substitutions;
with the listed heads' outputs zeroed in the "ablated" condition. Relative errors against the
files, worst first printed; exit 1 above --tol.

usage: mixing_ref.py MODEL.gguf MIXING_DIR [--tol 1e-5]
"""
import argparse
import csv
import json
import sys

import numpy as np

from forward_ref import apply_rope, rms_norm, silu, unpermute
from gguf_read import read_gguf

MASK64 = (1 << 64) - 1


def direction(d, seed):
    """splitmix64 -> uniform in [-1, 1), normalised."""
    state, u = seed, np.empty(d)
    for i in range(d):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        u[i] = (z >> 11) * 2.0 ** -53 * 2 - 1
    return u / np.linalg.norm(u)


def residuals(meta, t, ids, zeroed=(), nudge=None):
    """The residual stream after each layer [L, T, dim] of a llama; zeroed: (layer, head) pairs
    whose z is zeroed; nudge: (position, vector) added to that token's input."""
    p = "llama."
    dim, n_layers = meta[p + "embedding_length"], meta[p + "block_count"]
    n_head = meta[p + "attention.head_count"]
    n_kv = meta.get(p + "attention.head_count_kv", n_head)
    hd = dim // n_head
    eps = meta[p + "attention.layer_norm_rms_epsilon"]
    theta = meta.get(p + "rope.freq_base", 10000.0)
    inv_freq = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    n = len(ids)
    x = t["token_embd.weight"][ids].copy()
    if nudge is not None:
        x[nudge[0]] += nudge[1] * np.linalg.norm(x[nudge[0]])
    masked = np.triu(np.ones((n, n), dtype=bool), 1)
    out = []
    for layer in range(n_layers):
        b = f"blk.{layer}."
        h = rms_norm(x, t[b + "attn_norm.weight"], eps)
        q = h @ unpermute(t[b + "attn_q.weight"], n_head).T
        k = h @ unpermute(t[b + "attn_k.weight"], n_kv).T
        v = h @ t[b + "attn_v.weight"].T
        q = apply_rope(q.reshape(n, n_head, hd), inv_freq)
        k = apply_rope(k.reshape(n, n_kv, hd), inv_freq)
        k = np.repeat(k, n_head // n_kv, axis=1)
        v = np.repeat(v.reshape(n, n_kv, hd), n_head // n_kv, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hd)
        scores = np.where(masked[None], -np.inf, scores)
        probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        z = np.einsum("hqk,khd->qhd", probs, v)
        for zl, zh in zeroed:
            if zl == layer:
                z[:, zh] = 0.0
        x = x + z.reshape(n, n_head * hd) @ t[b + "attn_output.weight"].T
        h = rms_norm(x, t[b + "ffn_norm.weight"], eps)
        g, u = h @ t[b + "ffn_gate.weight"].T, h @ t[b + "ffn_up.weight"].T
        x = x + (silu(g) * u) @ t[b + "ffn_down.weight"].T
        out.append(x)
    return np.array(out)


def over_mixing(v):
    return np.linalg.norm(v - v.mean(axis=0)) / np.linalg.norm(v)


def substituted(ids, p, pair_tokens):
    """The window with the substitution whose first differing token is at p."""
    for pair in pair_tokens:
        src, dst = pair["from"], pair["to"]
        j = next(i for i in range(len(src)) if src[i] != dst[i])
        s = p - j
        if s >= 0 and ids[s:s + len(src)] == src:
            return ids[:s] + dst + ids[s + len(src):]
    raise SystemExit(f"no substitution at position {p}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("dir")
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    meta, t = read_gguf(args.model)
    if meta["general.architecture"] != "llama":
        raise SystemExit(f"{args.model}: only llama models")
    with open(f"{args.dir}/mixing.json") as f:
        res = json.load(f)
    n_layers = res["n_layers"]
    u = direction(t["token_embd.weight"].shape[1], res["seed"])
    ablated = [tuple(h) for h in res["ablated_heads"]]
    want_mu, want_spread = {}, {}
    for cond in res["conditions"]:
        zeroed = ablated if cond["name"] == "ablated" else ()
        clean = [residuals(meta, t, ids, zeroed) for ids in cond["window_ids"]]
        mu = np.mean([[over_mixing(c[l]) for l in range(n_layers)] for c in clean], axis=0)
        for l in range(n_layers):
            want_mu[(cond["name"], l)] = mu[l]
        for s in cond["spread"]:
            sums, counts = {}, {}
            for w, p in enumerate(s["positions"]):
                ids = cond["window_ids"][w]
                if s["perturbation"] == "embedding":
                    other = residuals(meta, t, ids, zeroed, (p, res["delta"] * u))
                else:
                    other = residuals(meta, t, substituted(ids, p, res["pair_tokens"]), zeroed)
                delta = np.linalg.norm(other - clean[w], axis=-1)  # [L, T]
                for o in range(len(ids) - p):
                    counts[o] = counts.get(o, 0) + 1
                    for l in range(n_layers):
                        sums[(o, l)] = sums.get((o, l), 0.0) + delta[l, p + o]
            for (o, l), v in sums.items():
                want_spread[(cond["name"], s["perturbation"], o, l)] = v / counts[o]

    def compare(path, key, column, want):
        worst, where = 0.0, None
        with open(path) as f:
            rows = list(csv.DictReader(f))
        if len(rows) != len(want):
            raise SystemExit(f"{path}: {len(rows)} rows, the reference has {len(want)}")
        for r in rows:
            ref = want[key(r)]
            err = abs(float(r[column]) - ref) / max(abs(ref), 1e-30)
            if ref == 0.0:
                err = abs(float(r[column]))
            if err > worst:
                worst, where = err, key(r)
        print(f"{path.split('/')[-1]} {column}: {len(rows)} values, max relative error "
              f"{worst:.3g} at {where}")
        return worst

    worst = max(
        compare(f"{args.dir}/over_mixing.csv", lambda r: (r["condition"], int(r["layer"])),
                "mu_mean", want_mu),
        compare(f"{args.dir}/spread_tokens.csv",
                lambda r: (r["condition"], r["perturbation"], int(r["offset"]), int(r["layer"])),
                "delta_mean", want_spread))
    if worst > args.tol:
        print(f"mixing: error above {args.tol}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
