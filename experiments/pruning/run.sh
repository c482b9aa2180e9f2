#!/usr/bin/env bash
# Pruning that pays off (issue 20): quality against measured speed-up for the default model and
# stories260K, heads (uniform per-layer/per-group and global scopes) and whole layers, by
# criterion, each point's exported model timed against the dense one (`prune --cost`).
#   experiments/pruning/run.sh [BUILD_DIR] [OUT_DIR]
# Environment: SINKSCOPE_SHARED (default ../shared next to the checkout), THREADS (2),
# LIMIT (multiple-choice items per task, 200), COST_REPS (timed pairs per point, 7),
# LLAMA_BENCH (a llama-bench binary: also llama.cpp's figures on the same files).
# A rerun with the same OUT_DIR resumes every sweep where it stopped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release}/sinkscope
out=${2:-$here/out}
shared=${SINKSCOPE_SHARED:-$root/../shared}
threads=${THREADS:-2}
limit=${LIMIT:-200}
reps=${COST_REPS:-7}
mkdir -p "$out"

# Texts no model trained on. The default model: calibration on the last 30 kB of tinyshakespeare,
# evaluation on the last 100 kB of War and Peace before the Gutenberg licence (both inside the 5%
# that `train` held out). stories260K: the TinyStories validation sample, its first 60 kB to
# calibrate and its last 200 kB to evaluate.
tail -c 30000 "$shared/data/text/tinyshakespeare-input.txt" >"$out/tiny-calib.txt"
sed '/^\*\*\* END OF/,$d' "$shared/data/text/pg2600-war-and-peace.txt" | tail -c 100000 \
  >"$out/tiny-eval.txt"
head -c 60000 "$shared/data/text/tinystories-valid-sample.txt" >"$out/stories-calib.txt"
tail -c 200000 "$shared/data/text/tinystories-valid-sample.txt" >"$out/stories-eval.txt"

head_criteria=bos-sink,dormant:ahon_ln,weight-magnitude,activation-magnitude,ablation-delta,random
sweep() {  # name model-args calib eval ctx unit scope ratios [criteria]
  local name=$1 model=$2 calib=$3 eval=$4 ctx=$5 unit=$6 scope=$7 ratios=$8 criteria=${9:-}
  # shellcheck disable=SC2086  # model-args are words
  "$bin" prune $model --unit "$unit" --scope "$scope" --ratios "$ratios" \
    ${criteria:+--criteria "$criteria"} --calib "$calib" --calib-ctx "$ctx" --calib-chunks 8 \
    --eval "ppl:$eval" --eval-ctx "$ctx" --eval-chunks 0 \
    --eval-stride $((ctx - 1)) \
    --eval "mc:$shared/data/mc/arc_easy.jsonl" --eval "mc:$shared/data/mc/piqa.jsonl" \
    --limit "$limit" --cost --cost-ctx "$ctx" --cost-decode 64 --cost-reps "$reps" \
    ${LLAMA_BENCH:+--llama-bench "$LLAMA_BENCH"} --threads "$threads" --quiet --out "$out/$name"
}

tiny="-m $root/models/sinkscope-tiny.gguf"
stories="-m $shared/models/stories260K.bin --tokenizer $shared/models/tok512.bin"
# The default model: 8 heads per layer, no GQA, so per-layer sets are removable.
sweep tiny-heads-uniform "$tiny" "$out/tiny-calib.txt" "$out/tiny-eval.txt" 256 head per-layer \
  0,0.25,0.5 "$head_criteria"
sweep tiny-heads-global "$tiny" "$out/tiny-calib.txt" "$out/tiny-eval.txt" 256 head global \
  0,0.25,0.5 "$head_criteria"
sweep tiny-layers "$tiny" "$out/tiny-calib.txt" "$out/tiny-eval.txt" 256 layer global \
  0,0.167,0.333,0.5
# stories260K: 8 query heads sharing 4 KV heads, so the uniform scope is per-group (the same
# number from every KV group) or whole groups.
sweep stories-heads-per-group "$stories" "$out/stories-calib.txt" "$out/stories-eval.txt" 512 \
  head per-group 0,0.5 "$head_criteria"
sweep stories-heads-group "$stories" "$out/stories-calib.txt" "$out/stories-eval.txt" 512 \
  head group 0,0.25,0.5 "$head_criteria"
sweep stories-heads-global "$stories" "$out/stories-calib.txt" "$out/stories-eval.txt" 512 \
  head global 0,0.25,0.5 "$head_criteria"
sweep stories-layers "$stories" "$out/stories-calib.txt" "$out/stories-eval.txt" 512 layer \
  global 0,0.2,0.4,0.6

python3 "$here/tables.py" "$out"
