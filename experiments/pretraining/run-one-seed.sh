#!/usr/bin/env bash
# Pretraining ablations for attention sinks (issue 6): BOS fixed vs none, packed vs document
# windows, two --min-context settings, each followed by `trajectory` over its checkpoints.
# Small models so the whole study runs in minutes on 2 cores. This is the one-seed study of the
# earlier section of RESULTS.md, kept as it was (run.sh is the seeded study that replaced it):
#   experiments/pretraining/run-one-seed.sh [BUILD_DIR] [OUT_DIR]
# Writes OUT_DIR/<run>/{train.csv,checkpoints/,trajectory/} and OUT_DIR/summary.csv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release}/sinkscope
out=${2:-$here/out/one-seed}
shared=${SINKSCOPE_SHARED:-$root/../shared}
data="$shared/data/text/pg2600-war-and-peace.txt $shared/data/text/tinyshakespeare-input.txt"
tok=$shared/models/tok512.bin
threads=${THREADS:-2}
steps=${STEPS:-600}
mkdir -p "$out"
# Analysis text: the last 100 kB of War and Peace before the Gutenberg licence, inside the 5% tail
# that train holds out for validation, so no run has trained on it.
analysis=$out/analysis.txt
sed '/^\*\*\* END OF/,$d' "$shared/data/text/pg2600-war-and-peace.txt" | tail -c 100000 >"$analysis"

common=(--tokenizer "$tok" --dim 64 --layers 4 --heads 4 --ctx 128 --batch 8 --steps "$steps"
  --lr 2e-2 --wd 0.1 --checkpoint-every $((steps / 8)) --val-windows 8 --threads "$threads"
  --seed 1 --quiet)

run() {  # name, extra train options...
  local name=$1
  shift
  echo "== $name: $*"
  # shellcheck disable=SC2086
  nice "$bin" train --data $data -o "$out/$name" "${common[@]}" "$@"
  # BOS first in the analysis windows for every run (the sink is measured on BOS); the "none"
  # runs never saw BOS in training, which is the point of the comparison.
  nice "$bin" trajectory --checkpoints "$out/$name/checkpoints" -f "$analysis" --ctx 128 \
    --chunks 8 --out "$out/$name/trajectory" --threads "$threads" --quiet >"$out/$name/trajectory.txt"
  cat "$out/$name/trajectory.txt"
  # The final model with BOS on and off at inference (off: the first text token is position 0).
  nice "$bin" analyze -m "$out/$name/model.gguf" -f "$analysis" --ctx 128 --chunks 8 --bos on,off \
    --out "$out/$name/analysis" --threads "$threads" --quiet
}

run bos-fixed-packed --bos fixed --packing packed
run bos-none-packed --bos none --packing packed
run bos-fixed-document --bos fixed --packing document
run bos-fixed-minctx32 --bos fixed --packing packed --min-context 32
run bos-fixed-minctx96 --bos fixed --packing packed --min-context 96

{
  echo "run,step,sink_rate,sink_rate_0.8,bos_sink_max,bos_sink_mean,dormant_heads,nll_mean,val_loss"
  for d in "$out"/*/; do
    name=$(basename "$d")
    [ -f "$d/trajectory/trajectory.csv" ] || continue
    val=$(awk -F, 'NR>1 && $7!="" {v=$7} END {print v}' "$d/train.csv")
    tail -n 1 "$d/trajectory/trajectory.csv" | sed "s/^/$name,/; s/\$/,$val/"
  done
} >"$out/summary.csv"
column -s, -t <"$out/summary.csv"

# Per run and inference BOS setting: heads with first-token score > 0.3, mean and max score.
{
  echo "run,inference_bos,sink_rate,first_token_score_mean,first_token_score_max"
  for d in "$out"/*/; do
    [ -f "$d/analysis/heads.csv" ] || continue
    awk -F, -v run="$(basename "$d")" 'NR == 1 {for (i = 1; i <= NF; ++i) col[$i] = i; next}
      {b = $col["bos"]; s = $col["bos_sink_score"]; n[b]++; sum[b] += s; if (s > 0.3) k[b]++
       if (s > mx[b]) mx[b] = s}
      END {for (b in n) printf "%s,%s,%.4f,%.4f,%.4f\n", run, b, k[b] / n[b], sum[b] / n[b], mx[b]}' \
      "$d/analysis/heads.csv"
  done
} >"$out/bos_on_off.csv"
column -s, -t <"$out/bos_on_off.csv"
