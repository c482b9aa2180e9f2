#!/usr/bin/env bash
# Peak memory of `analyze` against `perplexity` at the same context on the same model: analysis
# keeps O(layers × heads × T) statistics and never a T×T matrix, so the ratio should stay near 1.
# Usage: bench/analyze_memory.sh [MODEL] [TOKENIZER] [CTX]   (needs GNU time: apt install time)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SINKSCOPE_BIN:-build/release/sinkscope}
model=${1:-../shared/models/stories260K.bin}
tok=${2:-../shared/models/tok512.bin}
ctx=${3:-4096}
text=../shared/data/text/tinystories-valid-sample.txt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

peak_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }

ppl=$(peak_kb "$bin" perplexity -m "$model" --tokenizer "$tok" -f "$text" --ctx "$ctx" --chunks 2 --quiet)
ana=$(peak_kb "$bin" analyze -m "$model" --tokenizer "$tok" -f "$text" --ctx "$ctx" --chunks 2 --quiet --out "$out/run")
echo "ctx $ctx: perplexity peak RSS ${ppl} KiB, analyze peak RSS ${ana} KiB, ratio $(awk -v a="$ana" -v p="$ppl" 'BEGIN {printf "%.3f", a / p}')"
