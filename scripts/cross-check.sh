#!/usr/bin/env bash
# Proves that the kernels build off x86 (scalar kernels only): compiles the ops layer (src/ops, the
# only code with ISA-specific paths: intrinsics, CPU detection, dispatch) and what it depends on
# for aarch64 with Debian's g++-aarch64-linux-gnu. Checks that every file compiles; nothing is
# linked or run. The rest of the library is portable C++, which CI's time is better spent testing. The
# headers of nlohmann-json, PCRE2 and utf8proc are the build machine's (the library does not link
# them).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh  # cmake and the headers the library includes
if ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq g++-aarch64-linux-gnu
fi
# Only whether it compiles is in question: syntax-only-cxx.sh makes the compiler check each file
# without generating code (the release build of the x86 suite sees the optimizer's warnings).
# -Wno-restrict: GCC 12's false positive on std::string concatenation (GCC PR 105329), reported
# for the aarch64 target only.
cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=None -DSINKSCOPE_TESTS=OFF -DSINKSCOPE_BENCH=OFF -DSINKSCOPE_PYTHON=OFF \
  "-DCMAKE_CXX_COMPILER_LAUNCHER=$PWD/scripts/syntax-only-cxx.sh" \
  "-DCMAKE_CXX_FLAGS=-O0 -Wno-restrict" >/dev/null
cmake --build build/aarch64 --target ss_ops -j "$(nproc)"
echo "aarch64 cross-build of the ops layer: ok"
