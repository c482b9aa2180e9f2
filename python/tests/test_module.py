# The Python module against the CLI's numbers (forward --json, perplexity --json), activation
# patching and ablation, errors, and the GIL.
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import sinkscope
from conftest import DEFAULT_MODEL, PROMPT, ROOT, cli, cli_json

ALL_HOOKS = ["hook_resid_pre", "attn.hook_v", "attn.hook_z", "mlp.hook_post", "hook_resid_post"]


def test_config_and_tokenizer(model_path):
    m = sinkscope.load(model_path, threads=2)
    c = m.config
    assert c["n_layers"] > 0 and c["n_heads"] % c["n_kv_heads"] == 0
    assert m.path == str(model_path)
    tok = m.tokenizer
    ids = tok.encode(PROMPT)
    assert ids == cli_json("forward", "--json", "-m", model_path, "-p", PROMPT)["ids"]
    plain = tok.encode(PROMPT, bos=False)
    assert tok.encode(PROMPT, bos=True)[-len(plain):] == plain
    assert (ids[0] == tok.bos_id) == tok.add_bos
    assert tok.decode(plain).strip() == PROMPT


def test_logits_equal_cli_forward(model_path):
    m = sinkscope.load(model_path)
    ref = cli_json("forward", "--json", "-m", model_path, "-p", PROMPT)
    out = m.run(ref["ids"])
    assert list(out) == ["logits"]
    assert out["logits"].dtype == np.float32
    assert np.array_equal(out["logits"], np.array(ref["logits"], dtype=np.float32))


def test_logits_with_ablation_equal_cli(model_path):
    m = sinkscope.load(model_path)
    ref = cli_json("forward", "--json", "-m", model_path, "-p", PROMPT, "--ablate", "0:1,1:0")
    out = m.run(ref["ids"], ablate=[(0, 1), (1, 0)])
    assert np.array_equal(out["logits"], np.array(ref["logits"], dtype=np.float32))


def test_patterns_equal_cli_attention(model_path):
    m = sinkscope.load(model_path)
    ref = cli_json("forward", "--json", "--attention", "-m", model_path, "-p", PROMPT)
    att = np.array(ref["attention"], dtype=np.float32)  # [layer, head, query, key]
    n_layers, n_heads, T, _ = att.shape
    out = m.run(ref["ids"], patterns=[(1, 2), (0, 0), (1, 0)], logits=False)
    assert sorted(out) == ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]
    # Only the heads asked for, ascending: layer 1 holds heads 0 and 2.
    assert out["blocks.1.attn.hook_pattern"].shape == (2, T, T)
    assert np.array_equal(out["blocks.1.attn.hook_pattern"], att[1, [0, 2]])
    assert np.array_equal(out["blocks.0.attn.hook_pattern"], att[0, [0]])
    # A hook name in cache: every head of the layer, TransformerLens's [head, query, key].
    full = m.run(ref["ids"], cache=["blocks.*.attn.hook_pattern"], logits=False)
    for l in range(n_layers):
        p = full[f"blocks.{l}.attn.hook_pattern"]
        assert np.array_equal(p, att[l])
        assert np.allclose(p.sum(axis=-1), 1.0, atol=1e-5)
        assert not np.triu(p, 1).any()


def test_large_arrays_reuse_dropped_memory_and_are_written_whole(tiny):
    # Arrays of 1 MiB or more come from a pool (python/array_pool.h): a result dropped before the
    # next run lends that run its memory, which must then hold the new run's values only.
    rng = np.random.default_rng(3)
    n = tiny.config["n_ctx"]
    long_ids = [tiny.tokenizer.bos_id] + [int(i) for i in rng.integers(3, 2048, n - 1)]
    short_ids = long_ids[: n - 40]  # 8 heads x 216 x 216 floats: still pooled
    hooks = ["blocks.0.attn.hook_pattern", "blocks.3.attn.hook_pattern"]
    fresh = {k: v.copy() for k, v in tiny.run(short_ids, cache=hooks).items()}
    first = tiny.run(long_ids, cache=hooks)
    addresses = {k: v.ctypes.data for k, v in first.items()}
    assert all(a % (2 << 20) == 0 for a in addresses.values())
    del first
    again = tiny.run(short_ids, cache=hooks)
    assert {v.ctypes.data for v in again.values()} <= set(addresses.values())
    for k, v in again.items():
        assert np.array_equal(v, fresh[k]), k
    p = again["blocks.0.attn.hook_pattern"]
    assert not np.triu(p, 1).any()
    assert np.allclose(p.sum(axis=-1), 1.0, atol=1e-5)


def test_hook_shapes_and_residual_chain(model_path):
    m = sinkscope.load(model_path)
    c = m.config
    ids = m.tokenizer.encode(PROMPT)
    T = len(ids)
    out = m.run(ids, cache=[f"blocks.*.{h}" for h in ALL_HOOKS])
    L = c["n_layers"]
    assert len(out) == 1 + 5 * L
    assert out["blocks.0.hook_resid_pre"].shape == (T, c["d_model"])
    assert out["blocks.0.attn.hook_v"].shape == (T, c["n_kv_heads"], c["d_head"])
    assert out["blocks.0.attn.hook_z"].shape == (T, c["n_heads"], c["d_head"])
    assert out["blocks.0.mlp.hook_post"].shape == (T, c["d_mlp"])
    for l in range(L - 1):
        assert np.array_equal(out[f"blocks.{l}.hook_resid_post"], out[f"blocks.{l + 1}.hook_resid_pre"])
    # Caching changes nothing.
    assert np.array_equal(out["logits"], m.run(ids)["logits"])


def test_patching_an_unchanged_activation_changes_no_bit(model_path):
    m = sinkscope.load(model_path)
    ids = m.tokenizer.encode(PROMPT)
    clean = m.run(ids, cache=[f"blocks.*.{h}" for h in ALL_HOOKS])
    for name, value in clean.items():
        if name != "logits":
            assert np.array_equal(m.run(ids, patch={name: value})["logits"], clean["logits"]), name


def test_patching_changes_what_follows(tiny):
    ids = tiny.tokenizer.encode(PROMPT)
    name = "blocks.1.hook_resid_post"
    clean = tiny.run(ids, cache=[name, "blocks.2.hook_resid_pre", "blocks.0.hook_resid_post"])
    patched_value = clean[name].copy()
    patched_value[3] += 1.0
    out = tiny.run(ids, patch={name: patched_value}, cache=[name, "blocks.2.hook_resid_pre", "blocks.0.hook_resid_post"])
    # The observers see the patched value, later layers start from it, earlier ones do not change.
    assert np.array_equal(out[name], patched_value)
    assert np.array_equal(out["blocks.2.hook_resid_pre"], patched_value)
    assert np.array_equal(out["blocks.0.hook_resid_post"], clean["blocks.0.hook_resid_post"])
    assert np.array_equal(out["logits"][:3], clean["logits"][:3])  # causal: positions before 3
    assert not np.array_equal(out["logits"][3:], clean["logits"][3:])
    # A patch of another layout (Fortran order) is read by index, not by memory.
    assert np.array_equal(tiny.run(ids, patch={name: np.asfortranarray(patched_value)})["logits"], out["logits"])


def test_ablation_equals_patching_zeros_into_hook_z(model_path):
    m = sinkscope.load(model_path)
    ids = m.tokenizer.encode(PROMPT)
    heads = [(0, 1), (1, 0), (1, 3)]
    ablated = m.run(ids, ablate=heads, cache=["blocks.0.attn.hook_z", "blocks.1.attn.hook_z"])
    # Layer 0's z, zeroed, then layer 1's z as it comes out of the run patched at layer 0.
    z0 = m.run(ids, cache=["blocks.0.attn.hook_z"])["blocks.0.attn.hook_z"]
    z0[:, 1] = 0
    z1 = m.run(ids, patch={"blocks.0.attn.hook_z": z0}, cache=["blocks.1.attn.hook_z"])["blocks.1.attn.hook_z"]
    z1[:, [0, 3]] = 0
    patched = m.run(ids, patch={"blocks.0.attn.hook_z": z0, "blocks.1.attn.hook_z": z1})
    assert np.array_equal(patched["logits"], ablated["logits"])
    assert np.array_equal(ablated["blocks.0.attn.hook_z"], z0)
    assert np.array_equal(ablated["blocks.1.attn.hook_z"], z1)


@pytest.mark.parametrize("args", [{"ctx": 64}, {"ctx": 64, "chunks": 3, "ablate": [(0, 1)]},
                                  {"ctx": 32, "stride": 16}, {"ctx": 64, "scoring": "second-half"}])
def test_perplexity_equals_cli(model_path, text_file, args):
    m = sinkscope.load(model_path)
    cmd = ["perplexity", "--json", "-m", model_path, "-f", text_file]
    for k, v in args.items():
        cmd += [f"--{k}", "0:1" if k == "ablate" else v]
    ref = cli_json(*cmd)
    assert m.perplexity(pathlib.Path(text_file), **args) == ref
    assert m.perplexity(text_file.read_text(encoding="utf-8"), **args) == ref


def test_errors(tiny, tmp_path):
    ids = tiny.tokenizer.encode(PROMPT)
    L, H = tiny.config["n_layers"], tiny.config["n_heads"]
    with pytest.raises(ValueError, match=r"^cache: blocks.0.hook_bogus: is not a hook name"):
        tiny.run(ids, cache=["blocks.0.hook_bogus"])
    with pytest.raises(ValueError, match=rf"^cache: blocks.{L}.attn.hook_z: layer {L} is out of range"):
        tiny.run(ids, cache=[f"blocks.{L}.attn.hook_z"])
    with pytest.raises(ValueError, match=rf"^patterns: head \(0, {H}\) is out of range"):
        tiny.run(ids, patterns=[(0, H)])
    with pytest.raises(ValueError, match=r"^ablate: head \(-1, 0\) is out of range"):
        tiny.run(ids, ablate=[(-1, 0)])
    z = tiny.run(ids, cache=["blocks.0.attn.hook_z"])["blocks.0.attn.hook_z"]
    with pytest.raises(ValueError, match=r"^patch: blocks.0.attn.hook_z: shape \(\d+, \d+\), not \(\d+, \d+, \d+\)"):
        tiny.run(ids, patch={"blocks.0.attn.hook_z": z.reshape(len(ids), -1)})
    with pytest.raises(ValueError, match=r"^patch: blocks.0.attn.hook_z: dtype float64, not float32"):
        tiny.run(ids, patch={"blocks.0.attn.hook_z": z.astype(np.float64)})
    with pytest.raises(ValueError, match=r"^patch: blocks.0.attn.hook_pattern: attention patterns cannot be patched"):
        tiny.run(ids, patch={"blocks.0.attn.hook_pattern": z})
    with pytest.raises(ValueError, match=r"^ids: token id -1 is outside the vocabulary"):
        tiny.run([1, -1])
    with pytest.raises(ValueError, match=r"^ids: empty"):
        tiny.run([])
    with pytest.raises(ValueError, match=r"^scoring: unknown scoring 'bogus'"):
        tiny.perplexity(PROMPT, scoring="bogus")
    with pytest.raises(ValueError, match=r"^ctx: must be at least 2"):
        tiny.perplexity(PROMPT, ctx=1)
    with pytest.raises(ValueError, match=r"^threads: must be at least 1"):
        sinkscope.load(DEFAULT_MODEL, threads=0)
    # The library's errors: sinkscope.InputError, a ValueError with the CLI's one-line message.
    missing = tmp_path / "missing.gguf"
    with pytest.raises(sinkscope.InputError, match=str(missing)) as e:
        sinkscope.load(missing)
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value)


def test_gil_is_released_during_run():
    m = sinkscope.load(DEFAULT_MODEL, threads=1)
    ids = (m.tokenizer.encode(PROMPT) * 64)[: m.config["n_ctx"]]
    cache = ["blocks.*.attn.hook_pattern"]  # a longer run
    ref = m.run(ids, cache=cache)
    span = []

    def work():
        t0 = time.perf_counter()
        span.append(m.run(ids, cache=cache))
        span.extend([t0, time.perf_counter()])

    # This thread's loop turns while the other is inside m.run: with the GIL held there, no turn
    # would fall in the middle half of the call.
    t = threading.Thread(target=work)
    stamps = []
    t.start()
    while t.is_alive():
        stamps.append(time.perf_counter())
    t.join()
    out, t0, t1 = span
    quarter = (t1 - t0) / 4
    inside = sum(t0 + quarter < s < t1 - quarter for s in stamps)
    assert t1 - t0 > 0.005 and inside > 100, (t1 - t0, inside)
    assert all(np.array_equal(out[k], ref[k]) for k in ref)


def test_concurrent_runs_match_sequential_ones(model_path):
    m = sinkscope.load(model_path)
    ids = m.tokenizer.encode(PROMPT)
    prompts = [ids, ids[:5], ids[3:], ids[:9]]
    expected = [m.run(p, cache=["blocks.1.attn.hook_z"]) for p in prompts]
    got = [None] * len(prompts)

    def work(i):
        got[i] = m.run(prompts[i], cache=["blocks.1.attn.hook_z"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e, g in zip(expected, got):
        assert all(np.array_equal(e[k], g[k]) for k in e)


def test_ctrl_c_interrupts_a_long_call(tiny, text_file):
    text = text_file.read_text(encoding="utf-8") * 50
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        tiny.perplexity(text, ctx=64)
    timer.join()
    assert time.monotonic() - start < 5


def test_quickstart_example_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples/quickstart.py"), str(DEFAULT_MODEL)],
                         check=True, capture_output=True, text=True).stdout
    assert "perplexity" in out


@pytest.mark.parametrize("args", [{}, {"temperature": 0.8, "seed": 7}, {"ablate": [(0, 1)]}])
def test_generate_equals_cli(model_path, args):
    m = sinkscope.load(model_path)
    cmd = ["generate", "-m", model_path, "-p", PROMPT, "-n", 24]
    if "temperature" in args:
        cmd += ["--temp", args["temperature"], "--seed", args["seed"]]
    if "ablate" in args:
        cmd += ["--ablate", "0:1"]
    ref = cli(*cmd)
    text = m.generate(PROMPT, n=24, **args)
    assert text and ref.endswith(text + "\n")
