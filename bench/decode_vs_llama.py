#!/usr/bin/env python3
"""Decode speed of sinkscope against llama.cpp's llama-bench on the same GGUF files, in turn.

On a shared VM the speed of the same binary drifts by 30% within minutes, so medians of two
programs measured minutes apart (bench/e2e runs sinkscope, then llama-bench) say little about their
ratio. Here every round runs, back to back:
  1. sinkscope: bench/sinkscope_bench e2e/decode/plain, one repetition (a 16-token prompt, then
     --tokens decode steps);
  2. llama.cpp: llama-bench -p 0 -n TOKENS -r 1 (after its own warm-up run);
  3. the memory read bandwidth: sinkscope_bench memory/read, one repetition.
The order of 1 and 2 alternates from round to round. Reported per model: the median tokens/s of
each, the ratio sinkscope / llama.cpp pair by pair (min, median, max), and decode's weight bytes
per second (the file's size x tokens/s, as bench/e2e --bandwidth counts it) as a fraction of the
same round's read bandwidth. With --both, every round runs sinkscope twice, the exact path and the
one the activation flags choose, one before llama.cpp and one after (swapped each round), and the
gain of the mode over the exact path is reported pair by pair too.

Model files are read into memory by both (SINKSCOPE_NO_MMAP=1, llama-bench --mmap 0): with mmap,
where the page cache placed a file moved decode by 20-50% on the VM of bench/README.md.

Usage: bench/decode_vs_llama.py --llama-bench BIN [-t 2] [-r 5] [--tokens 32] [--mmap] [--int8-activations] [--bf16-activations]
       [--both]
       MODEL.gguf...
Environment: SINKSCOPE_BUILD (default build/release).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run_json(cmd, env=None):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"decode_vs_llama: {' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def sinkscope_decode(bench, model, threads, tokens, mmap, int8, bf16):
    env = dict(os.environ, SINKSCOPE_BENCH_MODEL=model, SINKSCOPE_BENCH_THREADS=str(threads),
               SINKSCOPE_BENCH_CTX="512", SINKSCOPE_BENCH_DECODE=str(tokens))
    if int8:
        env["SINKSCOPE_BENCH_INT8_ACTIVATIONS"] = "1"
    if bf16:
        env["SINKSCOPE_BENCH_BF16_ACTIVATIONS"] = "1"
    if not mmap:
        env["SINKSCOPE_NO_MMAP"] = "1"
    runs = run_json([bench, "--benchmark_filter=^e2e/decode/plain/", "--benchmark_format=json"],
                    env)["benchmarks"]
    return runs[0]["tok/s"]


def llama_decode(llama_bench, model, threads, tokens, mmap):
    runs = run_json([llama_bench, "-m", model, "-p", "0", "-n", str(tokens), "-t", str(threads),
                     "-r", "1", "--mmap", "1" if mmap else "0", "-o", "json"])
    return runs[0]["avg_ts"]


def read_bandwidth(bench, threads):
    env = dict(os.environ, SINKSCOPE_BENCH_THREADS=str(threads))
    runs = run_json([bench, "--benchmark_filter=^memory/read", "--benchmark_format=json"],
                    env)["benchmarks"]
    return runs[0]["GB/s"]


def spread(values):
    return f"{min(values):.3f} {statistics.median(values):.3f} {max(values):.3f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="+", metavar="MODEL.gguf")
    p.add_argument("--llama-bench", required=True)
    p.add_argument("-t", "--threads", type=int, default=2)
    p.add_argument("-r", "--rounds", type=int, default=5)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--mmap", action="store_true", help="let both map the files (default: read)")
    p.add_argument("--int8-activations", action="store_true",
                   help="sinkscope as with --int8-activations (Q4_K, Q8_0: 8-bit activations, integer dot "
                        "products, as llama.cpp)")
    p.add_argument("--both", action="store_true",
                   help="also run the exact path in every round, beside the one the activation "
                        "flags choose, and report both and their ratio")
    p.add_argument("--bf16-activations", action="store_true",
                   help="sinkscope as with --bf16-activations (BF16: activations rounded to BF16, "
                        "BF16 dot products, as llama.cpp)")
    a = p.parse_args()
    build = os.environ.get("SINKSCOPE_BUILD", "build/release")
    bench = os.path.join(build, "bench", "sinkscope_bench")
    if not os.access(bench, os.X_OK):
        sys.exit(f"decode_vs_llama: {bench} is missing: build first")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")
    variant = subprocess.run([os.path.join(build, "sinkscope"), "info"], capture_output=True,
                             text=True).stdout
    variant = next((line.split()[1] for line in variant.splitlines()
                    if line.startswith("simd ")), "unknown")
    flags = [f for f, on in (("--int8-activations", a.int8_activations),
                             ("--bf16-activations", a.bf16_activations)) if on]
    print(f"decode_vs_llama: {cpu}, {a.threads} threads, {a.rounds} rounds of {a.tokens} tokens, "
          f"SIMD variant {variant}, files {'mapped' if a.mmap else 'read into memory'}, "
          f"sinkscope {' '.join(flags) if flags else 'exact'}{' and exact' if a.both else ''}")
    if a.bf16_activations and variant != "avx512bf16":
        print("decode_vs_llama: warning: without the avx512bf16 variant, --bf16-activations runs "
              "the scalar statement on one thread", file=sys.stderr)
    print(f"{'model':28} {'sinkscope':>10} {'llama.cpp':>10} {'ratio min/median/max':>22} "
          f"{'read GB/s':>10} {'decode / read min/median/max':>30}")
    # The sinkscope paths of each round: the one the flags choose, and with --both the exact one
    # beside it, so the mode's gain over the exact path is measured pair by pair too.
    modes = [("", a.int8_activations, a.bf16_activations)]
    if a.both:
        modes = [(" exact", False, False), (" mode", a.int8_activations, a.bf16_activations)]
    for model in a.models:
        size = os.path.getsize(model)
        ours = {m[0]: [] for m in modes}
        theirs, reads = [], []
        for r in range(a.rounds):
            # Alternate sinkscope before and after llama.cpp (and the order of the two paths).
            order = modes if r % 2 == 0 else modes[::-1]
            before = (len(order) + 1) // 2 if r % 2 == 0 else len(order) // 2
            got = {}
            for label, int8, bf16 in order[:before]:
                got[label] = sinkscope_decode(bench, model, a.threads, a.tokens, a.mmap, int8, bf16)
            ll = llama_decode(a.llama_bench, model, a.threads, a.tokens, a.mmap)
            for label, int8, bf16 in order[before:]:
                got[label] = sinkscope_decode(bench, model, a.threads, a.tokens, a.mmap, int8, bf16)
            bw = read_bandwidth(bench, a.threads)
            theirs.append(ll)
            reads.append(bw)
            line = f"  round {r + 1}:"
            for label, _, _ in modes:
                ours[label].append(got[label])
                line += f" sinkscope{label} {got[label]:.2f},"
            print(f"{line} llama.cpp {ll:.2f}, read {bw:.1f} GB/s", file=sys.stderr, flush=True)
        for label, _, _ in modes:
            ratios = [s / ll for s, ll in zip(ours[label], theirs)]
            fractions = [size * s / 1e9 / bw for s, bw in zip(ours[label], reads)]
            print(f"{os.path.basename(model) + label:28} {statistics.median(ours[label]):10.2f} "
                  f"{statistics.median(theirs):10.2f} {spread(ratios):>22} "
                  f"{statistics.median(reads):10.1f} {spread(fractions):>30}", flush=True)
        if a.both:
            gains = [m / e for m, e in zip(ours[" mode"], ours[" exact"])]
            print(f"{'  mode / exact, pair by pair':28} {spread(gains):>45}", flush=True)

if __name__ == "__main__":
    main()
