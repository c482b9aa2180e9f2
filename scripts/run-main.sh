#!/usr/bin/env bash
# The main job on the default model (stories260K): a story, its perplexity on TinyStories, and a
# full sink analysis with BOS on and off at three window lengths, written to out/analysis/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh release
models=../shared/models
text=../shared/data/text/tinystories-valid-sample.txt
bin=build/release/sinkscope
model=(-m $models/stories260K.bin --tokenizer $models/tok512.bin)
$bin generate "${model[@]}" -p "Once upon a time" -n 200
$bin perplexity "${model[@]}" -f $text --ctx 256 --chunks 32
$bin analyze "${model[@]}" -f $text --ctx 128,256,512 --chunks 16 --bos on,off --out out/analysis
echo "report: out/analysis/report.html"
