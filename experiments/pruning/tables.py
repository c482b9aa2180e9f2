#!/usr/bin/env python3
"""Markdown tables of experiments/pruning/run.sh's sweeps: one row per point, then, per sweep and
pruned amount, the criteria ranked by perplexity (equal amount pruned = equal cost in the uniform
scopes). Usage: tables.py OUT_DIR"""
import json
import pathlib
import statistics
import sys

out = pathlib.Path(sys.argv[1])


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


for d in sorted(p for p in out.iterdir() if (p / "sweep.json").exists()):
    s = json.loads((d / "sweep.json").read_text())
    pts = s["points"]
    ppl_key = next(k for k in pts[0] if k.startswith("ppl:") and k.endswith(".ppl"))
    bpb_key = ppl_key[:-4] + ".bits_per_byte"
    arc = next((k for k in pts[0] if k.startswith("mc:arc") and k.endswith(".acc")), None)
    piqa = next((k for k in pts[0] if k.startswith("mc:piqa") and k.endswith(".acc")), None)
    unit = "layers" if s["unit"] == "layer" else "heads"
    print(f"\n### {d.name} (unit {s['unit']}, scope {s['scope']})\n")
    print(f"| criterion | ratio | {unit} | removed from file | params | MiB | prefill × | "
          "decode × | ppl | bits/byte | ARC-Easy | PIQA |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in pts:
        print(f"| {p['criterion']} | {p['ratio']:g} | {p[unit + '_pruned']} | "
              f"{'yes' if p.get('cost.physical') else 'no'} | {fmt(p.get('cost.params'), ',.0f')} | "
              f"{fmt(p.get('cost.file_bytes', 0) / 2**20, '.2f')} | "
              f"{fmt(p.get('cost.prefill_speedup'), '.3f')} | "
              f"{fmt(p.get('cost.decode_speedup'), '.3f')} | {p[ppl_key]:.2f} | "
              f"{fmt(p.get(bpb_key), '.4f')} | {fmt(p.get(arc), '.3f')} | "
              f"{fmt(p.get(piqa), '.3f')} |")
    # Criteria ranked at each amount pruned (dense excluded).
    by_amount = {}
    for p in pts:
        if p[unit + "_pruned"]:
            by_amount.setdefault(p[unit + "_pruned"], []).append(p)
    print(f"\nRanked by perplexity at each number of {unit} pruned (median speed-ups of the "
          "amount):\n")
    for n, group in sorted(by_amount.items()):
        group.sort(key=lambda p: p[ppl_key])
        sp = [p["cost.prefill_speedup"] for p in group if "cost.prefill_speedup" in p]
        dp = [p["cost.decode_speedup"] for p in group if "cost.decode_speedup" in p]
        ranked = ", ".join(f"{p['criterion']} {p[ppl_key]:.2f}" for p in group)
        print(f"- {n} {unit} (prefill × {statistics.median(sp):.3f}, decode × "
              f"{statistics.median(dp):.3f}): {ranked}")
