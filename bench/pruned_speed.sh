#!/usr/bin/env bash
# Does physical head removal pay what it should? (issue 20's speed target.) Exports MODEL with a
# fraction of its heads removed in every layer (`export --criterion weight-magnitude`, needing
# no calibration text), states the ideal speed-ups from the shapes of the two files, and measures
# both with bench/e2e --vs in one run, repetitions interleaved at random.
#
# Usage: bench/pruned_speed.sh [options] MODEL.gguf
#   --ratio R        fraction of query heads removed per layer (default 0.25)
#   --scope S        per-group (default: the same number from every KV group, KV heads kept),
#                    group (whole KV groups) or per-layer (models without GQA)
#   -t N, -r N, --ctx LIST, --decode N   passed to bench/e2e (defaults 2, 7, 512,2048, 64)
#   --keep FILE      write the pruned model here and keep it (default: a temporary file)
#   --out DIR        bench/e2e's raw results
#
# Ideal speed-ups, from the shapes (norms, rope and softmax left out):
#   prefill (llama-bench pp: ctx tokens, logits of the last one): matrix FLOPs per token
#     2·L·(dim·q + 2·dim·kv + q·dim + 3·dim·ffn) + causal attention 2·L·q·(ctx + 1)
#     + the classifier once per window 2·dim·vocab / ctx, with q = heads·head_dim and
#     kv = kv_heads·head_dim; ideal = dense FLOPs / pruned FLOPs;
#   decode: every weight is read once per token, so ideal = dense file bytes / pruned file bytes
#     (the KV cache of a short prompt is small beside the weights).
# The target is a measured gain of at least 0.8 of the ideal gain: measured - 1 >= 0.8·(ideal - 1).
set -euo pipefail
cd "$(dirname "$0")/.."

ratio=0.25 scope=per-group threads=2 reps=7 ctxs=512,2048 decode=64 keep="" out="" model=""
while (($#)); do
  case $1 in
    --ratio) ratio=$2; shift 2 ;;
    --scope) scope=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    --ctx) ctxs=$2; shift 2 ;;
    --decode) decode=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "pruned_speed: unknown option $1" >&2; exit 2 ;;
    *) model=$1; shift ;;
  esac
done
[[ -n $model ]] || { echo "usage: bench/pruned_speed.sh [options] MODEL.gguf (--help)" >&2; exit 2; }
bin=${SINKSCOPE_BUILD:-build/release}/sinkscope
pruned=$keep
if [[ -z $pruned ]]; then
  pruned=$(mktemp --suffix=.gguf)
  trap 'rm -f "$pruned"' EXIT
fi
[[ -s $pruned ]] || "$bin" export -m "$model" --criterion weight-magnitude --ratio "$ratio" \
  --scope "$scope" --physical --threads "$threads" -o "$pruned"

shape() { "$bin" info -m "$1" | awk '$1 ~ /^(dim|hidden_dim|layers|heads|kv_heads|head_dim|vocab)$/ {printf "%s=%s ", $1, $2}'; }
python3 - "$(shape "$model")" "$(shape "$pruned")" "$(stat -c %s "$model")" \
  "$(stat -c %s "$pruned")" "$ctxs" <<'EOF'
import sys
a, b = (dict(kv.split("=") for kv in s.split()) for s in sys.argv[1:3])
bytes_a, bytes_b = int(sys.argv[3]), int(sys.argv[4])
def flops(s, ctx):
    g = {k: int(v) for k, v in s.items()}
    d, L, hd = g["dim"], g["layers"], g["head_dim"]
    q, kv, ffn = g["heads"] * hd, g["kv_heads"] * hd, g["hidden_dim"]
    per_layer = 2 * (d * q + 2 * d * kv + q * d + 3 * d * ffn) + 2 * q * (ctx + 1)
    return L * per_layer + 2 * d * g["vocab"] / ctx
print(f"dense:  {a['heads']} query / {a['kv_heads']} KV heads, {bytes_a / 2**20:.1f} MiB")
print(f"pruned: {b['heads']} query / {b['kv_heads']} KV heads, {bytes_b / 2**20:.1f} MiB")
for ctx in map(int, sys.argv[5].split(",")):
    i = flops(a, ctx) / flops(b, ctx)
    print(f"ideal prefill speed-up, ctx {ctx}: {i:.4f} (0.8 of its gain: {1 + 0.8 * (i - 1):.4f})")
i = bytes_a / bytes_b
print(f"ideal decode speed-up: {i:.4f} (0.8 of its gain: {1 + 0.8 * (i - 1):.4f})")
EOF
bench/e2e -t "$threads" -r "$reps" --ctx "$ctxs" --decode "$decode" --rss-ctx 0 --variants plain \
  --vs "$pruned" ${out:+--out "$out"} "$model"
