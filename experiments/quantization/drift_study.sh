#!/usr/bin/env bash
# Sink drift under quantization (issue 16, part 1): each model quantized by `sinkscope quantize`
# to Q8_0, Q4_0 and Q4_K_M, then `compare --stats` of F32 against each on the same windows.
#   experiments/quantization/drift_study.sh [BUILD_DIR] [OUT_DIR]
# SYNTH_280M names the 280M random-weight GGUF (bench/make_synth_gguf --shape llama-280m
# --type F32); left unset, only the default model runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release}/sinkscope
out=${2:-$here/out/drift}
shared=${SINKSCOPE_SHARED:-$root/../shared}
threads=${THREADS:-2}
mkdir -p "$out"

# The default model: the last 100 kB of War and Peace before the Gutenberg licence (held out by
# `train`), 100 windows of 256 tokens. The 280M synth: 8 windows of 512 tokens of WikiText-2.
sed '/^\*\*\* END OF/,$d' "$shared/data/text/pg2600-war-and-peace.txt" | tail -c 100000 \
  >"$out/tiny-eval.txt"
head -c 200000 "$shared/data/text/wikitext2-test-hfrows-crlf.raw" >"$out/wiki-eval.txt"

study() {  # name model text ctx chunks
  local name=$1 model=$2 text=$3 ctx=$4 chunks=$5
  for type in Q8_0 Q4_0 Q4_K_M; do
    "$bin" quantize --quiet -m "$model" -o "$out/$name-$type.gguf" --type "$type"
    "$bin" compare -m "$model" -m "$out/$name-$type.gguf" -f "$text" --ctx "$ctx" \
      --chunks "$chunks" --stats --threads "$threads" --quiet -o "$out/$name-$type" >/dev/null
    rm "$out/$name-$type.gguf"
  done
}
study tiny "$root/models/sinkscope-tiny.gguf" "$out/tiny-eval.txt" 256 100

# Dense against pruned: the default model with 25% of its heads removed by bos-sink (Sok et al.),
# calibrated on the last 30 kB of tinyshakespeare (held out too).
tail -c 30000 "$shared/data/text/tinyshakespeare-input.txt" >"$out/tiny-calib.txt"
"$bin" export --quiet -m "$root/models/sinkscope-tiny.gguf" --criterion bos-sink --ratio 0.25 \
  --calib "$out/tiny-calib.txt" -o "$out/tiny-pruned.gguf"
"$bin" compare -m "$root/models/sinkscope-tiny.gguf" -m "$out/tiny-pruned.gguf" \
  -f "$out/tiny-eval.txt" --ctx 256 --chunks 100 --stats --threads "$threads" --quiet \
  -o "$out/tiny-pruned-bos-sink-25" >/dev/null
[[ -n ${SYNTH_280M:-} ]] && study synth280m "$SYNTH_280M" "$out/wiki-eval.txt" 512 8

# One Markdown row per comparison.
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("| model | type | tokens | KL mean | KL p99 | top-1 | ppl F32 | ppl quantized | "
      "ρ bos_sink_score | max abs Δ bos_sink_score | sink heads F32 → quantized |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name in ["tiny", "synth280m"]:
    for t in ["Q8_0", "Q4_0", "Q4_K_M", "pruned-bos-sink-25"]:
        f = out / f"{name}-{t}" / "compare.json"
        if not f.exists():
            continue
        j = json.loads(f.read_text())
        d = j["sink_drift"]
        dmax = max(abs(h["delta"]["bos_sink_score"]) for h in d["heads"])
        print(f"| {name} | {t} | {j['tokens_scored']} | {j['kl_mean']:.3g} | {j['kl_p99']:.3g} | "
              f"{j['top1_agreement']:.4f} | {j['ppl_a']:.4f} | {j['ppl_b']:.4f} | "
              f"{d['bos_sink_score_spearman']:.4f} | {dmax:.3g} | "
              f"{d['sink_heads_a']} → {d['sink_heads_b']} (+{len(d['entered'])} −{len(d['left'])}) |")
PY
