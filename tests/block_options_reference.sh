#!/usr/bin/env bash
# train --norm post and --positional none|learned against the float64 numpy reference
# (tests/reference/forward_ref.py): a model trained for a few steps with each option, its logits
# and attention rows from `sinkscope forward`, and the per-head statistics of heads.csv from
# `sinkscope analyze` over the same tokens, within 1e-4. Skipped (77) where Debian's
# python3-numpy is missing.
set -euo pipefail
bin=$1 shared=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/reference/setup.sh" block-options
head -c 60000 "$shared/data/text/tinystories-valid-sample.txt" >"$dir/train.txt"
# 68 tokens: the first 120 bytes of the sample (within the models' context of 96).
printf '%s' "$(head -c 120 "$shared/data/text/tinystories-valid-sample.txt")" >"$dir/short.txt"
check() {  # name, train options
  local name=$1 n
  shift
  "$bin" train --data "$dir/train.txt" --tokenizer "$shared/models/tok512.bin" -o "$dir/$name" \
    --dim 32 --layers 2 --heads 4 --kv-heads 2 --ctx 96 --batch 2 --steps 6 --lr 1e-2 \
    --val-windows 0 --threads 2 --quiet "$@" >/dev/null
  "$bin" forward -m "$dir/$name/model.gguf" -p "$(cat "$dir/short.txt")" --json --attention \
    --threads 2 >"$dir/$name.json"
  n=$("$py" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["ids"]))' "$dir/$name.json")
  "$bin" analyze -m "$dir/$name/model.gguf" -f "$dir/short.txt" --ctx "$n" --chunks 1 --no-nll \
    --threads 2 --quiet --out "$dir/$name.analyze" >/dev/null
  "$py" "$here/reference/forward_ref.py" "$dir/$name/model.gguf" "$dir/$name.json" \
    --heads "$dir/$name.analyze/heads.csv"
}
check norm-post --norm post
check positional-none --positional none
check positional-learned --positional learned
check post-learned-sink-kv --norm post --positional learned --attention sink-kv
