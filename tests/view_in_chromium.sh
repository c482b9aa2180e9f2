#!/usr/bin/env bash
# The attention viewer (sinkscope view) in headless Chromium, driven over the DevTools protocol by
# tests/js/view_driver.mjs (node, no npm packages): clicks a head, hovers pattern cells and tokens,
# toggles BOS and the ablation, exports SVG and PNG, and checks the values shown against
# `sinkscope forward --json --attention`; prints the time to interactive. Screenshots and exports
# go to SHOTS_DIR. Skips (77) where Chromium or node is missing.
#
# usage: view_in_chromium.sh SINKSCOPE SHOTS_DIR
set -euo pipefail
bin=$1 shots=$2
here=$(cd "$(dirname "$0")" && pwd)
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium not installed: skipped"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$shots"
# The default model (models/sinkscope-tiny.gguf): trained, so it has sink heads to ablate.
model=(-m "$(cd "$here/.." && pwd)/models/sinkscope-tiny.gguf")
prompt="Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her big red ball."
"$bin" view "${model[@]}" -p "$prompt" -o "$dir/view.html" --quiet
"$bin" forward "${model[@]}" -p "$prompt" --json --attention >"$dir/forward.json"
cp "$dir/view.html" "$shots/view.html"
timeout 240 node "$here/js/view_driver.mjs" "$chromium" "$dir/view.html" "$dir/forward.json" "$shots"
echo "screenshots and exports in $shots"
