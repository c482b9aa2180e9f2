#!/usr/bin/env python3
"""The Python module's cost over the C++ it calls (issue 18; a benchmark, not a test).

1. m.run(ids) on 8 tokens against the same C++ work with no Python in between
   (Model._forward_seconds: a runtime for the tokens, the forward pass, all logits), interleaved
   call by call in one process; the overhead is the difference of the medians, as a share of the
   C++ forward.
2. One 2048x2048 attention pattern out of a 2048-token run: m.run(ids, patterns=[(0, 0)]) against
   m.run(ids) with nothing asked, interleaved; the difference of the medians is what asking for
   the pattern costs (the array's allocation and zero fill, the row copies, and whatever the
   runtime does differently for a layer whose rows are watched). Also the numpy baseline of
   writing 16 MiB into a fresh array.

    PYTHONPATH=build/release/python python3 bench/python_overhead.py \
        --model SYNTH_280M.gguf [--pattern-model SYNTH_TINY.gguf] [-r 15] [-t 2]

The 280M model is made by `build/release/bench/make_synth_gguf --shape llama-280m --type F32`;
the pattern model by `--shape tiny --type F32` (4 layers of 256; a 4096 context), where the
forward of 2048 tokens is short enough for the difference to show.
"""
import argparse
import os
import statistics
import time

import numpy as np

import sinkscope


def median_ms(xs):
    return 1e3 * statistics.median(xs)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the 280M synth (or any model)")
    ap.add_argument("--pattern-model", help="model of the 2048x2048 pattern (default: --model)")
    ap.add_argument("-r", "--repeats", type=int, default=15)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--pattern-tokens", type=int, default=2048)
    a = ap.parse_args()
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())

    m = sinkscope.load(a.model, threads=a.threads)
    rng = np.random.default_rng(0)
    ids = [int(i) for i in rng.integers(3, m.config["d_vocab"], a.tokens)]
    for _ in range(3):  # warm: the mapping's pages, the allocator
        m.run(ids)
        m._forward_seconds(ids)
    cpp, py = [], []
    for _ in range(a.repeats):  # interleaved, so a change of load hits both alike
        cpp += m._forward_seconds(ids)
        py.append(timed(lambda: m.run(ids)))
    c, p = median_ms(cpp), median_ms(py)
    print(f"{os.path.basename(a.model)}: run on {a.tokens} tokens, {a.threads} threads, "
          f"{a.repeats} repeats (medians)")
    print(f"  C++ forward         {c:9.3f} ms")
    print(f"  m.run               {p:9.3f} ms")
    print(f"  Python overhead     {p - c:9.3f} ms = {100 * (p - c) / c:.2f}% of the C++ forward")

    pm = sinkscope.load(a.pattern_model or a.model, threads=a.threads)
    T = a.pattern_tokens
    pids = [int(i) for i in rng.integers(3, pm.config["d_vocab"], T)]
    pm.run(pids, logits=False)
    pm.run(pids, patterns=[(0, 0)], logits=False)
    plain, pattern = [], []
    for _ in range(a.repeats):
        plain.append(timed(lambda: pm.run(pids, logits=False)))
        pattern.append(timed(lambda: pm.run(pids, patterns=[(0, 0)], logits=False)))
    src = np.ones((T, T), np.float32)
    fill = [timed(lambda: np.copyto(np.empty((1, T, T), np.float32)[0], src)) for _ in range(a.repeats)]
    b, w = median_ms(plain), median_ms(pattern)
    print(f"{os.path.basename(a.pattern_model or a.model)}: run on {T} tokens, one {T}x{T} pattern "
          f"({T * T * 4 / 2**20:.0f} MiB)")
    print(f"  run, nothing asked  {b:9.3f} ms")
    print(f"  run, pattern (0, 0) {w:9.3f} ms")
    print(f"  the pattern costs   {w - b:9.3f} ms ({100 * (w - b) / b:.2f}% of the run)")
    print(f"  numpy: 16 MiB into a fresh array {median_ms(fill):.3f} ms")
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
