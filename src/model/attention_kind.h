#pragma once
// The names of the attention variants (ops/kinds.h AttentionKind) as the CLI and the GGUF key
// sinkscope.attention spell them.
#include <optional>
#include <string>

#include "ops/kinds.h"

namespace ss {

inline constexpr const char* kAttentionKey = "sinkscope.attention";

const char* attention_kind_name(AttentionKind k);
// nullopt for a name that is none of them.
std::optional<AttentionKind> parse_attention_kind(const std::string& name);
// The variant a command-line option names; InputError(option, ...) for any other name.
AttentionKind attention_kind_option(const std::string& name, const std::string& option);
// "softmax, softmax1, sigmoid, sink-logit, sink-kv", for messages.
std::string attention_kind_names();

// Whether the variant has one more softmax column besides the keys (its probability is the
// statistic learned_sink_mass): softmax1, sink-logit and sink-kv.
inline bool has_sink_column(AttentionKind k) {
  return k == AttentionKind::Softmax1 || k == AttentionKind::SinkLogit ||
         k == AttentionKind::SinkKv;
}

}  // namespace ss
