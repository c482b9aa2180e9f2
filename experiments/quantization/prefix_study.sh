#!/usr/bin/env bash
# Prefix sinks against activation outliers (issue 16, part 4; docs/quant-study.md): quant-study
# on the default model and on stories260K, calibration and evaluation on different held-out text.
#   experiments/quantization/prefix_study.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release}/sinkscope
out=${2:-$here/out}
shared=${SINKSCOPE_SHARED:-$root/../shared}
text=$shared/data/text
threads=${THREADS:-2}
mkdir -p "$out"

# The default model trained on all but the last 5% of each book. Calibration: the last 30 kB of
# tinyshakespeare; evaluation: the last 100 kB of War and Peace before the Gutenberg licence (the
# model card's held-out text). Both inside the held-out tails.
tail -c 30000 "$text/tinyshakespeare-input.txt" >"$out/tiny-calib.txt"
sed '/^\*\*\* END OF/,$d' "$text/pg2600-war-and-peace.txt" | tail -c 100000 >"$out/tiny-eval.txt"
"$bin" quant-study -m "$root/models/sinkscope-tiny.gguf" --calib "$out/tiny-calib.txt" \
  --eval "$out/tiny-eval.txt" --chunks 8 --prefix-len 4 --candidates 32 --threads "$threads" \
  --out "$out/tiny" --quiet | tee "$out/tiny.txt"

# stories260K (Karpathy's TinyStories model): the first 100 kB of the TinyStories validation
# sample for calibration, the next 100 kB for evaluation.
head -c 100000 "$text/tinystories-valid-sample.txt" >"$out/stories-calib.txt"
head -c 200000 "$text/tinystories-valid-sample.txt" | tail -c 100000 >"$out/stories-eval.txt"
"$bin" quant-study -m "$shared/models/stories260K.bin" --tokenizer "$shared/models/tok512.bin" \
  --calib "$out/stories-calib.txt" --eval "$out/stories-eval.txt" --chunks 8 --prefix-len 4 \
  --candidates 32 --threads "$threads" --out "$out/stories260K" --quiet | tee "$out/stories260K.txt"
