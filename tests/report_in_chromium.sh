#!/usr/bin/env bash
# Opens an analysis report in headless Chromium, takes a screenshot and checks in the rendered DOM
# that the heatmaps are there and have cells. Skips (77) where Chromium is not installed.
set -euo pipefail
bin=$1 shared=$2
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium not installed: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" analyze -m "$shared/models/stories260K.bin" --tokenizer "$shared/models/tok512.bin" \
  -f "$shared/data/text/tinystories-valid-sample.txt" --ctx 128,256 --chunks 2 --bos on,off \
  --quiet --out "$dir/run"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$dir/profile")
timeout 120 "$chromium" "${flags[@]}" --window-size=1200,2400 --screenshot="$dir/shot.png" \
  "file://$dir/run/report.html" >/dev/null 2>&1
timeout 120 "$chromium" "${flags[@]}" --dump-dom "file://$dir/run/report.html" >"$dir/dom.html" 2>/dev/null
heatmaps=$(grep -o '<svg[^>]*class="heatmap"' "$dir/dom.html" | wc -l)
cells=$(grep -o '<rect' "$dir/dom.html" | wc -l)
shot=$(stat -c %s "$dir/shot.png")
echo "heatmaps $heatmaps, rect elements $cells, screenshot $shot bytes"
[ "$heatmaps" -ge 6 ] || { echo "FAIL: expected at least 6 heatmaps"; exit 1; }
[ "$cells" -ge $((6 * 40)) ] || { echo "FAIL: heatmaps have too few cells"; exit 1; }
[ "$shot" -gt 20000 ] || { echo "FAIL: the screenshot looks empty"; exit 1; }
