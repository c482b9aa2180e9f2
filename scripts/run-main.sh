#!/usr/bin/env bash
# The main job on the default model (models/sinkscope-tiny.gguf, trained by this project on War and
# Peace and Shakespeare): a sample, perplexity on held-out text, and a full sink analysis with BOS
# on and off at three window lengths, written to out/analysis/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh release
text=../shared/data/text/pg2600-war-and-peace.txt
bin=build/release/sinkscope
held_out=out/war-and-peace-tail.txt
mkdir -p out
# The last 5% of the book (before the Gutenberg licence) was held out of training.
sed '/^\*\*\* END OF/,$d' "$text" | tail -c 140000 >"$held_out"
$bin generate -p "The Emperor" -n 120 --temp 0.8 --top-p 0.9 --seed 1
$bin perplexity -f "$held_out" --ctx 256
$bin analyze -f "$held_out" --ctx 128,256,512 --chunks 16 --bos on,off --out out/analysis
echo "report: out/analysis/report.html"
