#!/usr/bin/env bash
# analyze --mechanism of synthesized llama models against a float64 numpy recomputation
# (tests/reference/mechanism_ref.py): the FFN quadratic form's top eigenvalues and the cosine of
# the spike's input with the top eigenvector within 1e-6, the forward-pass figures (sink max |h|,
# top-channel shares, key cosines) within 1e-4, over four windows of 48 tokens with BOS on and
# off. Skipped (77) where Debian's python3-numpy is missing.
set -euo pipefail
bin=$1 shared=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/reference/setup.sh" mechanism
# 193 tokens (BOS and 192 of text): four windows of BOS and 47 text tokens, or of 48 text tokens.
printf '%s' "$(head -c 400 "$shared/data/text/tinystories-valid-sample.txt")" >"$dir/text.txt"
check() {  # name, synth options
  local name=$1 synth=$2
  # shellcheck disable=SC2086
  "$bin" synth $synth --vocab "$shared/models/tok512.bin" -o "$dir/$name.gguf" -q
  "$bin" forward -m "$dir/$name.gguf" -p "$(cat "$dir/text.txt")" --json --threads 2 >"$dir/$name.json"
  "$bin" analyze -m "$dir/$name.gguf" -f "$dir/text.txt" --ctx 48 --bos on,off --no-nll \
    --mechanism --no-view --threads 2 --quiet --out "$dir/$name.analyze" >/dev/null
  echo "== $name"
  "$py" "$here/reference/mechanism_ref.py" "$dir/$name.gguf" "$dir/$name.json" \
    "$dir/$name.analyze/mechanism.json"
}
check llama "--arch llama --seed 41"
check llama-small-q8_0 "--arch llama --seed 42 --shape small --dtype q8_0"
