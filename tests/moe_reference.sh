#!/usr/bin/env bash
# analyze's mixture-of-experts statistics (router_entropy, expert_load, topk_agreement) of
# synthesized gpt-oss models against a float64 numpy recomputation from the reference forward
# pass (tests/reference/moe_ref.py), over four windows of 48 tokens. Skipped (77) where Debian's
# python3-numpy is missing.
set -euo pipefail
bin=$1 shared=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/reference/setup.sh" moe
# 193 tokens (BOS and 192 of text): four windows of BOS and 47 text tokens.
printf '%s' "$(head -c 400 "$shared/data/text/tinystories-valid-sample.txt")" >"$dir/text.txt"
check() {  # name, synth options
  local name=$1 synth=$2
  # shellcheck disable=SC2086
  "$bin" synth $synth --vocab "$shared/models/tok512.bin" -o "$dir/$name.gguf" -q
  "$bin" forward -m "$dir/$name.gguf" -p "$(cat "$dir/text.txt")" --json --threads 2 >"$dir/$name.json"
  "$bin" analyze -m "$dir/$name.gguf" -f "$dir/text.txt" --ctx 48 --no-nll --threads 2 --quiet \
    --out "$dir/$name.analyze" >/dev/null
  echo "== $name"
  "$py" "$here/reference/moe_ref.py" "$dir/$name.gguf" "$dir/$name.json" \
    "$dir/$name.analyze/analysis.json"
}
check gpt-oss "--arch gpt-oss --seed 30"
check gpt-oss-q8_0 "--arch gpt-oss --seed 32 --shape small --dtype q8_0"
