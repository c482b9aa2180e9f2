#!/usr/bin/env bash
# The whole test suite: release build, then the AddressSanitizer + UBSan build. The sanitizer
# preset compiles at -O1 with line tables only (-g1): enough for ASan's reports, and half the
# compile time of -O2 -g (two of its translation units: 129 and 162 s against 65 and 59 s, on a
# shared 2-core machine), to keep CI under 30 minutes. Both presets are unity builds
# (CMakeLists.txt): ss_report's 16 files took 196 s of CPU one by one (12 s each) under the
# sanitizer flags, a batch of 8 of them 48 s (6 s each).
#   --fast   release build only, without the tests labelled slow or external (ctest -LE):
#            the quick check before a commit
# Labels (tests/CMakeLists.txt): unit, golden, cli, slow, external, python, mpi, bench; e.g. `ctest --preset release
# -L golden` runs one tier.
set -euo pipefail
cd "$(dirname "$0")/.."
# The sanitizer build leaves out the tests labelled slow: they run in the release build, and they
# are slow for the compute they repeat (the scalar kernels, every variant's outputs, a sweep
# killed and resumed), not for code paths the rest of the suite does not reach.
presets=(release asan)
release_args=(-LE bench)  # benchmark-sized checks (ctest -L bench) are run by hand
# Nor the float64 numpy references (*VsNumpyReference): they check numbers the release build
# checks, on forward passes the sanitized unit and CLI tests run too.
asan_args=(-LE "slow|bench" -E "VsNumpyReference")
case "${1:-}" in
  --fast) presets=(release); release_args=(-LE "slow|external|bench") ;;
  "") ;;
  *) echo "usage: $0 [--fast]" >&2; exit 2 ;;
esac
for preset in "${presets[@]}"; do
  ./scripts/build.sh "$preset"
  args_name="${preset}_args[@]"
  ctest --preset "$preset" -j "$(nproc)" "${!args_name}"
done
