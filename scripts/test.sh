#!/usr/bin/env bash
# The whole test suite: release build, then the AddressSanitizer + UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
for preset in release asan; do
  ./scripts/build.sh "$preset"
  ctest --preset "$preset" -j "$(nproc)"
done
