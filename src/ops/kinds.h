#pragma once
// Kinds of operation a model's architecture chooses between, shared by the kernels (ops) and the
// model's configuration (model/config.h), which sits above them.

namespace ss {

// How rotary embedding pairs the values of a head: (2i, 2i+1) as GGUF `llama` stores Q/K, or
// (i, i + rotated/2) ("NEOX", rotate halves) as GGUF qwen2, qwen3, gemma and gptneox do; None
// for models with learned absolute positions and no rotary embedding (GPT-2).
enum class RopeStyle { Adjacent, Neox, None };

// The FFN activation: of the gate in a gated FFN (SwiGLU with silu, GeGLU with tanh GELU), or of
// the up projection in a plain one (GPT-2's tanh GELU, GPT-NeoX's exact erf GELU).
enum class FfnAct { Silu, GeluTanh, GeluErf };

// The norm of the block's input and the final norm: RMSNorm (weight only), or LayerNorm with a
// bias (GPT-2, GPT-NeoX).
enum class NormKind { Rms, Layer };

// How a head turns scores into weights (Gu et al. 2024's variants; GGUF key sinkscope.attention,
// docs/architecture.md): softmax; softmax with one more column of logit 0 (softmax1, "quiet
// attention"); element-wise sigmoid without normalisation; softmax with a learned logit per head
// as one more column (sink-logit, gpt-oss's attn_sinks); softmax with a learned key and value per
// KV head that every query sees (sink-kv).
enum class AttentionKind { Softmax, Softmax1, Sigmoid, SinkLogit, SinkKv };

}  // namespace ss
