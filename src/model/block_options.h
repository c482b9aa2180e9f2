#pragma once
// sinkscope's pretraining options of the block (`train --norm`, `train --positional`) and their
// names as the CLI and the GGUF keys sinkscope.norm and sinkscope.positional spell them
// (docs/architecture.md). A file without a key has the default: pre, rope.
#include <optional>
#include <string>

namespace ss {

// Where the block's two norms sit: before each branch (Pre-LN, llama's) or after each residual
// sum (Post-LN, the original Transformer's: h = Norm(x + Attn(x)), out = Norm(h + FFN(h))). The
// norms keep their tensors (attn_norm, ffn_norm) either way.
enum class NormPlacement { Pre, Post };

// How tokens learn their positions: rotary embedding; none at all (NoPE: the causal mask only);
// a learned absolute table position_embd.weight [ctx][dim] added to the token embedding (GPT-2).
enum class PositionKind { Rope, None, Learned };

inline constexpr const char* kNormKey = "sinkscope.norm";
inline constexpr const char* kPositionalKey = "sinkscope.positional";

const char* norm_placement_name(NormPlacement p);
const char* position_kind_name(PositionKind k);
// nullopt for any other name.
std::optional<NormPlacement> parse_norm_placement(const std::string& name);
std::optional<PositionKind> parse_position_kind(const std::string& name);

}  // namespace ss
