#!/usr/bin/env python3
"""Float64 reference forward pass for GGUF llama, qwen2, qwen3, gemma2, gemma3, olmo2, gpt2,
gptneox, phi3 and gpt-oss models, checked against `sinkscope forward --json --attention`.

Written from the Hugging Face transformers implementations (modeling_llama.py,
modeling_qwen2.py, modeling_qwen3.py, modeling_gemma2.py, modeling_gemma3.py, modeling_olmo2.py,
modeling_gpt2.py, modeling_gpt_neox.py, modeling_phi3.py, modeling_gpt_oss.py and
modeling_rope_utils.py), not from sinkscope: weights are first brought back to Hugging Face
conventions the way llama.cpp's convert_hf_to_gguf.py changed them (llama Q/K rows un-permuted,
Gemma norm weights w = stored - 1, GPT-NeoX fused QKV rows back to per-head [q, k, v], gpt-oss
experts back to the interleaved gate_up_proj), then the HF computations run in float64
(rotate-half rope, also partial, LongRoPE- or YaRN-scaled, GQA by repeating K/V heads, masked
softmax, learned sink logits, LayerNorm or RMSNorm, parallel or sequential residual, top-k
mixture of experts, ...).

sinkscope's own attention variants (GGUF key sinkscope.attention, docs/architecture.md) follow
Gu et al. 2024 ("When attention sink emerges"): softmax1 is a sink column of logit 0; sink-logit
a learned logit per head (blk.N.attn_sinks.weight, as gpt-oss); sink-kv a learned key and value
per KV head (blk.N.attn_sink_k/v.weight) whose key is not rotated; sigmoid is σ(q·k·scale)
without normalisation, whose rows sinkscope reports as shares of their sum. Its block options
(sinkscope.norm, sinkscope.positional) follow the original Transformer and GPT-2: post is
Post-LN, h = Norm(x + Attn(x)), out = Norm(h + FFN(h)) with attn_norm and ffn_norm, the final
norm kept; none has no position encoding; learned adds position_embd rows as GPT-2's wpe.

gpt-oss follows llama.cpp where a GGUF leaves HF's choice open: YaRN's correction range is
rounded (HF truncate=True; the GGUF key sinkscope.rope.scaling.yarn_truncate = false turns it
off), and rope.scaling.attn_factor multiplies YaRN's 0.1 ln(factor) + 1.

usage: forward_ref.py MODEL.gguf FORWARD.json [--llama3 F,LOW,HIGH,ORIG] [--tol 1e-4]
                      [--heads HEADS.csv]
Prints the max abs errors of logits and attention (and the max relative error of the heads.csv
statistics); exit 1 if one exceeds --tol.
"""
import argparse
import csv
import json
import math
import sys

import numpy as np

from gguf_read import read_gguf


def rms_norm(x, w, eps, plus_one=False):
    """HF LlamaRMSNorm / Qwen3RMSNorm (x * w) and Gemma3RMSNorm (x * (1 + w))."""
    y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return y * (1.0 + w) if plus_one else y * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def apply_rope(x, inv_freq, attn_factor=1.0):
    """x: [T, heads, head_dim] at positions 0..T-1 (HF apply_rotary_pos_emb). Only the first
    2 * len(inv_freq) dims of each head rotate (partial rotary: GPT-NeoX, Phi-3); cos and sin
    are scaled by the rope's attention factor (LongRoPE)."""
    freqs = np.outer(np.arange(x.shape[0], dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)[:, None, :]
    rot, rest = x[..., :emb.shape[-1]], x[..., emb.shape[-1]:]
    rot = rot * (np.cos(emb) * attn_factor) + rotate_half(rot) * (np.sin(emb) * attn_factor)
    return np.concatenate([rot, rest], axis=-1)


def llama3_inv_freq(inv_freq, factor, low, high, orig):
    """HF modeling_rope_utils._compute_llama3_parameters."""
    low_wavelen = orig / low
    high_wavelen = orig / high
    wavelen = 2 * math.pi / inv_freq
    out = np.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    smooth = (orig / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * out / factor + smooth * out
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, out)


def yarn_inv_freq(n_rot, theta, factor, orig, beta_fast=32.0, beta_slow=1.0, truncate=True):
    """HF modeling_rope_utils._compute_yarn_parameters: inverse frequencies blended between
    interpolation (/ factor) and extrapolation over the correction range of dims."""
    def correction_dim(rotations):
        return n_rot * math.log(orig / (rotations * 2 * math.pi)) / (2 * math.log(theta))
    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, n_rot - 1)
    if low == high:
        high += 0.001  # linear_ramp_factor: prevent singularity
    ramp = np.clip((np.arange(n_rot // 2, dtype=np.float64) - low) / (high - low), 0, 1)
    extrapolation = 1.0 - ramp  # inv_freq_extrapolation_factor
    pos_freqs = theta ** (np.arange(0, n_rot, 2, dtype=np.float64) / n_rot)
    return (1.0 / (factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation


def gpt_oss_moe(h, t, b, k_used, alpha=1.702, limit=7.0):
    """HF GptOssMLP: GptOssTopKRouter (top-k of the biased router logits, softmax over the k
    chosen) and GptOssExperts (clamped SwiGLU with biases, weighted sum). The GGUF's separate
    gate and up experts are interleaved back into HF's gate_up_proj [E, hidden, 2 ff] (gate at
    even columns, up at odd ones: conversion/gpt_oss.py splits [::2] and [1::2])."""
    gate_w, up_w = t[b + "ffn_gate_exps.weight"], t[b + "ffn_up_exps.weight"]  # [E, ff, hidden]
    n_exp, ff, hidden = gate_w.shape
    gate_up_proj = np.empty((n_exp, hidden, 2 * ff))
    gate_up_proj[..., ::2] = gate_w.transpose(0, 2, 1)
    gate_up_proj[..., 1::2] = up_w.transpose(0, 2, 1)
    gate_up_bias = np.empty((n_exp, 2 * ff))
    gate_up_bias[:, ::2] = t[b + "ffn_gate_exps.bias"]
    gate_up_bias[:, 1::2] = t[b + "ffn_up_exps.bias"]
    down_proj = t[b + "ffn_down_exps.weight"].transpose(0, 2, 1)  # [E, ff, hidden]
    down_bias = t[b + "ffn_down_exps.bias"]  # [E, hidden]
    router_logits = h @ t[b + "ffn_gate_inp.weight"].T + t[b + "ffn_gate_inp.bias"]
    top = np.argsort(-router_logits, axis=-1, kind="stable")[:, :k_used]
    top_value = np.take_along_axis(router_logits, top, axis=-1)
    top_value = np.exp(top_value - top_value.max(axis=-1, keepdims=True))
    top_value /= top_value.sum(axis=-1, keepdims=True)
    routing = np.zeros_like(router_logits)
    np.put_along_axis(routing, top, top_value, axis=-1)
    out = np.zeros_like(h)
    for e in range(n_exp):
        gate_up = h @ gate_up_proj[e] + gate_up_bias[e]
        gate, up = gate_up[..., ::2], gate_up[..., 1::2]
        gate = np.minimum(gate, limit)
        up = np.clip(up, -limit, limit)
        glu = gate / (1.0 + np.exp(-gate * alpha))  # gate * sigmoid(gate * alpha)
        out += ((up + 1) * glu @ down_proj[e] + down_bias[e]) * routing[:, e:e + 1]
    return out, router_logits, top


def unpermute(w, n_head):
    """Undo convert_hf_to_gguf.py's LlamaModel.permute of Q/K rows (HF rotate-half order)."""
    rows, cols = w.shape
    return w.reshape(n_head, rows // n_head // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def neox_per_head(w, n_head):
    """Undo convert_hf_to_gguf.py's GPTNeoXModel repacking of query_key_value rows (or bias):
    GGUF [Q; K; V] back to HF's per-head [head][q, k, v][head_dim]."""
    return w.reshape(3, n_head, w.shape[0] // 3 // n_head, -1).swapaxes(0, 1).reshape(w.shape)


def layer_norm(x, w, b, eps):
    """torch.nn.LayerNorm (biased variance) of GPT-2 and GPT-NeoX."""
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_tanh(x):
    """HF "gelu_pytorch_tanh" (Gemma) and "gelu_new" (GPT-2)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_erf(x):
    """HF "gelu" (GELUActivation, exact) of GPT-NeoX."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def forward(meta, t, ids, llama3=None, info=None):
    """Returns (logits [T, V], attention [L, H, T, T], per-layer head tensors); fills info (a
    dict, if given) with the smallest router margin of a mixture of experts: the k-th minus
    the (k+1)-th logit, where float32 rounding could change the chosen experts."""
    arch = meta["general.architecture"]
    p = arch + "."
    dim = meta[p + "embedding_length"]
    n_layers = meta[p + "block_count"]
    n_head = meta[p + "attention.head_count"]
    n_kv = meta.get(p + "attention.head_count_kv", n_head)
    hd = meta.get(p + "attention.key_length", dim // n_head)
    layernorm = arch in ("gpt2", "gptneox")  # nn.LayerNorm with bias; the others RMSNorm
    eps = meta[p + ("attention.layer_norm_epsilon" if layernorm else
                    "attention.layer_norm_rms_epsilon")]
    theta = meta.get(p + "rope.freq_base", 10000.0)
    n_rot = meta.get(p + "rope.dimension_count", hd)  # rotating dims of a head (rotary_pct)
    gemma = arch in ("gemma2", "gemma3")
    post = meta.get("sinkscope.norm", "pre") == "post"
    positional = meta.get("sinkscope.positional", "rope")
    if gemma:  # HF stores w, GGUF w + 1 (convert_hf_to_gguf.py Gemma3Model)
        t = {k: (v - 1.0 if k.endswith("norm.weight") else v) for k, v in t.items()}

    def norm(x, name):
        if layernorm:
            return layer_norm(x, t[name + ".weight"], t[name + ".bias"], eps)
        return rms_norm(x, t[name + ".weight"], eps, gemma)

    n = len(ids)
    embed = t["token_embd.weight"]
    lm_head = t.get("output.weight", embed)
    x = embed[ids]
    if gemma:
        x = x * dim ** 0.5  # Gemma3TextScaledWordEmbedding
    if arch == "gpt2" or positional == "learned":  # GPT2Model: wte + wpe at 0..T-1, no rope
        x = x + t["position_embd.weight"][:n]
    inv_freq = 1.0 / theta ** (np.arange(0, n_rot, 2, dtype=np.float64) / n_rot)
    if llama3:
        inv_freq = llama3_inv_freq(inv_freq, *llama3)
    rope_attn_factor = 1.0
    if meta.get(p + "rope.scaling.type") == "yarn":
        # YaRN (HF rope_type "yarn"): the original context, factor and betas as the converter
        # writes them; cos and sin times 0.1 ln(factor) + 1, times rope.scaling.attn_factor as
        # llama.cpp's context applies it (absent from the synthesized GGUFs: 1).
        factor = meta[p + "rope.scaling.factor"]
        inv_freq = yarn_inv_freq(
            n_rot, theta, factor,
            meta.get(p + "rope.scaling.original_context_length", meta[p + "context_length"]),
            meta.get(p + "rope.scaling.yarn_beta_fast", 32.0),
            meta.get(p + "rope.scaling.yarn_beta_slow", 1.0),
            bool(meta.get("sinkscope.rope.scaling.yarn_truncate", True)))
        rope_attn_factor = (meta.get(p + "rope.scaling.attn_factor", 1.0)
                            * (0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0))
    if arch == "phi3":
        # LongRoPE (modeling_rope_utils: _compute_longrope_parameters and the dynamic update):
        # inv_freq / long factors when the forward's max position + 1 exceeds the original
        # context, else / short factors; cos and sin times the attention factor either way.
        long_rope = n > meta.get(p + "rope.scaling.original_context_length", n)
        factors = t.get("rope_factors_long.weight" if long_rope else "rope_factors_short.weight")
        if factors is not None:
            inv_freq = inv_freq / factors
        rope_attn_factor = meta.get(p + "rope.scaling.attn_factor", 1.0)
    scaling = hd ** -0.5
    if arch == "gemma2" and n_layers == 46:  # llama.cpp's rule for the 27B
        scaling = (dim // n_head) ** -0.5
    scaling = meta.get("sinkscope.query_scale", scaling)
    attn_cap = meta.get(p + "attn_logit_softcapping", 0.0)
    window = 0
    # gpt-oss: layer_types "sliding_attention" for even layers, like Gemma 2.
    global_every = {"gemma2": 2, "gemma3": 6, "gpt-oss": 2}.get(arch, 0)  # 0: every layer slides
    inv_local = inv_freq
    if arch in ("gemma2", "phi3", "gpt-oss"):
        window = meta.get(p + "attention.sliding_window", 0)  # one rope base for every layer
    if arch == "gemma3":
        # Gemma3TextModel: global layers use rope_theta with rope_scaling (linear: inv_freq /
        # factor); sliding layers rope_local_base_freq without scaling. query_pre_attn_scalar
        # is head_dim for the synthesized shapes.
        if meta.get(p + "rope.scaling.type") == "linear":
            inv_freq = inv_freq / meta[p + "rope.scaling.factor"]
        local = meta.get(p + "rope.freq_base_swa", 10000.0)
        inv_local = 1.0 / local ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
        window = meta.get(p + "attention.sliding_window", 0)
    # GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)) unless use_parallel_residual is false.
    parallel = arch == "gptneox" and meta.get(p + "use_parallel_residual", True)

    variant = meta.get("sinkscope.attention", "softmax")
    q_idx = np.arange(n)[:, None]
    k_idx = np.arange(n)[None, :]
    attention = []
    routers = []  # gpt-oss, per layer: (router logits [T, E], chosen experts [T, k])
    # per layer: (probs [H, T, T], z [T, H, hd], c [T, H, dim], v [T, n_kv, hd], window,
    # p_sink [H, T]: the learned sink's probability, zero without one)
    heads = []
    for layer in range(n_layers):
        b = f"blk.{layer}."
        sliding = window > 0 and (global_every == 0 or (layer + 1) % global_every != 0)
        # OLMo 2 has no norm before the sublayers: they read the residual stream as it is.
        h = norm(x, b + "attn_norm") if arch != "olmo2" and not post else x
        if arch == "gptneox":  # GPTNeoXAttention: per head [q, k, v] of the fused projection
            qkv = h @ neox_per_head(t[b + "attn_qkv.weight"], n_head).T
            qkv = (qkv + neox_per_head(t[b + "attn_qkv.bias"], n_head)).reshape(n, n_head, 3 * hd)
            q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        elif arch in ("gpt2", "phi3"):  # GPT2 c_attn / Phi3 qkv_proj: split into [Q; K; V]
            qkv = h @ t[b + "attn_qkv.weight"].T
            if b + "attn_qkv.bias" in t:
                qkv = qkv + t[b + "attn_qkv.bias"]
            q, k, v = np.split(qkv, [n_head * hd, (n_head + n_kv) * hd], axis=-1)
        else:
            wq, wk = t[b + "attn_q.weight"], t[b + "attn_k.weight"]
            if arch == "llama":
                wq, wk = unpermute(wq, n_head), unpermute(wk, n_kv)
            q, k, v = h @ wq.T, h @ wk.T, h @ t[b + "attn_v.weight"].T
        if arch == "olmo2":  # q and k RMS-normed over the whole projection (Olmo2Attention)
            q = rms_norm(q, t[b + "attn_q_norm.weight"], eps)
            k = rms_norm(k, t[b + "attn_k_norm.weight"], eps)
        if arch in ("qwen2", "gpt-oss"):
            q, k, v = q + t[b + "attn_q.bias"], k + t[b + "attn_k.bias"], v + t[b + "attn_v.bias"]
        q, k, v = q.reshape(n, n_head, hd), k.reshape(n, n_kv, hd), v.reshape(n, n_kv, hd)
        v_kv = v
        if arch in ("qwen3", "gemma3"):
            q = rms_norm(q, t[b + "attn_q_norm.weight"], eps, gemma)
            k = rms_norm(k, t[b + "attn_k_norm.weight"], eps, gemma)
        if arch != "gpt2" and positional == "rope":
            inv = inv_local if sliding else inv_freq
            q, k = apply_rope(q, inv, rope_attn_factor), apply_rope(k, inv, rope_attn_factor)
        k = np.repeat(k, n_head // n_kv, axis=1)  # repeat_kv
        v = np.repeat(v, n_head // n_kv, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) * scaling
        if attn_cap:  # Gemma 2's attention logit soft-capping
            scores = np.tanh(scores / attn_cap) * attn_cap
        masked = k_idx > q_idx
        if sliding:  # masking_utils.sliding_window_overlay: visible iff q - k < window
            masked = masked | (q_idx - k_idx >= window)
        scores = np.where(masked[None], -np.inf, scores)
        sinks = t.get(b + "attn_sinks.weight")
        sink_scores = None  # [H, T]: the sink column's logit per head and query
        if sinks is not None:
            sink_scores = np.broadcast_to(sinks[:, None], (n_head, n))
        if variant == "softmax1":
            sink_scores = np.zeros((n_head, n))
        sink_v = None
        if variant == "sink-kv":
            # The learned key has no position: never rotated, in the heads' (unpermuted) order.
            sink_k = t[b + "attn_sink_k.weight"]
            if arch == "llama":
                sink_k = unpermute(sink_k.reshape(-1, 1), n_kv).reshape(n_kv, hd)
            sink_k = np.repeat(sink_k, n_head // n_kv, axis=0)
            sink_v = np.repeat(t[b + "attn_sink_v.weight"], n_head // n_kv, axis=0)
            sink_scores = np.einsum("qhd,hd->hq", q, sink_k) * scaling
            if attn_cap:
                sink_scores = np.tanh(sink_scores / attn_cap) * attn_cap
        p_sink = np.zeros((n_head, n))
        if variant == "sigmoid":
            weights = np.where(masked[None], 0.0, 1.0 / (1.0 + np.exp(-scores)))
            z = np.einsum("hqk,khd->qhd", weights, v).reshape(n, n_head * hd)
            probs = weights / weights.sum(axis=-1, keepdims=True)  # each row's shares
        else:
            if sink_scores is not None:
                # gpt-oss eager_attention_forward: the head's sink logit (unscaled) as one more
                # column, the softmax over all, then the column dropped: rows sum to 1 - p_sink.
                scores = np.concatenate([scores, sink_scores[..., None]], axis=-1)
            scores = scores - scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            if sink_scores is not None:
                probs, p_sink = probs[..., :-1], probs[..., -1]
            z = np.einsum("hqk,khd->qhd", probs, v)
            if sink_v is not None:
                z = z + np.einsum("hq,hd->qhd", p_sink, sink_v)
            z = z.reshape(n, n_head * hd)
        attention.append(probs)
        wo = t[b + "attn_output.weight"]
        c = np.einsum("qhd,ohd->qho", z.reshape(n, n_head, hd), wo.reshape(-1, n_head, hd))
        heads.append((probs, z.reshape(n, n_head, hd), c, v_kv, window if sliding else 0, p_sink))
        o = z @ wo.T
        if b + "attn_output.bias" in t:
            o = o + t[b + "attn_output.bias"]
        if gemma or arch == "olmo2":
            o = rms_norm(o, t[b + "post_attention_norm.weight"], eps, gemma)
        x_in = x
        x = x + o
        if arch == "gpt-oss":  # post_attention_layernorm before the MoE
            h = norm(x, b + "post_attention_norm")
        elif post:  # Post-LN: the sum normed, the FFN's input and the residual
            x = h = norm(x, b + "attn_norm")
        else:
            h = norm(x_in if parallel else x, b + "ffn_norm") if arch != "olmo2" else x
        if arch == "gpt-oss":
            m, router_logits, top = gpt_oss_moe(h, t, b, meta[p + "expert_used_count"])
            routers.append((router_logits, top))
        elif arch in ("gpt2", "gptneox"):  # GPT2MLP / GPTNeoXMLP: down(act(up(h))), with biases
            u = h @ t[b + "ffn_up.weight"].T + t[b + "ffn_up.bias"]
            act = gelu_tanh(u) if arch == "gpt2" else gelu_erf(u)  # gelu_new / gelu
            m = act @ t[b + "ffn_down.weight"].T + t[b + "ffn_down.bias"]
        else:
            if arch == "phi3":  # Phi3MLP: gate_up_proj, chunked into gate then up
                g, u = np.split(h @ t[b + "ffn_up.weight"].T, 2, axis=-1)
            else:
                g, u = h @ t[b + "ffn_gate.weight"].T, h @ t[b + "ffn_up.weight"].T
            m = ((gelu_tanh(g) if gemma else silu(g)) * u) @ t[b + "ffn_down.weight"].T
        if gemma or arch == "olmo2":
            m = rms_norm(m, t[b + "post_ffw_norm.weight"], eps, gemma)
        x = x + m
        if post:
            x = norm(x, b + "ffn_norm")
    x = norm(x, "output_norm")
    logits = x @ lm_head.T
    cap = meta.get(p + "final_logit_softcapping", 0.0)
    if cap:
        logits = np.tanh(logits / cap) * cap
    if info is not None and routers:
        margins = []
        for router_logits, top in routers:
            ordered = -np.sort(-router_logits, axis=-1)
            k = top.shape[1]
            if k < ordered.shape[1]:
                margins.append(float((ordered[:, k - 1] - ordered[:, k]).min()))
        if margins:
            info["router_margin"] = min(margins)
    return logits, np.array(attention), heads


# SPEC.md's per-head statistics of one window, in float64: {name: [L*H values]}. With a learned
# sink the key probabilities α sum to 1 - p_sink and every statistic takes them as they are (SPEC
# "Learned sinks": not renormalised); the entropy is SPEC's -Σ_k α ln α over the keys.
def head_stats(heads, sink_tokens=4):
    out = {}
    for probs, z, c, v, window, p_sink in heads:
        n_head, n = probs.shape[0], probs.shape[1]
        group = n_head // v.shape[1]
        v_norm = np.linalg.norm(v, axis=-1)  # [T, n_kv]
        z_mean = np.linalg.norm(z, axis=-1).mean(axis=0)  # [H]
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(probs > 0, probs * np.log(probs), 0.0)
        for h in range(n_head):
            p = probs[h]
            visible = np.array([n - k if window == 0 else min(n, k + window) - k
                                for k in range(n)], dtype=np.float64)
            sink_k = p.sum(axis=0) / visible
            row = {
                "bos_sink_score": p[:, 0].mean(),
                "bos_attention_mean_q1": p[1:, 0].mean(),
                "first_k_mass": p[:, :sink_tokens].sum(axis=1).mean(),
                "top_key": float(1 + np.argmax(sink_k[1:])),
                "top_key_score": sink_k[1:].max(),
                "entropy_mean_q1": -plogp[h][1:].sum(axis=1).mean(),
                "z_norm_mean": z_mean[h],
                "z_norm_layer_ratio": z_mean[h] / z_mean.mean(),
                "contrib_norm_mean": np.linalg.norm(c[:, h], axis=-1).mean(),
                "value_norm_first": v_norm[0, h // group],
                "value_norm_ratio": v_norm[0, h // group] / v_norm[1:, h // group].mean(),
                # SPEC §Learned sinks: the sink's mean share, and BOS over the keys only.
                "learned_sink_mass": p_sink[h].mean(),
                "bos_sink_score_keys": (p[:, 0] / p.sum(axis=1)).mean(),
            }
            for name, value in row.items():
                out.setdefault(name, []).append(float(value))
    return out


# Compares heads.csv of `sinkscope analyze` (one window, the same tokens) with head_stats.
def check_heads_csv(path, want, tol):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    worst, checked = 0.0, 0
    for name, values in want.items():
        if name not in rows[0]:
            raise SystemExit(f"{path}: no column {name}")
        got = np.array([float(r[name]) for r in rows])
        if got.shape != (len(values),):
            raise SystemExit(f"{path}: {len(got)} rows, the reference has {len(values)} heads")
        ref = np.array(values)
        err = np.abs(got - ref) / np.maximum(1.0, np.abs(ref))
        worst = max(worst, float(err.max()))
        checked += len(values)
    return worst, checked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("forward_json")
    ap.add_argument("--llama3", help="FACTOR,LOW,HIGH,ORIG of Llama-3 rope scaling")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--heads", help="heads.csv of analyze over the same tokens, to check")
    args = ap.parse_args()
    meta, tensors = read_gguf(args.model)
    with open(args.forward_json) as f:
        got = json.load(f)
    llama3 = [float(v) for v in args.llama3.split(",")] if args.llama3 else None
    info = {}
    logits, attention, heads = forward(meta, tensors, got["ids"], llama3, info)
    logit_err = float(np.max(np.abs(np.array(got["logits"]) - logits)))
    att_err = float(np.max(np.abs(np.array(got["attention"]) - attention)))
    arch = meta["general.architecture"]
    print(f"{arch}: {len(got['ids'])} tokens, max |logit error| {logit_err:.3g}, "
          f"max |attention error| {att_err:.3g}"
          + (f", smallest router margin {info['router_margin']:.3g}" if "router_margin" in info
             else ""))
    stat_err = 0.0
    if args.heads:
        stat_err, checked = check_heads_csv(
            args.heads, head_stats(heads), args.tol)
        print(f"{arch}: heads.csv, {checked} values, max relative error {stat_err:.3g}")
    if not (logit_err <= args.tol and att_err <= args.tol and stat_err <= args.tol):
        print(f"{arch}: error above {args.tol}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
