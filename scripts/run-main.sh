#!/usr/bin/env bash
# The main job on the default model: a story from stories260K and its perplexity on TinyStories.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh release
models=../shared/models
bin=build/release/sinkscope
$bin generate -m $models/stories260K.bin --tokenizer $models/tok512.bin -p "Once upon a time" -n 200
$bin perplexity -m $models/stories260K.bin --tokenizer $models/tok512.bin \
  -f ../shared/data/text/tinystories-valid-sample.txt --ctx 256 --chunks 32
