#!/usr/bin/env bash
# docs/python.md's install: a virtual environment over the system Python (numpy from Debian) and
# pip install --no-build-isolation of this checkout, offline; then the quickstart runs from
# elsewhere with the installed module. Reuses the CMake build given (no second compile).
# Exit 77 (skipped) where python3-venv is missing.
set -euo pipefail
src=$1 build=$2 python=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv --system-site-packages "$tmp/venv" >/dev/null 2>&1 || { echo "no python3-venv"; exit 77; }
SINKSCOPE_BUILD_DIR=$build PIP_NO_INDEX=1 "$tmp/venv/bin/pip" install -q --no-build-isolation "$src"
cd "$tmp"
env -u PYTHONPATH "$tmp/venv/bin/python" -c 'import sinkscope, sys; print(sinkscope.__file__); assert sys.prefix in sinkscope.__file__'
env -u PYTHONPATH "$tmp/venv/bin/python" "$src/examples/quickstart.py" "$src/models/sinkscope-tiny.gguf"
