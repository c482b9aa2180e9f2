#!/usr/bin/env python3
"""The Python module's cost over the C++ it calls (issue 18; a benchmark, not a test).

1. m.run(ids) on 8 tokens against the same C++ work with no Python in between
   (Model._forward_seconds: a runtime for the tokens, the forward pass, all logits), call by
   call in one process; the overhead is the median of the paired differences, as a share of the
   C++ forward. On the large model the difference drowns in the forward's own spread on a busy
   machine, so it is also measured on the small model with many repeats (the Python layer's cost
   does not depend on the model but for the size of the logits array) and divided by the large
   model's forward.
2. 2048x2048 attention patterns out of a 2048-token run of the small model, all paired:
   m.run(ids, patterns=[(0, 0)]) - m.run(ids) is what asking for one pattern costs (every head of
   layer 0 then hands its rows to the observer, and the one asked for is copied); the run with
   every head of layer 0 against the one-head run, per further head, is what one pattern's array
   and copy cost. With numpy's own 16 MiB copy into a fresh array for scale. Then the same with
   every result kept alive, so that no run reuses memory (python/array_pool.h).

    PYTHONPATH=build/release/python python3 bench/python_overhead.py \
        --model LLAMA_280M.gguf --small-model TINY.gguf [-r 15] [-t 2]

The models: `build/release/bench/make_synth_gguf --shape llama-280m --type F32 -o LLAMA_280M.gguf`
and `--shape tiny --type F32 -o TINY.gguf` (4 layers of 256, 8 heads, a 4096 context).
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


def cpu_timed(fn):
    """(wall seconds, CPU seconds of the whole process, all its threads)."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the 280M synth (or any model)")
    ap.add_argument("--small-model", required=True, help="the tiny synth")
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
    paired = median_ms([y - x for x, y in zip(cpp, py)])
    print(f"{os.path.basename(a.model)}: run on {a.tokens} tokens, {a.threads} threads, "
          f"{a.repeats} repeats (medians)")
    print(f"  C++ forward          {c:9.3f} ms")
    print(f"  m.run                {p:9.3f} ms")
    print(f"  m.run - C++, paired  {paired:9.3f} ms = {100 * paired / c:.2f}% of the C++ forward")

    # The same on the small model, where the forward is short and many repeats pin the fixed
    # cost of the Python layer down to microseconds.
    pm = sinkscope.load(a.small_model, threads=a.threads)
    sids = [int(i) for i in rng.integers(3, pm.config["d_vocab"], a.tokens)]
    for _ in range(20):
        pm.run(sids)
    n = 50 * a.repeats
    scpp, spy = [], []
    for _ in range(n):
        scpp += pm._forward_seconds(sids)
        spy.append(timed(lambda: pm.run(sids)))
    fixed = median_ms([y - x for x, y in zip(scpp, spy)])
    print(f"{os.path.basename(a.small_model)}: run on {a.tokens} tokens, {n} repeats")
    print(f"  C++ forward          {median_ms(scpp):9.3f} ms")
    print(f"  m.run - C++, paired  {fixed:9.3f} ms = {100 * fixed / c:.3f}% of the first model's "
          f"C++ forward")

    T = a.pattern_tokens
    H = pm.config["n_heads"]
    pids = [int(i) for i in rng.integers(3, pm.config["d_vocab"], T)]
    one, every = [(0, 0)], [(0, h) for h in range(H)]
    for pat in ([], one, every):
        pm.run(pids, patterns=pat, logits=False)
    plain, single, whole = [], [], []
    for _ in range(a.repeats):
        plain.append(cpu_timed(lambda: pm.run(pids, logits=False)))
        single.append(cpu_timed(lambda: pm.run(pids, patterns=one, logits=False)))
        whole.append(cpu_timed(lambda: pm.run(pids, patterns=every, logits=False)))
    # numpy's own floor for the same bytes: a 16 MiB matrix copied into a fresh array of one
    # pattern (glibc reuses the freed block: no new pages) and of H patterns (128 MiB here, a new
    # mapping each time, as the H-head run's array: the kernel faults in and zeroes every page).
    src = np.ones((T, T), np.float32)

    def fresh(k):
        dst = np.empty((k, T, T), np.float32)
        for i in range(k):
            np.copyto(dst[i], src)

    fill1 = [cpu_timed(lambda: fresh(1)) for _ in range(a.repeats)]
    fillh = [cpu_timed(lambda: fresh(H)) for _ in range(a.repeats)]
    print(f"{os.path.basename(a.small_model)}: run on {T} tokens, {T}x{T} patterns "
          f"({T * T * 4 / 2**20:.0f} MiB each) of layer 0, {a.repeats} repeats, "
          f"medians of paired differences: wall ms, CPU ms of the process")
    print(f"  run, nothing asked                 {median_ms([w for w, _ in plain]):9.3f} "
          f"{median_ms([c for _, c in plain]):9.3f}")
    for label, base, more, k in [("+ pattern (0, 0)", plain, single, 1),
                                 (f"each further one ({H} heads vs 1)", single, whole, H - 1)]:
        dw = median_ms([(y[0] - x[0]) / k for x, y in zip(base, more)])
        dc = median_ms([(y[1] - x[1]) / k for x, y in zip(base, more)])
        print(f"  {label:34} {dw:9.3f} {dc:9.3f}")
    print(f"  numpy: 16 MiB into a fresh array   {median_ms([w for w, _ in fill1]):9.3f} "
          f"{median_ms([c for _, c in fill1]):9.3f}")
    print(f"  numpy: the same, {H} of them, per one {median_ms([w / H for w, _ in fillh]):9.3f} "
          f"{median_ms([c / H for _, c in fillh]):9.3f}")
    # The same with every result kept alive, so that no run can reuse a dropped array's memory
    # (python/array_pool.h) and every pattern is written into new pages; numpy's copy into new
    # arrays that are kept is its floor for that.
    kept = []
    single_k, whole_k, fill_k = [], [], []
    for _ in range(a.repeats):
        single_k.append(timed(lambda: kept.append(pm.run(pids, patterns=one, logits=False))))
        whole_k.append(timed(lambda: kept.append(pm.run(pids, patterns=every, logits=False))))

    def fresh_kept():
        dst = np.empty((H, T, T), np.float32)
        for i in range(H):
            np.copyto(dst[i], src)
        kept.append(dst)

    fill_k = [timed(fresh_kept) for _ in range(a.repeats)]
    print(f"  with every result kept (new memory each run), wall ms:")
    print(f"  each further one ({H} heads vs 1)   "
          f"{median_ms([(y - x) / (H - 1) for x, y in zip(single_k, whole_k)]):9.3f}")
    print(f"  numpy: 16 MiB into new kept memory {median_ms([w / H for w in fill_k]):9.3f}")
    del kept
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
