#!/usr/bin/env bash
# Each attention variant of sinkscope.attention (softmax1, sigmoid, sink-logit, sink-kv) against
# the float64 numpy reference (tests/reference/forward_ref.py): a synthesized llama's logits and
# attention rows from `sinkscope forward`, and the per-head statistics of heads.csv from
# `sinkscope analyze` over the same tokens (learned_sink_mass included), within 1e-4.
# Skipped (77) where Debian's python3-numpy is missing.
set -euo pipefail
bin=$1 shared=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/reference/setup.sh" variants
# 193 tokens: the first 400 bytes of a TinyStories sample, no trailing newline.
printf '%s' "$(head -c 400 "$shared/data/text/tinystories-valid-sample.txt")" >"$dir/long.txt"
check() {  # name, synth options
  local name=$1 synth=$2 n
  # shellcheck disable=SC2086
  "$bin" synth $synth --vocab "$shared/models/tok512.bin" -o "$dir/$name.gguf" -q
  "$bin" forward -m "$dir/$name.gguf" -p "$(cat "$dir/long.txt")" --json --attention \
    --threads 2 >"$dir/$name.json"
  n=$("$py" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["ids"]))' "$dir/$name.json")
  "$bin" analyze -m "$dir/$name.gguf" -f "$dir/long.txt" --ctx "$n" --chunks 1 --no-nll \
    --threads 2 --quiet --out "$dir/$name.analyze" >/dev/null
  "$py" "$here/reference/forward_ref.py" "$dir/$name.gguf" "$dir/$name.json" \
    --heads "$dir/$name.analyze/heads.csv"
}
for variant in softmax1 sigmoid sink-logit sink-kv; do
  check "$variant" "--arch llama --seed 40 --attention $variant"
  # GQA with 4 query heads per KV head, and Q8_0 weights.
  check "$variant-small-q8_0" "--arch llama --seed 41 --shape small --dtype q8_0 --attention $variant"
done
# A sliding window and soft-capped scores (Gemma 2) under a sink key and value, and sigmoid.
check gemma2-sink-kv "--arch gemma2 --seed 42 --attn-softcap 0.5 --attention sink-kv"
check gemma2-sigmoid "--arch gemma2 --seed 43 --attention sigmoid"
