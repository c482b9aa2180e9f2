#!/usr/bin/env bash
# Peak memory of a mixture-of-experts forward pass (issue 14): `perplexity` on a random gpt-oss
# GGUF whose MXFP4 experts are 90% of the file must stay within the file, a process base and the
# activations its shapes call for. Experts are multiplied through 2-D views of the stacked tensor
# with rows expanded 24 at a time (ops/gemm-inl.h), so no expert is ever whole in f32; the f32
# size the experts would have is printed beside it. A dense llama of the same file size (the same
# attention, all 32 experts' FFN width dense) runs in the same script as the baseline.
#
# Usage: bench/moe_memory.sh [-t THREADS] [--ctx N[,N2,...]] [--chunks K] [--no-dense] [--dir DIR]
#   --dir DIR keeps the models (about 700 MB) there and reuses them; by default they go to a
#   temporary folder under ${TMPDIR:-/tmp}, removed at the end. Needs GNU time (apt install time),
#   and build/release/sinkscope and build/release/bench/make_synth_gguf (SINKSCOPE_BIN and
#   MAKE_SYNTH_GGUF name others). Exit status 1 when a run exceeds its bound.
#
# bound = file size + process base + activation estimate, all in bytes:
#   activation estimate (floats of 4 bytes; N tokens per window = ctx, C = KV capacity = ctx,
#   D dim, Q = heads·head_dim, KV = kv_heads·head_dim, F the FFN (one expert's) width, L layers,
#   V vocabulary, E experts, K used, T threads), every term counted at its largest and added, no
#   reuse between phases credited:
#     runtime buffers (Runtime::hidden)   N·(3D + 2Q + 2KV + 2F)
#     KV cache                            L·KV·(C + 16) + L·C·KV
#     logits block (forward_nll)          64·V, and N doubles of losses
#     MoE transients (moe_block)          router N·E, chosen and weights 2·N·K, routing lists
#                                         2·N·K, results N·K·D, and xs, gate, up, down, resized
#                                         expert after expert to the m ≤ N tokens routed to each:
#                                         2·N·(2D + 2F), as their capacity may grow to twice the
#                                         largest m (libstdc++ doubles), all of it resident when
#                                         the heap hands back pages an earlier layer touched
#     matmul scratch (ops/gemm-inl.h)     per thread: expanded rows and their pack 2·24·cols_max,
#                                         accumulators 4·32·384, with experts also the unpacked
#                                         path's 24·cols_max (an expert with < 8 tokens); on the
#                                         caller the packed inputs, max over cols c in {D, Q, F} of
#                                         min(N, span(c))·c, span(c) = max(128, ⌊4 MiB/4c/128⌋·128)
#     attention scratch                   per thread: 4·(C + 16) doubles, 4·head_dim doubles,
#                                         6·C floats
#   process base: peak RSS of the same command at ctx 16 on the tiny `sinkscope synth` model of
#   the same architecture and vocabulary (MXFP4, under 1 MB), minus its file size and its own
#   activation estimate: code, libraries, thread stacks, the tokenizer, the text and its ids.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SINKSCOPE_BIN:-build/release/sinkscope}
synth=${MAKE_SYNTH_GGUF:-$(dirname "$bin")/bench/make_synth_gguf}
text_src=${TEXT:-../shared/data/text/tinyshakespeare-input.txt}
threads=$(nproc)
ctxs=512,2048
chunks=2
dense=1
dir=
while [ $# -gt 0 ]; do
  case $1 in
    -t) threads=$2; shift 2 ;;
    --ctx) ctxs=$2; shift 2 ;;
    --chunks) chunks=$2; shift 2 ;;
    --no-dense) dense=0; shift ;;
    --dir) dir=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "moe_memory.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "moe_memory.sh: needs GNU time (apt install time)" >&2; exit 2; }
for f in "$bin" "$synth"; do
  [ -x "$f" ] || { echo "moe_memory.sh: $f missing (./scripts/build.sh release)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$dir" ]; then dir=$tmp; else mkdir -p "$dir"; fi

# 64 KiB of text: one token per byte with the synth vocabulary, more than any window needs.
text=$tmp/text.txt
if [ -f "$text_src" ]; then
  head -c 65536 "$text_src" >"$text"
else  # without ../shared: the README, repeated
  : >"$text"
  while [ "$(wc -c <"$text")" -lt 65536 ]; do cat README.md >>"$text"; done
fi
max_ctx=$(tr , '\n' <<<"$ctxs" | sort -n | tail -1)
[ "$(wc -c <"$text")" -gt $((max_ctx * chunks)) ] || { echo "moe_memory.sh: text too short" >&2; exit 2; }

make_model() {  # NAME SHAPE: the model, made once
  [ -s "$dir/$1.gguf" ] || "$synth" --shape "$2" --type Q8_0 --ffn-type MXFP4 -o "$dir/$1.gguf" >&2
}
make_tiny() {  # NAME ARCH VOCAB_FROM: the tiny model of the process base
  [ -s "$dir/$1.gguf" ] ||
    "$bin" synth --arch "$2" --shape tiny --dtype mxfp4 --vocab "$3" -o "$dir/$1.gguf" --quiet
}
peak_kib() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
run_ppl() {  # MODEL CTX -> peak RSS in KiB
  peak_kib "$bin" perplexity -m "$1" -f "$text" --ctx "$2" --chunks "$chunks" --threads "$threads" --quiet
}
# "D Q KV F L V E K HD" of a model, from `sinkscope info`.
shape_of() {
  "$bin" info -m "$1" | awk '
    $1 == "dim" {d = $2} $1 == "hidden_dim" {f = $2} $1 == "layers" {l = $2}
    $1 == "heads" {h = $2} $1 == "kv_heads" {kv = $2} $1 == "head_dim" {hd = $2}
    $1 == "vocab" {v = $2} $1 == "experts" {e = $2 + 0; k = $4 + 0}
    END {print d, h * hd, kv * hd, f, l, v, e + 0, k + 0, hd}'
}
# Activation estimate in bytes for "SHAPE" at CTX with THREADS: "total runtime kv logits ffn
# matmul attention".
act_bytes() {
  awk -v s="$1" -v C="$2" -v T="$3" 'BEGIN {
    split(s, a, " "); D = a[1]; Q = a[2]; KV = a[3]; F = a[4]; L = a[5]; V = a[6]; E = a[7]; K = a[8]
    HD = a[9]; N = C
    runtime = 4 * N * (3 * D + 2 * Q + 2 * KV + 2 * F)
    kv = 4 * (L * KV * (C + 16) + L * C * KV)
    logits = 4 * 64 * V + 8 * N
    ffn = E > 0 ? 4 * (N * E + 2 * N * K + 2 * N * K + N * K * D + 2 * N * (2 * D + 2 * F)) : 0
    cmax = D; if (Q > cmax) cmax = Q; if (F > cmax) cmax = F
    per_thread = 4 * (2 * 24 * cmax + 4 * 32 * 384 + (E > 0 ? 24 * cmax : 0))
    xpack = 0
    split(D " " Q " " F, cols, " ")
    for (i = 1; i <= 3; ++i) {
      c = cols[i]; span = int(int(4194304 / (4 * c)) / 128) * 128; if (span < 128) span = 128
      x = 4 * (N < span ? N : span) * c; if (x > xpack) xpack = x
    }
    matmul = T * per_thread + xpack
    attention = T * (8 * 4 * (C + 16) + 8 * 4 * HD + 4 * 6 * C)
    printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", runtime + kv + logits + ffn + matmul + attention,
           runtime, kv, logits, ffn, matmul, attention
  }'
}
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

make_model moe moe-32x4
make_tiny tiny-moe gpt-oss "$dir/moe.gguf"
models="moe:tiny-moe"
if [ "$dense" = 1 ]; then
  make_model dense dense-32k
  make_tiny tiny-dense llama "$dir/dense.gguf"
  models="$models dense:tiny-dense"
fi

echo "machine: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
  "$(nproc) cores, --threads $threads; text $(wc -c <"$text") bytes, --chunks $chunks"
echo "sinkscope: $bin (HEAD $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(
  git status --porcelain src 2>/dev/null | grep -q . && echo ', src/ modified'))"
status=0
for pair in $models; do
  name=${pair%%:*}
  tiny=${pair#*:}
  model=$dir/$name.gguf
  shape=$(shape_of "$model")
  read -r D _ _ F L V E K _ <<<"$shape"
  file=$(stat -c %s "$model")
  if [ "$E" -gt 0 ]; then
    ffn_f32=$((L * E * 3 * D * F * 4))
    what="$name: gpt-oss, dim $D, $L layers, top-$K of $E experts of FFN $F (MXFP4), vocab $V"
  else
    ffn_f32=$((L * 3 * D * F * 4))
    what="$name: llama, dim $D, $L layers, dense FFN $F (MXFP4), vocab $V"
  fi
  echo
  echo "$what"
  echo "  file $(mib "$file") MiB; its FFN weights in f32 would be $(mib "$ffn_f32") MiB"
  tiny_peak=$(run_ppl "$dir/$tiny.gguf" 16)
  read -r tiny_act _ <<<"$(act_bytes "$(shape_of "$dir/$tiny.gguf")" 16 "$threads")"
  base=$((tiny_peak * 1024 - $(stat -c %s "$dir/$tiny.gguf") - tiny_act))
  for ctx in ${ctxs//,/ }; do
    peak=$(($(run_ppl "$model" "$ctx") * 1024))
    read -r act runtime kv logits ffn matmul attention <<<"$(act_bytes "$shape" "$ctx" "$threads")"
    bound=$((file + base + act))
    verdict=PASS
    [ "$peak" -le "$bound" ] || { verdict=FAIL; status=1; }
    echo "  ctx $ctx: peak RSS $(mib "$peak") MiB, bound $(mib "$bound") MiB" \
      "(file $(mib "$file") + base $(mib "$base") + activations $(mib "$act")):" \
      "$verdict, margin $(mib $((bound - peak))) MiB;" \
      "peak/file $(awk -v p="$peak" -v f="$file" 'BEGIN {printf "%.3f", p / f}')," \
      "(peak - file) $(mib $((peak - file))) MiB"
    echo "    activations: runtime buffers $(mib "$runtime"), KV cache $(mib "$kv")," \
      "logits block $(mib "$logits"), MoE transients $(mib "$ffn"), matmul scratch" \
      "$(mib "$matmul"), attention scratch $(mib "$attention") MiB"
  done
done
exit $status
