#include "model/attention_kind.h"

#include <array>
#include <utility>

#include "base/error.h"

namespace ss {
namespace {
constexpr std::array<std::pair<AttentionKind, const char*>, 5> kNames{{
    {AttentionKind::Softmax, "softmax"},
    {AttentionKind::Softmax1, "softmax1"},
    {AttentionKind::Sigmoid, "sigmoid"},
    {AttentionKind::SinkLogit, "sink-logit"},
    {AttentionKind::SinkKv, "sink-kv"},
}};
}  // namespace

const char* attention_kind_name(AttentionKind k) {
  for (const auto& [kind, name] : kNames)
    if (kind == k) return name;
  return "?";
}

std::optional<AttentionKind> parse_attention_kind(const std::string& name) {
  for (const auto& [kind, n] : kNames)
    if (name == n) return kind;
  return std::nullopt;
}

AttentionKind attention_kind_option(const std::string& name, const std::string& option) {
  const auto kind = parse_attention_kind(name);
  if (!kind)
    throw InputError(option,
                     "unknown attention variant '" + name + "' (" + attention_kind_names() + ")");
  return *kind;
}

std::string attention_kind_names() {
  std::string s;
  for (const auto& [kind, name] : kNames) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

}  // namespace ss
