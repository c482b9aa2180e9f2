#!/usr/bin/env bash
# The attention viewer at its largest: 512 tokens of a random-weight model shaped as Llama-3.2-1B
# (16 layers × 32 heads, made by bench/make_synth_gguf). Prints the file size (at most 40 MB) and
# the time until the page is interactive in headless Chromium (at most 3 s). Skips (77) where
# Chromium or node is missing.
#
# usage: view_large.sh SINKSCOPE MAKE_SYNTH_GGUF SHOTS_DIR
set -euo pipefail
bin=$1 make_synth=$2 shots=$3
here=$(cd "$(dirname "$0")" && pwd)
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium not installed: skipped"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$shots"
"$make_synth" --shape llama-1b --type Q8_0 --ctx 1024 -o "$dir/synth.gguf" >/dev/null
# One token a character in the synth vocabulary (and one for the leading space): cut to 512
# tokens with BOS.
for n in 511 510 509 508; do
  awk -v n=$n 'BEGIN { s = ""; while (length(s) < n) s = s "The cat sat on the mat. "; printf "%s", substr(s, 1, n) }' \
    >"$dir/prompt.txt"
  tokens=$("$bin" tokenize -m "$dir/synth.gguf" -f "$dir/prompt.txt" --bos on | wc -w)
  [ "$tokens" -gt 512 ] || break
done
[ "$tokens" -eq 512 ] || { echo "FAIL: the prompt is $tokens tokens with BOS, not 512"; exit 1; }
start=$(date +%s%N)
# --ablate 0:0: four runs (BOS on/off, each with and without head 0:0), the largest file.
"$bin" view -m "$dir/synth.gguf" -f "$dir/prompt.txt" --ablate 0:0 -o "$dir/view.html"
end=$(date +%s%N)
bytes=$(stat -c %s "$dir/view.html")
awk -v b="$bytes" -v ns=$((end - start)) 'BEGIN { printf "view of 512 tokens x 16 layers x 32 heads: %d bytes (%.2f MB), written in %.1f s\n", b, b / 1e6, ns / 1e9 }'
[ "$bytes" -le 40000000 ] || { echo "FAIL: larger than 40 MB"; exit 1; }
timeout 240 node "$here/js/view_driver.mjs" "$chromium" "$dir/view.html" - "$shots" --tti-only
