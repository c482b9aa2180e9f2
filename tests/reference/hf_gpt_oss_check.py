#!/usr/bin/env python3
"""A gpt-oss Hugging Face folder written by `sinkscope convert --format safetensors` against the
GGUF it came from, read the way transformers reads such folders (modeling_gpt_oss.py
GptOssExperts, integrations/mxfp4.py convert_moe_packed_tensors), not the way sinkscope does:

- gate_up_proj [E, hidden, 2 ff] is used as x @ W with gate = columns 0, 2, 4, ... and
  up = 1, 3, 5, ...; gate_up_proj_bias [E, 2 ff] likewise; down_proj [E, ff, hidden];
- MXFP4 experts: `*_blocks` [E, out, in/32, 16] and `*_scales` [E, out, in/32] (U8); byte j of a
  block holds value 2j in its low nibble and 2j + 1 in its high one, each an E2M1 code
  (0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives) times 2^(scale - 127); the dense matrix is
  [E, out, in] transposed to [E, in, out];
- self_attn.sinks [heads], mlp.router.weight [E, hidden] and .bias [E];
- config.json: num_local_experts, num_experts_per_tok, layer_types, rope_scaling (yarn).

usage: hf_gpt_oss_check.py MODEL.gguf HF_DIR
Prints the largest difference per kind of tensor; exit 1 unless every one is exactly 0.
"""
import json
import struct
import sys

import numpy as np

from gguf_read import read_gguf

FP4 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    kinds = {"F32": np.float32, "U8": np.uint8}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        raw = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=kinds[e["dtype"]])
        out[name] = raw.reshape(e["shape"]).astype(np.float64 if e["dtype"] == "F32" else np.uint8)
    return out


def dequantize_packed(blocks, scales):
    """convert_moe_packed_tensors: [E, out, G, 16] bytes and [E, out, G] scales to [E, in, out]."""
    e, rows, g, b = blocks.shape
    lo, hi = FP4[blocks & 0x0F], FP4[blocks >> 4]
    values = np.empty((e, rows, g, 2 * b))
    values[..., 0::2], values[..., 1::2] = lo, hi
    values *= np.ldexp(1.0, scales.astype(np.int64) - 127)[..., None]
    return values.reshape(e, rows, g * 2 * b).transpose(0, 2, 1)


def main():
    gguf_path, folder = sys.argv[1], sys.argv[2]
    meta, t = read_gguf(gguf_path)
    st = read_safetensors(folder + "/model.safetensors")
    config = json.load(open(folder + "/config.json"))
    p = "gpt-oss."
    worst = {}

    def compare(kind, a, b):
        if a.shape != b.shape:
            print(f"{kind}: shape {a.shape} against {b.shape}", file=sys.stderr)
            worst[kind] = float("inf")
            return
        worst[kind] = max(worst.get(kind, 0.0), float(np.max(np.abs(a - b))))

    n_layers = meta[p + "block_count"]
    assert config["model_type"] == "gpt_oss"
    assert config["num_local_experts"] == meta[p + "expert_count"]
    assert config["num_experts_per_tok"] == meta[p + "expert_used_count"]
    assert config["layer_types"] == ["sliding_attention" if (i + 1) % 2 else "full_attention"
                                     for i in range(n_layers)]
    assert config["sliding_window"] == meta[p + "attention.sliding_window"]
    rs = config["rope_scaling"]
    assert rs["rope_type"] == "yarn" and rs["factor"] == meta[p + "rope.scaling.factor"]
    assert rs["original_max_position_embeddings"] == meta[p + "rope.scaling.original_context_length"]
    for layer in range(n_layers):
        b, h = f"blk.{layer}.", f"model.layers.{layer}."
        compare("sinks", st[h + "self_attn.sinks"], t[b + "attn_sinks.weight"])
        compare("router", st[h + "mlp.router.weight"], t[b + "ffn_gate_inp.weight"])
        compare("router bias", st[h + "mlp.router.bias"], t[b + "ffn_gate_inp.bias"])
        x = h + "mlp.experts."
        if x + "gate_up_proj_blocks" in st:
            gate_up = dequantize_packed(st[x + "gate_up_proj_blocks"], st[x + "gate_up_proj_scales"])
            down = dequantize_packed(st[x + "down_proj_blocks"], st[x + "down_proj_scales"])
        else:
            gate_up, down = st[x + "gate_up_proj"], st[x + "down_proj"]
        gate_w, up_w = t[b + "ffn_gate_exps.weight"], t[b + "ffn_up_exps.weight"]  # [E, ff, in]
        compare("experts gate", gate_up[..., 0::2], gate_w.transpose(0, 2, 1))
        compare("experts up", gate_up[..., 1::2], up_w.transpose(0, 2, 1))
        compare("experts down", down, t[b + "ffn_down_exps.weight"].transpose(0, 2, 1))
        compare("experts gate bias", st[x + "gate_up_proj_bias"][:, 0::2], t[b + "ffn_gate_exps.bias"])
        compare("experts up bias", st[x + "gate_up_proj_bias"][:, 1::2], t[b + "ffn_up_exps.bias"])
        compare("experts down bias", st[x + "down_proj_bias"], t[b + "ffn_down_exps.bias"])
    kind = "MXFP4 blocks" if "model.layers.0.mlp.experts.gate_up_proj_blocks" in st else "dense"
    print(f"gpt-oss folder ({kind} experts): " +
          ", ".join(f"{k} {v:.3g}" for k, v in worst.items()))
    return 0 if all(v == 0 for v in worst.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
