#!/usr/bin/env python3
"""The mixture-of-experts statistics of `sinkscope analyze` (analysis.json, each run's "moe")
against a float64 recomputation from forward_ref.py's router: per layer the mean entropy of the
softmax over all router logits, every expert's share of the token x k routing slots, and the
mean over pairs of windows of |A_w & A_v| / k, A_w the k experts with the most slots in window w
(ties to the lower index), counted here pair by pair.

usage: moe_ref.py MODEL.gguf FORWARD.json ANALYSIS.json [--tol 1e-6]
FORWARD.json is `sinkscope forward --json` of the analysed text (its ids: BOS, then the text);
the run checked is analysis.json's BOS-on run (windows: BOS and the next ctx - 1 text tokens).
Exit 1 when an error exceeds --tol or the chosen experts differ.
"""
import argparse
import itertools
import json
import math
import sys

import numpy as np

import forward_ref
from gguf_read import read_gguf


def routers_of(meta, tensors, ids):
    """[(router logits [T, E], chosen experts [T, k])] per layer, from forward_ref's forward."""
    seen = []
    moe = forward_ref.gpt_oss_moe

    def recording(*args, **kwargs):
        out, logits, top = moe(*args, **kwargs)
        seen.append((logits, top))
        return out, logits, top

    forward_ref.gpt_oss_moe = recording
    try:
        forward_ref.forward(meta, tensors, ids)
    finally:
        forward_ref.gpt_oss_moe = moe
    return seen


def entropy(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("forward_json")
    ap.add_argument("analysis_json")
    ap.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args()
    meta, tensors = read_gguf(args.model)
    with open(args.forward_json) as f:
        ids = json.load(f)["ids"]
    with open(args.analysis_json) as f:
        run = next(r for r in json.load(f)["runs"] if r["bos"] == "on")
    got = run["moe"]
    ctx, n_windows = run["ctx"], run["windows"]
    n_exp, k = got["n_experts"], got["n_experts_used"]
    body = ctx - 1
    windows = [[ids[0]] + ids[1 + w * body:1 + (w + 1) * body] for w in range(n_windows)]
    assert all(len(w) == ctx for w in windows), "the text is shorter than analyze's windows"

    per_window = [routers_of(meta, tensors, w) for w in windows]  # [window][layer]
    n_layers = len(per_window[0])
    worst = 0.0
    for layer in range(n_layers):
        logits = np.concatenate([pw[layer][0] for pw in per_window])
        top = np.concatenate([pw[layer][1] for pw in per_window])
        want_entropy = float(entropy(logits).mean())
        load = np.bincount(top.ravel(), minlength=n_exp) / top.size
        sets = []
        for pw in per_window:
            counts = np.bincount(pw[layer][1].ravel(), minlength=n_exp)
            order = sorted(range(n_exp), key=lambda e: (-counts[e], e))
            sets.append(set(order[:k]))
        pairs = list(itertools.combinations(sets, 2))
        want_agree = (sum(len(a & b) for a, b in pairs) / (len(pairs) * k)) if pairs else None

        g = got["layers"][layer]
        errs = [abs(g["router_entropy"] - want_entropy),
                abs(g["router_entropy_normalised"] - want_entropy / math.log(n_exp))]
        errs += [abs(a - b) for a, b in zip(g["expert_load"], load)]
        if want_agree is None:
            if g["topk_agreement"] is not None:
                raise SystemExit(f"layer {layer}: topk_agreement {g['topk_agreement']}, want null")
        else:
            errs.append(abs(g["topk_agreement"] - want_agree))
        worst = max(worst, max(errs))
        print(f"layer {layer}: router_entropy {g['router_entropy']:.6f} (ref {want_entropy:.6f}), "
              f"load {np.round(g['expert_load'], 4).tolist()}, topk_agreement "
              f"{g['topk_agreement']} (ref {want_agree})")
    print(f"{n_windows} windows of {ctx}, {n_layers} layers, top-{k} of {n_exp}: "
          f"max abs error {worst:.3g}")
    if worst > args.tol:
        print(f"error above {args.tol}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
