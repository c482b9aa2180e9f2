#!/usr/bin/env bash
# Every architecture against its float64 numpy reference (tests/reference/forward_ref.py): a
# synthesized model's logits and attention from `sinkscope forward`, and the per-head statistics
# of heads.csv from `sinkscope analyze` over the same tokens, must match within 1e-4.
# Skipped (77) where Debian's python3-numpy is missing.
set -euo pipefail
bin=$1 shared=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/reference/setup.sh" arch
prompt="Once upon a time there was a little girl named Lily who loved to play"
printf '%s' "$prompt" >"$dir/prompt.txt"
# A longer prompt (193 tokens): the first 400 bytes of a TinyStories sample, no trailing newline.
printf '%s' "$(head -c 400 "$shared/data/text/tinystories-valid-sample.txt")" >"$dir/long.txt"
check() {  # name, synth options, reference options, prompt file (default: the prompt above)
  local name=$1 synth=$2 ref=${3:-} file=${4:-$dir/prompt.txt} text
  text=$(cat "$file")
  # shellcheck disable=SC2086
  "$bin" synth $synth --vocab "$shared/models/tok512.bin" -o "$dir/$name.gguf" -q
  "$bin" forward -m "$dir/$name.gguf" -p "$text" --json --attention --threads 2 >"$dir/$name.json"
  # One analyze window of exactly the prompt's tokens (BOS and the text).
  local n
  n=$("$py" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["ids"]))' "$dir/$name.json")
  "$bin" analyze -m "$dir/$name.gguf" -f "$file" --ctx "$n" --chunks 1 --no-nll \
    --threads 2 --quiet --out "$dir/$name.analyze" >/dev/null
  # shellcheck disable=SC2086
  "$py" "$here/reference/forward_ref.py" "$dir/$name.gguf" "$dir/$name.json" $ref \
    --heads "$dir/$name.analyze/heads.csv"
}
check llama "--arch llama --seed 1"
check llama3 "--arch llama --seed 2 --llama3-rope 8,1,4,64" "--llama3 8,1,4,64"
check qwen2 "--arch qwen2 --seed 3"
check qwen3 "--arch qwen3 --seed 4"
# 21 tokens against a window of 8: layers 0-4 slide, layer 5 is global.
check gemma3 "--arch gemma3 --seed 5"
check gemma3-softcap "--arch gemma3 --seed 6 --softcap 3"
# Gemma 2: alternating sliding layers; its released caps (50, 30), then caps that bite.
check gemma2 "--arch gemma2 --seed 8"
check gemma2-caps "--arch gemma2 --seed 9 --attn-softcap 0.5 --softcap 2"
# Quantized weights: the reference dequantizes Q8_0 itself.
check gemma2-q8_0 "--arch gemma2 --seed 10 --shape small --dtype q8_0"
check qwen2-q8_0 "--arch qwen2 --seed 11 --shape small --dtype q8_0"
# OLMo 2: post-norms only, q/k norms over the whole projection.
check olmo2 "--arch olmo2 --seed 12"
check olmo2-q8_0 "--arch olmo2 --seed 13 --shape small --dtype q8_0"
# GPT-2: LayerNorm with bias, learned positions, fused [Q; K; V], tanh GELU, tied output.
check gpt2 "--arch gpt2 --seed 14"
check gpt2-q8_0 "--arch gpt2 --seed 15 --shape small --dtype q8_0"
# GPT-NeoX (Pythia): parallel residual, rope on the first quarter of each head, erf GELU.
check gptneox "--arch gptneox --seed 16"
check gptneox-q8_0 "--arch gptneox --seed 17 --shape small --dtype q8_0"
# Phi-3: fused QKV and gate/up; longrope's short factors (small: and its attention factor);
# a sliding window of 8 on every layer.
check phi3 "--arch phi3 --seed 18"
check phi3-longrope "--arch phi3 --seed 19 --shape small"
check phi3-window "--arch phi3 --seed 20 --sliding-window 8"
# The sequential residual of GPT-NeoX configs with use_parallel_residual false; Phi-3's long
# factors (21 tokens beyond an original context of 16, attention factor from the extension).
check gptneox-sequential "--arch gptneox --seed 21 --sequential-residual"
check phi3-long "--arch phi3 --seed 22 --shape small --longrope-context 16"
# gpt-oss: q/k/v/o biases, YaRN (factor 4 over an original context of 64, rounded ramp ends),
# a learned sink logit per head, even layers sliding (window 8), a top-2 of 4 clamped-SwiGLU
# experts. A sink row's statistics take the key probabilities as they are (summing to
# 1 − p_sink), its entropy SPEC's sum over the keys.
check gpt-oss "--arch gpt-oss --seed 30"
check gpt-oss-q8_0 "--arch gpt-oss --seed 32 --shape small --dtype q8_0"
check gpt-oss-mxfp4 "--arch gpt-oss --seed 33 --shape small --dtype mxfp4"
# 193 tokens: positions well past YaRN's original context, 24 sliding windows deep.
check gpt-oss-long "--arch gpt-oss --seed 30" "" "$dir/long.txt"
# gpt-oss's Hugging Face folders: what convert writes is what transformers reads (the experts'
# interleaved gate_up_proj, MXFP4 blocks and scales, config.json), checked tensor by tensor
# from the GGUF; and sinkscope reading the folder gives the reference's logits.
hf_check() {  # name of a gpt-oss model made by check above
  local name=$1
  "$bin" convert -m "$dir/$name.gguf" --format safetensors -o "$dir/$name-hf" --quiet
  "$py" "$here/reference/hf_gpt_oss_check.py" "$dir/$name.gguf" "$dir/$name-hf"
  "$bin" forward -m "$dir/$name-hf" --tokenizer "$dir/$name.gguf" -p "$(cat "$dir/prompt.txt")" \
    --json --attention --threads 2 >"$dir/$name-hf.json"
  "$py" "$here/reference/forward_ref.py" "$dir/$name.gguf" "$dir/$name-hf.json"
}
hf_check gpt-oss
hf_check gpt-oss-mxfp4
