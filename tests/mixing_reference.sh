#!/usr/bin/env bash
# `sinkscope mixing` against its float64 numpy reference (tests/reference/mixing_ref.py): a
# synthesized two-layer llama with the default model's tokenizer, over-mixing per layer and the
# spread of both perturbations per (offset, layer), BOS on and off and with two heads ablated.
# Skipped (77) where Debian's python3-numpy is missing.
set -euo pipefail
bin=$1 shared=$2 vocab=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/reference/setup.sh" mixing
"$bin" synth --arch llama --seed 21 --vocab "$vocab" -o "$dir/llama.gguf" -q
head -c 202000 "$shared/data/text/pg2600-war-and-peace.txt" | tail -c 2000 >"$dir/text.txt"
# delta 0.5: a perturbation far above float32 rounding, so that 1e-5 measures the arithmetic.
"$bin" mixing -m "$dir/llama.gguf" -f "$dir/text.txt" --ctx 48 --chunks 2 --delta 0.5 \
  --position 7 --ablate 0:1,1:2 --substitute "the=a,and=or,of=to,was=is" --threads 2 --quiet \
  --out "$dir/out" >/dev/null
"$py" "$here/reference/mixing_ref.py" "$dir/llama.gguf" "$dir/out" --tol 1e-5
