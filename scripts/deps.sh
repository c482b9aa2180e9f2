#!/usr/bin/env bash
# Installs the Debian packages sinkscope builds with, if any are missing.
set -euo pipefail
pkgs=(cmake g++ make libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
      pkg-config libpcre2-dev libutf8proc-dev  # BPE tokenizer: regexes, Unicode normalization
      zlib1g-dev  # sinkscope view: the stored attention patterns are deflated
      chromium time  # chromium: the report and viewer tests; time: bench/analyze_memory.sh
      python3-numpy  # tests/reference: float64 reference forward passes (/usr/bin/python3)
      pybind11-dev python3-dev python3-pytest  # the Python module (python/) and its tests
      python3-venv python3-pip python3-setuptools python3-wheel  # its pip install (setup.py)
      libopenmpi-dev openmpi-bin)  # sinkscope-mpi and its tests (docs/cluster.md)
# tests/bpe_vs_node.sh compares the BPE tokenizer with transformers.js. A node from elsewhere
# (e.g. NodeSource, which bundles npm and conflicts with Debian's npm) is used as it is.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
