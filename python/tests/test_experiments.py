# Model.analyze, Model.eval and sinkscope.prune_sweep against the files and JSON of `sinkscope
# analyze`, `eval` and `prune`, bit for bit; their tables with and without pandas; their errors.
import csv
import json
import math
import sys

import numpy as np
import pytest

import sinkscope
from conftest import SHARED, cli, cli_json

MC = SHARED / "data/mc"


def columns(tbl):
    """A table (a pandas DataFrame or a dict of numpy arrays) as a dict of numpy arrays."""
    if isinstance(tbl, dict):
        return tbl
    return {c: tbl[c].to_numpy() for c in tbl.columns}


def assert_rows_equal(tbl, rows, cols):
    """The table's rows equal the JSON rows in every column, exactly (NaN where JSON has null)."""
    t = columns(tbl)
    assert list(t) == cols
    for c in cols:
        assert len(t[c]) == len(rows), c
        for i, row in enumerate(rows):
            got, want = t[c][i], row[c]
            if want is None:
                assert math.isnan(got), (c, i)
            else:
                assert got == want and type(want)(got) == want, (c, i, got, want)


def csv_header(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))


def has_pandas():
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def analysis_pair(model_path, text_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("analyze")
    m = sinkscope.load(model_path)
    bos = ["on", "off"] if m.tokenizer.bos_id >= 0 else ["off"]
    cli("analyze", "-m", model_path, "-f", text_file, "--ctx", "32,64", "--chunks", 3,
        "--bos", ",".join(bos), "--dump-attention", "1:0", "--dump-window", 16, "--ablate", "0:1",
        "--out", out, "--quiet")
    a = m.analyze(text_file, ctx=[64, 32], chunks=3, bos=[b == "on" for b in bos], dump=[(1, 0)],
                  dump_window=16, ablate=[(0, 1)])
    return a, out


def test_analyze_heads_equal_cli(analysis_pair):
    a, out = analysis_pair
    heads = json.loads((out / "heads.json").read_text())
    assert_rows_equal(a.heads, heads, csv_header(out / "heads.csv"))
    assert len(heads) == len(a.runs) * a.model["n_layers"] * a.model["n_heads"]
    assert type(a.heads) is dict if not has_pandas() else type(a.heads).__name__ == "DataFrame"


def test_analyze_runs_layers_and_patterns_equal_cli(analysis_pair):
    a, out = analysis_pair
    doc = json.loads((out / "analysis.json").read_text())
    assert a.model == doc["model"] and a.stat_names == doc["stat_names"]
    assert a.stability == doc["stability"] and a.tokens_processed == doc["tokens_processed"]
    layers, massive = [], []
    assert len(a.runs) == len(doc["runs"])
    for run, ref in zip(a.runs, doc["runs"]):
        for key, value in ref.items():
            if key in ("heads", "layers", "massive", "strongest_sink_pattern", "dumps"):
                continue
            assert run[key] == value, key
        s = ref["strongest_sink_pattern"]
        assert (run["strongest_sink"]["layer"], run["strongest_sink"]["head"]) == (s["layer"], s["head"])
        assert np.array_equal(run["strongest_sink"]["pattern"], np.array(s["rows"], dtype=np.float32))
        (dump,) = ref["dumps"]
        assert list(run["dumps"]) == [(1, 0)]
        assert run["dumps"][(1, 0)].shape == (16, 16)
        assert np.array_equal(run["dumps"][(1, 0)], np.array(dump["rows"], dtype=np.float32))
        layers += [dict(l, ctx=ref["ctx"], bos=ref["bos"]) for l in ref["layers"]]
        massive += ref["massive"]
    assert_rows_equal(a.layers, layers, csv_header(out / "layers.csv"))
    assert_rows_equal(a.massive, massive, csv_header(out / "massive.csv"))
    assert [r["ctx"] for r in a.runs][:2] == [32, 64]  # lengths ascending, as the command runs them


def test_analyze_texts_equal_files(tiny, text_file):
    text = text_file.read_text(encoding="utf-8")
    half = len(text) // 2
    parts = [text_file.parent / "a.txt", text_file.parent / "b.txt"]
    parts[0].write_text(text[:half], encoding="utf-8")
    parts[1].write_text(text[half:], encoding="utf-8")
    from_files = tiny.analyze(parts, ctx=48, chunks=2, nll=False)
    from_texts = tiny.analyze([text[:half], text[half:]], ctx=48, chunks=2, nll=False)
    for c, v in columns(from_files.heads).items():
        assert np.array_equal(v, columns(from_texts.heads)[c]), c
    assert from_files.runs[0]["nll_mean"] is None and from_files.runs[0]["windows"] == 2


def test_tables_without_pandas_are_dicts_of_arrays(tiny, text_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    a = tiny.analyze(text_file, ctx=32, chunks=1)
    h = a.heads
    assert type(h) is dict
    n = tiny.config["n_layers"] * tiny.config["n_heads"]
    assert h["layer"].dtype == np.int64 and h["bos_sink_score"].dtype == np.float64
    assert h["is_sink_head"].dtype == np.bool_ and h["bos"].dtype.kind == "U"
    assert all(len(v) == n for v in h.values())
    assert np.array_equal(h["is_sink_head"], h["bos_sink_score"] > a.eps)


@pytest.mark.skipif(not has_pandas(), reason="pandas is not installed")
def test_tables_with_pandas_are_dataframes(tiny, text_file):
    import pandas as pd

    a = tiny.analyze(text_file, ctx=32, chunks=1)
    assert isinstance(a.heads, pd.DataFrame) and isinstance(a.layers, pd.DataFrame)
    top = a.heads.sort_values("bos_sink_score", ascending=False).iloc[0]
    assert top["bos_sink_score"] == a.heads["bos_sink_score"].max()


@pytest.mark.parametrize("task,args", [
    ("arc_easy.jsonl", {"limit": 6}),
    ("winogrande.jsonl", {"limit": 6, "ablate": [(0, 1)]}),
    ("lambada_openai.jsonl", {"limit": 4, "ctx": 64}),
    ("hellaswag_val_full.txt", {"limit": 3}),
])
def test_eval_equals_cli(model_path, task, args):
    m = sinkscope.load(model_path)
    cmd = ["eval", "--json", "--quiet", "-m", model_path, "--task", MC / task, "--limit", args["limit"]]
    if "ctx" in args:
        cmd += ["--ctx", args["ctx"]]
    if "ablate" in args:
        cmd += ["--ablate", "0:1"]
    ref = cli_json(*cmd)
    (want,) = ref["tasks"]
    if want["truncated"]:
        with pytest.warns(UserWarning, match="items exceed the"):
            got = m.eval(MC / task, **args)
    else:
        got = m.eval(str(MC / task), **args)
    assert got == want
    assert 0 < got["n"] == args["limit"]


@pytest.mark.parametrize("args", [
    {},
    {"mode": "mean", "scope": "per-layer", "criteria": ["bos-sink", "dormant:ahon_ln"]},
    {"unit": "layer", "criteria": ["layer-bos-sink", "random"]},
])
def test_prune_sweep_equals_cli(model_path, text_file, tmp_path, args):
    m = sinkscope.load(model_path)
    criteria = args.get("criteria", ["bos-sink", "random"])
    out = tmp_path / "cli"
    cmd = ["prune", "--quiet", "-m", model_path, "--criteria", ",".join(criteria), "--ratios", "0,0.25,0.5",
           "--calib", text_file, "--calib-ctx", 32, "--calib-chunks", 2, "--eval", f"ppl:{text_file}",
           "--eval", f"mc:{MC / 'arc_easy.jsonl'}", "--eval-ctx", 48, "--eval-chunks", 2, "--limit", 4,
           "--out", out]
    for k in ("mode", "scope", "unit"):
        if k in args:
            cmd += [f"--{k}", args[k]]
    cli(*cmd)
    kw = dict(criteria=criteria, ratios=[0, 0.25, 0.5], calib=text_file, calib_ctx=32, calib_chunks=2,
              evals=[f"ppl:{text_file}", ("mc", MC / "arc_easy.jsonl")], eval_ctx=48, eval_chunks=2,
              limit=4, **{k: v for k, v in args.items() if k != "criteria"})
    got = sinkscope.prune_sweep(m, **kw)
    ref = json.loads((out / "sweep.json").read_text())
    pruned = "layers" if args.get("unit") == "layer" else "heads"
    cols = csv_header(out / "sweep.csv")
    assert_rows_equal({c: v for c, v in columns(got).items() if c != pruned}, ref["points"], cols)
    assert [[list(h) if pruned == "heads" else h for h in p] for p in columns(got)[pruned]] == \
        [p[pruned] for p in ref["points"]]
    assert len(ref["points"]) == 3 * len(criteria)
    # With out=, the command's files: sweep.csv byte for byte, and a rerun reuses the points.
    mine = tmp_path / "py"
    sinkscope.prune_sweep(m, out=mine, **kw)
    assert (mine / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
    stamp = {p.name: p.stat().st_mtime_ns for p in (mine / "points").iterdir()}
    sinkscope.prune_sweep(m, out=mine, **kw)
    assert stamp == {p.name: p.stat().st_mtime_ns for p in (mine / "points").iterdir()}


def test_prune_sweep_resumes_a_command_sweep(tiny, text_file, tmp_path):
    # The same directory and settings: the command's points are read back, not recomputed.
    out = tmp_path / "sweep"
    cli("prune", "--quiet", "-m", tiny.path, "--criteria", "bos-sink", "--ratios", "0,0.25", "--calib", text_file,
        "--calib-ctx", 32, "--calib-chunks", 1, "--eval", f"ppl:{text_file}", "--eval-ctx", 32,
        "--eval-chunks", 1, "--out", out)
    point = next((out / "points").iterdir())
    doctored = json.loads(point.read_text())
    doctored[f"ppl:{text_file.stem}.ppl"] = 12345.0
    point.write_text(json.dumps(doctored))
    got = columns(sinkscope.prune_sweep(tiny, criteria=["bos-sink"], ratios=[0, 0.25], calib=str(text_file),
                                        calib_ctx=32, calib_chunks=1, evals=[f"ppl:{text_file}"], eval_ctx=32,
                                        eval_chunks=1, out=str(out)))
    assert 12345.0 in got[f"ppl:{text_file.stem}.ppl"]


def test_experiment_errors(tiny, text_file, tmp_path):
    with pytest.raises(ValueError, match=r"^file_or_texts: must be a str"):
        tiny.analyze(3)
    with pytest.raises(ValueError, match=r"^ctx: lengths must be distinct"):
        tiny.analyze(text_file, ctx=[32, 32])
    with pytest.raises(ValueError, match=r"^ctx: each length must be in 2..1048576"):
        tiny.analyze(text_file, ctx=1)
    with pytest.raises(ValueError, match=r"^bos: must be True, False, 'on', 'off'"):
        tiny.analyze(text_file, bos="maybe")
    with pytest.raises(ValueError, match=r"^dump: head \(9, 0\) is out of range"):
        tiny.analyze(text_file, dump=[(9, 0)])
    with pytest.raises(ValueError, match=r"^first_token: ' the cat' is \d+ tokens, not one"):
        tiny.analyze(text_file, first_token=" the cat")
    with pytest.raises(ValueError, match=r"^eps: must be between 0 and 1"):
        tiny.analyze(text_file, eps=2)
    with pytest.raises(sinkscope.InputError, match=r"missing\.txt: "):
        tiny.analyze(tmp_path / "missing.txt")
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"Once upon a time \xff\xfe there was a cat. " * 20)
    with pytest.warns(UserWarning, match=r"broken\.txt: 40 bytes of invalid UTF-8 replaced by U\+FFFD"):
        a = tiny.analyze([broken, "and a dog."], ctx=16, chunks=1)
    assert a.runs[0]["windows"] == 1
    with pytest.raises(ValueError, match=r"^task_file: must be a file path"):
        tiny.eval(42)
    with pytest.raises(ValueError, match=r"^limit: must not be negative"):
        tiny.eval(MC / "piqa.jsonl", limit=-1)
    bad_task = tmp_path / "bad.jsonl"
    bad_task.write_text('{"query": "Q", "choices": ["a"], "gold": 3}\n')
    with pytest.raises(sinkscope.InputError, match=rf"^{bad_task}: line 1: ") as e:
        tiny.eval(bad_task)
    assert "\n" not in str(e.value)
    sweep = dict(calib=text_file, evals=[f"ppl:{text_file}"], ratios=[0])
    with pytest.raises(ValueError, match=r"^criteria: unknown criterion 'bogus'"):
        sinkscope.prune_sweep(tiny, criteria=["bogus"], **sweep)
    with pytest.raises(ValueError, match=r"^criteria: unknown layer criterion 'bos-sink'"):
        sinkscope.prune_sweep(tiny, criteria=["bos-sink"], unit="layer", **sweep)
    with pytest.raises(ValueError, match=r"^ratios: each ratio must be in \[0, 1\]"):
        sinkscope.prune_sweep(tiny, calib=text_file, evals=[f"ppl:{text_file}"], ratios=[1.5])
    with pytest.raises(ValueError, match=r"^scope: "):
        sinkscope.prune_sweep(tiny, scope="everywhere", **sweep)
    with pytest.raises(ValueError, match=r"^evals: unknown kind 'acc' \(ppl or mc\)"):
        sinkscope.prune_sweep(tiny, calib=text_file, evals=[f"acc:{text_file}"])
    with pytest.raises(ValueError, match=r"^evals: 'nothing' is not ppl:FILE or mc:FILE"):
        sinkscope.prune_sweep(tiny, calib=text_file, evals=["nothing"])
    short = tmp_path / "short.txt"
    short.write_text("Too short.")
    with pytest.raises(sinkscope.InputError, match=rf"^{short}: shorter than one calibration window"):
        sinkscope.prune_sweep(tiny, calib=short, evals=[f"ppl:{text_file}"], ratios=[0])
