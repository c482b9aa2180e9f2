# Paths and CLI helpers for the Python module's tests. ctest sets the environment variables
# (python/CMakeLists.txt); run by hand, the release build of this tree is used.
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(os.environ.get("SINKSCOPE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BIN = os.environ.get("SINKSCOPE_BIN", str(ROOT / "build/release/sinkscope"))
SHARED = pathlib.Path(os.environ.get("SINKSCOPE_SHARED_DIR", ROOT.parent / "shared"))
DEFAULT_MODEL = ROOT / "models/sinkscope-tiny.gguf"
PROMPT = "Once upon a time, there was a little cat named Tom. He liked to play in the garden."


# stdout as text; bytes that are not UTF-8 (random models generate any) as U+FFFD, as the module's.
def cli(*args):
    out = subprocess.run([BIN, *map(str, args)], check=True, capture_output=True).stdout
    return out.decode("utf-8", errors="replace")


def cli_json(*args):
    return json.loads(cli(*args))


@pytest.fixture(scope="session")
def qwen3_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "qwen3.gguf"
    cli("synth", "--arch", "qwen3", "--vocab", SHARED / "models/tok512.bin", "-o", path, "-q")
    return path


# The bundled default model (llama, SentencePiece) and a synth qwen3 (q/k norms, GQA, no BOS).
@pytest.fixture(scope="session", params=["tiny", "qwen3"])
def model_path(request):
    return DEFAULT_MODEL if request.param == "tiny" else request.getfixturevalue("qwen3_path")


@pytest.fixture(scope="session")
def tiny():
    import sinkscope

    return sinkscope.load(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def text_file(tmp_path_factory):
    text = (SHARED / "data/text/tinystories-valid-sample.txt").read_text(encoding="utf-8")[:6000]
    path = tmp_path_factory.mktemp("text") / "stories.txt"
    path.write_text(text, encoding="utf-8")
    return path
