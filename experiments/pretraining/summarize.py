#!/usr/bin/env python3
"""Aggregate run.sh's study over seeds (standard library only).

    python3 experiments/pretraining/summarize.py RECORD_DIR

Reads the study's record (run.sh; e.g. experiments/pretraining/record/study): plan.csv, study.txt
and every finished run's files (RECORD_DIR/<setting>/seed-<n>/, with `done`); writes
RECORD_DIR/runs.csv (one row per run), summary.csv (mean and sd over seeds per setting) and
tables.md (one markdown table per group, the baseline first, ready for RESULTS.md).
"""
import csv
import json
import math
import os
import statistics
import sys

EPS = 0.3  # sink head: bos_sink_score > EPS (Gu et al.)

# Per-run metrics: column name and its heading in tables.md (None: summary.csv only).
METRICS = [
    ("sink_rate", "sink rate"),
    ("sinks_beyond_layer_0", "sink heads beyond layer 0"),
    ("bos_sink_max", "strongest BOS score"),
    ("first_token_max_bos_off", "strongest first token, BOS off"),
    ("learned_sink_mass_max", "learned sink mass"),
    ("nll", "held-out nll"),
    ("val_loss", None),
    ("mu_last_bos_on", "µ last layer, BOS on"),
    ("mu_last_bos_off", "µ last layer, BOS off"),
    ("spread_last_bos_on", "spread last layer, BOS on"),
    ("spread_last_bos_off", None),
    ("lambda_ratio", "λ1/λ2"),
    ("lambda_ratio_sink", None),
    ("train_s", None),
]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def run_metrics(d):
    """The metrics of one finished run directory (None where an output lacks them)."""
    m = dict.fromkeys(name for name, _ in METRICS)
    heads = read_csv(os.path.join(d, "analysis", "heads.csv"))
    on = [h for h in heads if h["bos"] == "on"]
    off = [h for h in heads if h["bos"] == "off"]
    scores = [float(h["bos_sink_score"]) for h in on]
    if scores:
        m["sink_rate"] = sum(s > EPS for s in scores) / len(scores)
        # The sink heads of layers 1 and up (issue 17 asks the default model for some).
        m["sinks_beyond_layer_0"] = sum(
            float(h["bos_sink_score"]) > EPS for h in on if int(h["layer"]) > 0)
        m["bos_sink_max"] = max(scores)
    if off:
        m["first_token_max_bos_off"] = max(float(h["bos_sink_score"]) for h in off)
    learned = [number(h.get("learned_sink_mass")) for h in on]
    learned = [x for x in learned if x is not None]
    if learned and max(learned) > 0:  # 0 for every head without a learned sink
        m["learned_sink_mass_max"] = max(learned)

    traj = read_csv(os.path.join(d, "trajectory", "trajectory.csv"))
    if traj:
        m["nll"] = number(traj[-1]["nll_mean"])  # the final model, analysis text, BOS first
    vals = [number(r.get("val_loss")) for r in read_csv(os.path.join(d, "train", "train.csv"))]
    vals = [v for v in vals if v is not None]
    if vals:
        m["val_loss"] = vals[-1]

    mu = read_csv(os.path.join(d, "mixing", "over_mixing.csv"))
    for cond in ("on", "off"):
        rows = [r for r in mu if r["condition"] == f"bos-{cond}"]
        if rows:
            last = max(rows, key=lambda r: int(r["layer"]))
            m[f"mu_last_bos_{cond}"] = number(last["mu_mean"])
    spread = read_csv(os.path.join(d, "mixing", "spread.csv"))
    for cond in ("on", "off"):
        # The embedding perturbation: every window has it (substitutions need the pairs' words).
        rows = [r for r in spread if r["condition"] == f"bos-{cond}" and r["perturbation"] == "embedding"]
        if rows:
            last = max(rows, key=lambda r: int(r["layer"]))
            m[f"spread_last_bos_{cond}"] = number(last["ratio_mean"])

    mech_path = os.path.join(d, "analysis", "mechanism.json")
    if os.path.exists(mech_path):
        with open(mech_path) as f:
            mech = json.load(f)
        for r in mech.get("runs", []):
            if r.get("bos") == "on":
                m["lambda_ratio"] = number((r.get("quadratic_form") or {}).get("lambda_ratio"))
                m["lambda_ratio_sink"] = number((r.get("sink_quadratic_form") or {}).get("lambda_ratio"))

    with open(os.path.join(d, "done")) as f:
        done = dict(line.strip().split("=", 1) for line in f if "=" in line)
    m["train_s"] = number(done.get("train_s"))
    return m


def mean_sd(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return mean, sd


def fmt(x, digits=3):
    if x is None:
        return ""
    if x != 0 and (abs(x) < 1e-2 or abs(x) >= 1e4):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def sinks_against_mixing(runs):
    """Barbero et al.'s claim across settings: does BOS, where a model has sink heads, change
    over-mixing (µ) and the spread of a perturbation at the last layer? Runs are split by whether
    they have a sink head; runs trained without BOS are apart (BOS is new to them), and so is
    Post-LN at the baseline's lr, which did not train (RESULTS.md)."""
    def kind(setting, m):
        if setting == "norm-post":
            return None
        if setting == "bos-none":
            return "trained without BOS"
        return "with a sink head" if (m["sink_rate"] or 0) > 0 else "trained with BOS, no sink head"
    lines = ["### sinks against mixing", "",
             "All runs but `norm-post` (lr 2e-2, did not train), by whether the model has a sink "
             "head. Last layer, BOS on against off: the difference of µ and the ratio of the "
             "embedding perturbation's relative spread; mean ± sd over runs, and the median ratio.",
             "", "| runs | count | µ on − µ off | spread on / off | median spread on / off |",
             "|---|---|---|---|---|"]
    for name in ("with a sink head", "trained with BOS, no sink head", "trained without BOS"):
        ms = [m for s, _, m in runs if kind(s, m) == name]
        dmu = [m["mu_last_bos_on"] - m["mu_last_bos_off"] for m in ms
               if m["mu_last_bos_on"] is not None and m["mu_last_bos_off"] is not None]
        ratio = [m["spread_last_bos_on"] / m["spread_last_bos_off"] for m in ms
                       if m["spread_last_bos_on"] is not None and m["spread_last_bos_off"]]
        if not ms:
            continue
        mu_mean, mu_sd = mean_sd(dmu)
        r_mean, r_sd = mean_sd(ratio)
        lines.append(f"| {name} | {len(ms)} | {fmt(mu_mean)} ± {fmt(mu_sd)} | "
                     f"{fmt(r_mean)} ± {fmt(r_sd)} | {fmt(statistics.median(ratio))} |")
    lines.append("")
    return lines


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py RECORD_DIR")
    out = sys.argv[1]
    plan = read_csv(os.path.join(out, "plan.csv"))
    study = {}
    if os.path.exists(os.path.join(out, "study.txt")):
        with open(os.path.join(out, "study.txt")) as f:
            study = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)

    runs = []  # (setting, seed, metrics)
    for setting in dict.fromkeys(p["setting"] for p in plan):
        sdir = os.path.join(out, setting)
        if not os.path.isdir(sdir):
            continue
        for name in sorted(os.listdir(sdir)):
            d = os.path.join(sdir, name)
            if name.startswith("seed-") and os.path.exists(os.path.join(d, "done")):
                runs.append((setting, name[5:], run_metrics(d)))

    names = [n for n, _ in METRICS]
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["setting", "seed"] + names)
        for setting, seed, m in runs:
            w.writerow([setting, seed] + [fmt(m[n], 6) for n in names])

    stats = {}  # setting -> (seeds, {metric: (mean, sd)})
    for setting in dict.fromkeys(s for s, _, _ in runs):
        ms = [m for s, _, m in runs if s == setting]
        stats[setting] = ([seed for s, seed, _ in runs if s == setting],
                          {n: mean_sd([m[n] for m in ms]) for n in names})
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["group", "setting", "options", "seeds"]
                   + [f"{n}_{k}" for n in names for k in ("mean", "sd")])
        for p in plan:
            if p["setting"] in stats:
                seeds, st = stats[p["setting"]]
                w.writerow([p["group"], p["setting"], p["options"], " ".join(seeds)]
                           + [fmt(v, 6) for n in names for v in st[n]])

    # One table per group, the baseline first; a column only where some row has a value.
    command = study.get("command", "experiments/pretraining/run.sh")
    lines = [f"<!-- written by experiments/pretraining/summarize.py from {command} -->", ""]
    baseline = next((p for p in plan if p["setting"] == "baseline"), None)
    for group in dict.fromkeys(p["group"] for p in plan if p["group"] != "baseline"):
        rows = [baseline] + [p for p in plan if p["group"] == group]
        rows = [p for p in rows if p and p["setting"] in stats]
        if not rows:
            continue
        cols = [(n, h) for n, h in METRICS
                if h and any(stats[p["setting"]][1][n][0] is not None for p in rows)]
        lines.append(f"### {group}")
        lines.append("")
        lines.append(f"`{command}` (steps {study.get('steps', '?')}, {study.get('chunks', '?')} "
                     f"analysis windows of 128); mean ± sd over seeds, sink: bos_sink_score > {EPS}.")
        lines.append("")
        lines.append("| setting | options | seeds | " + " | ".join(h for _, h in cols) + " |")
        lines.append("|---" * (3 + len(cols)) + "|")
        for p in rows:
            seeds, st = stats[p["setting"]]
            cells = []
            for n, _ in cols:
                mean, sd = st[n]
                cells.append(fmt(mean) + (f" ± {fmt(sd)}" if sd is not None else ""))
            opts = f"`{p['options']}`" if p["options"] else "(baseline)"
            lines.append(f"| {p['setting']} | {opts} | {len(seeds)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += sinks_against_mixing(runs)
    with open(os.path.join(out, "tables.md"), "w") as f:
        f.write("\n".join(lines))

    total = sum(m["train_s"] or 0 for _, _, m in runs)
    print(f"{len(runs)} finished runs in {len(stats)} settings (training {total:.0f} s in all); "
          f"wrote {out}/runs.csv, summary.csv, tables.md")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
