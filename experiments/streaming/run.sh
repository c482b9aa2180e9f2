#!/usr/bin/env bash
# StreamingLLM on the default model (issue 15): the held-out tail of War and Peace (the last 5%
# of the file, which `train` never saw, cut at the next line break, up to the Gutenberg licence),
# 20000 tokens token by token under window:256, sink:4+window:252, recompute:256 and dense (up
# to 2048 tokens, eight times the model's context of 256).
# usage: experiments/streaming/run.sh [OUT_DIR]   (SINKSCOPE_BIN: the binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${SINKSCOPE_BIN:-build/release/sinkscope}
out=${1:-out/streaming}
book=../shared/data/text/pg2600-war-and-peace.txt
mkdir -p "$out"
size=$(wc -c <"$book")
tail -c +$((size * 95 / 100 + 1)) "$book" | sed '1d' | sed '/^\*\*\* END OF/,$d' >"$out/held-out.txt"
"$bin" stream -f "$out/held-out.txt" --tokens 20000 --threads 1 \
  --policy window:256 --policy sink:4+window:252 --policy recompute:256 \
  --policy dense --dense-max 2048 -o "$out"
# The re-encoding reference of the sink cache: the first 4 tokens and the last 252 encoded afresh
# at every step (slow: about 4 minutes per 1000 tokens on one core; 5000 tokens).
"$bin" stream -f "$out/held-out.txt" --tokens 5000 --threads 1 \
  --policy sink:4+recompute:252 -o "$out/sink-recompute"
