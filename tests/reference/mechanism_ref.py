#!/usr/bin/env python3
"""`sinkscope analyze --mechanism` (mechanism.json) against float64 numpy, for llama GGUFs.

The FFN quadratic form of the reported block and channel is rebuilt from the weights,
A_c = (G^T diag(w) U + U^T diag(w) G) / 2 with G, U the gate and up matrices and w = W_down[c, :],
and decomposed with numpy.linalg.eigh; its top eigenvalues by |lambda|, |lambda1|/|lambda2|, and
the cosine of the reported FFN input with the top eigenvector must match within --tol (default
1e-6, relative for the eigenvalues). The rest is checked against forward_ref.py's float64 forward
pass over the same windows (the residual stream and the norms' outputs recorded as they are
computed), within --fwd-tol (default 1e-4; sinkscope's forward pass runs in float32): the spike's
normed FFN input, the sink's max |h| per block, the top-channel shares, and the key cosines.

usage: mechanism_ref.py MODEL.gguf FORWARD.json MECHANISM.json [--tol T] [--fwd-tol T]
FORWARD.json is `sinkscope forward --json` of the analysed text (its ids: BOS, then the text).
Exit 1 when an error exceeds its tolerance.
"""
import argparse
import json
import sys

import numpy as np

import forward_ref
from gguf_read import read_gguf


def record_norms(meta, tensors, ids):
    """forward_ref's forward over ids, returning {weight name: (input, output)} of every RMSNorm
    call of a layer norm or the output norm (the weights are recognised by identity)."""
    names = {id(v): k for k, v in tensors.items() if k.endswith("norm.weight")}
    seen = {}
    norm = forward_ref.rms_norm

    def recording(x, w, *args, **kwargs):
        out = norm(x, w, *args, **kwargs)
        if id(w) in names:
            seen[names[id(w)]] = (x, out)
        return out

    forward_ref.rms_norm = recording
    try:
        forward_ref.forward(meta, tensors, ids)
    finally:
        forward_ref.rms_norm = norm
    return seen


def top_share(v):
    sq = v * v
    return sq.max() / sq.sum() if sq.sum() > 0 else 0.0


def unit_heads(k, n_kv, hd):
    k = k.reshape(n_kv, hd)
    n = np.linalg.norm(k, axis=1, keepdims=True)
    return np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)


def mean_pairwise(units):
    """units: [windows, heads, hd] -> per head mean pairwise cosine."""
    n = units.shape[0]
    s = units.sum(axis=0)
    return ((s * s).sum(axis=1) - (units * units).sum(axis=(0, 2))) / (n * (n - 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("forward_json")
    ap.add_argument("mechanism_json")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--fwd-tol", type=float, default=1e-4)
    args = ap.parse_args()
    meta, t = read_gguf(args.model)
    if meta["general.architecture"] != "llama":
        raise SystemExit("mechanism_ref.py checks llama models only")
    p = "llama."
    dim = meta[p + "embedding_length"]
    n_layers = meta[p + "block_count"]
    n_head = meta[p + "attention.head_count"]
    n_kv = meta.get(p + "attention.head_count_kv", n_head)
    hd = dim // n_head
    with open(args.forward_json) as f:
        ids = json.load(f)["ids"]
    with open(args.mechanism_json) as f:
        doc = json.load(f)
    fails = []

    def check(what, got, want, tol, relative=False):
        err = abs(got - want) / (abs(want) if relative and want != 0 else 1.0)
        status = "ok" if err <= tol else "FAIL"
        print(f"  {what}: {got:.10g} (ref {want:.10g}) err {err:.3g} {status}")
        if err > tol:
            fails.append(what)

    for run in doc["runs"]:
        ctx, bos = run["ctx"], run["bos"]
        print(f"== ctx {ctx} bos {bos}")
        if bos == "on":
            body = ctx - 1
            windows = [[ids[0]] + ids[1 + w * body:1 + (w + 1) * body] for w in range(run["windows"])]
        elif bos == "off":
            windows = [ids[1 + w * ctx:1 + (w + 1) * ctx] for w in range(run["windows"])]
        else:
            continue
        assert all(len(w) == ctx for w in windows), "the text is shorter than analyze's windows"
        rec = [record_norms(meta, t, w) for w in windows]

        for key in ("quadratic_form", "sink_quadratic_form"):
            f = run[key]
            if f is None:
                continue
            print(f"  {key}:")
            site = run["spike"] if key == "quadratic_form" else {"window": 0, "pos": 0}
            if key == "sink_quadratic_form":  # the sink's largest step-up, its top channel
                ratios = [l["step_ratio"] for l in run["layers"]]
                step = ratios.index(max(ratios))
                if (f["layer"], f["channel"]) != (step, run["layers"][step]["sink_channel"]):
                    fails.append("sink_quadratic_form site")
            L, c = f["layer"], f["channel"]
            b = f"blk.{L}."
            G, U = t[b + "ffn_gate.weight"], t[b + "ffn_up.weight"]
            w = t[b + "ffn_down.weight"][c]
            A = (G.T @ (w[:, None] * U) + U.T @ (w[:, None] * G)) / 2
            vals, vecs = np.linalg.eigh(A)
            order = sorted(range(dim), key=lambda i: (-abs(vals[i]), -vals[i]))
            for k, e in enumerate(f["eigenvalues"]):
                check(f"eigenvalue {k + 1}", e, vals[order[k]], args.tol, relative=True)
            check("|lambda1|/|lambda2|", f["lambda_ratio"],
                  abs(vals[order[0]]) / abs(vals[order[1]]), args.tol, relative=True)
            v = vecs[:, order[0]]
            x = np.array(f["input"])
            check("cosine (reported input)", f["cosine"],
                  abs(v @ x) / np.linalg.norm(x), args.tol)
            check("top eigenvector |cos| with numpy's", abs(np.dot(f["top_vector"], v)), 1.0,
                  args.tol)
            form = x @ A @ x
            check("quadratic", f["quadratic"], 0.5 * form, args.tol, relative=True)
            g, u = G @ x, U @ x
            check("ffn_output", f["ffn_output"], w @ (forward_ref.silu(g) * u), args.tol,
                  relative=True)
            _, xr = rec[site["window"]][b + "ffn_norm.weight"]
            xr = xr[site["pos"]]
            check("spike FFN input (max abs error / norm)",
                  np.abs(x - xr).max() / np.linalg.norm(xr), 0.0, args.fwd_tol)
            check("cosine (reference forward)", f["cosine"], abs(v @ xr) / np.linalg.norm(xr),
                  args.fwd_tol)

        def resid_in(r, layer):  # the residual entering a block (n_layers: the output norm's)
            name = f"blk.{layer}.attn_norm.weight" if layer < n_layers else "output_norm.weight"
            return r[name][0]

        emb = np.mean([np.abs(resid_in(r, 0)[0]).max() for r in rec])
        check("embedding max |h|", run["embedding_max_abs"], emb, args.fwd_tol, relative=True)
        base = run["baseline_pos"]
        worst_cos = 0.0
        for l in run["layers"]:
            layer = l["layer"]
            post = np.mean([np.abs(resid_in(r, layer + 1)[0]).max() for r in rec])
            check(f"block {layer} sink max |h|", l["sink_max_abs"], post, args.fwd_tol, True)
            a = [r[f"blk.{layer}.attn_norm.weight"][1] for r in rec]
            check(f"block {layer} norm_share", l["norm_share"],
                  np.mean([top_share(x[0]) for x in a]), args.fwd_tol)
            check(f"block {layer} base_norm_share", l["base_norm_share"],
                  np.mean([top_share(x[base]) for x in a]), args.fwd_tol)
            check(f"block {layer} resid_share", l["resid_share"],
                  np.mean([top_share(resid_in(r, layer)[0]) for r in rec]), args.fwd_tol)
            wk = t[f"blk.{layer}.attn_k.weight"]
            for name, pos in (("sink_key_cosine", 0), ("base_key_cosine", base)):
                units = np.array([unit_heads(wk @ x[pos], n_kv, hd) for x in a])
                want = mean_pairwise(units)
                for h, got in enumerate(l[name]):
                    err = abs(got - want[h])
                    worst_cos = max(worst_cos, err)
                    if err > args.fwd_tol:
                        fails.append(f"block {layer} {name} head {h}")
                        print(f"  block {layer} {name} head {h}: {got} (ref {want[h]}) FAIL")
        print(f"  key cosines: max abs error {worst_cos:.3g}")
    if fails:
        print("failed: " + ", ".join(fails), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
