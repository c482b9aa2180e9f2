#pragma once
// Kinds of operation a model's architecture chooses between, shared by the kernels (ops) and the
// model's configuration (model/config.h), which sits above them.

namespace ss {

// How rotary embedding pairs the values of a head: (2i, 2i+1) as GGUF `llama` stores Q/K, or
// (i, i + head_dim/2) ("NEOX", rotate halves) as GGUF qwen2, qwen3 and gemma3 do.
enum class RopeStyle { Adjacent, Neox };

// The FFN gate activation: SwiGLU (silu) or GeGLU with tanh-approximated GELU (Gemma).
enum class FfnAct { Silu, GeluTanh };

}  // namespace ss
