#!/usr/bin/env python3
"""sinkscope from Python: logits, cached activations, one head's pattern, an ablation, a patch,
perplexity and the sink statistics of every head. Run from the repository root after the release build:

    PYTHONPATH=build/release/python python3 examples/quickstart.py [MODEL]
"""
import pathlib
import sys

import numpy as np

import sinkscope

root = pathlib.Path(__file__).resolve().parents[1]
m = sinkscope.load(sys.argv[1] if len(sys.argv) > 1 else root / "models/sinkscope-tiny.gguf")
print("config:", m.config)

ids = m.tokenizer.encode("Once upon a time, there was a little cat.")
print("tokens:", len(ids), repr(m.tokenizer.decode(ids)))

# Logits, every layer's residual stream, and the full attention matrix of head 0 of layer 1.
out = m.run(ids, cache=["blocks.*.hook_resid_post", "blocks.1.attn.hook_z"], patterns=[(1, 0)])
pattern = out["blocks.1.attn.hook_pattern"][0]  # [query, key]
print("logits", out["logits"].shape, "| hook_z", out["blocks.1.attn.hook_z"].shape)
print("attention of the last token to the first (layer 1, head 0): %.3f" % pattern[-1, 0])

# Zero-ablating a head is patching zeros into its slice of hook_z.
z = out["blocks.1.attn.hook_z"].copy()
z[:, 0] = 0
ablated = m.run(ids, ablate=[(1, 0)])["logits"]
patched = m.run(ids, patch={"blocks.1.attn.hook_z": z})["logits"]
print("ablate == patch zeros:", np.array_equal(ablated, patched))
print("logit change from ablating head 1.0: %.4f" % np.abs(ablated - out["logits"]).max())

text = "It was a bright cold day in April, and the clocks were striking thirteen. " * 4
print("perplexity: %.3f" % m.perplexity(text, ctx=32)["ppl"])

# The sink statistics of every head (`sinkscope analyze`): .heads is heads.csv as a pandas
# DataFrame when pandas is installed, else a dict of numpy arrays.
a = m.analyze(text, ctx=32)
heads = a.heads if isinstance(a.heads, dict) else {c: a.heads[c].to_numpy() for c in a.heads}
top = int(np.argmax(heads["bos_sink_score"]))
print("strongest BOS sink: layer %d head %d, bos_sink_score %.3f; sink rate %.3f" % (
    heads["layer"][top], heads["head"][top], heads["bos_sink_score"][top], a.runs[0]["sink_rate"]))
