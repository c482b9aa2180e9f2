#include "analysis/statistics.h"

#include "analysis/moe_stats.h"
#include "analysis/sink_mechanism.h"
#include "base/error.h"

namespace ss {

namespace {

using D = Direction;
using A = Aggregate;
constexpr std::string_view kStats = "Statistics", kDormant = "Dormant (inactive) heads";

}  // namespace

const std::vector<Statistic>& statistics() {
  // clang-format off
  static const std::vector<Statistic> table = {
    {"bos_sink_score", kStats, "mean attention to key 0", "attention", D::HighIsSink, false, "", A::Mean,
     [](const HeadWindow& w) { return w.bos_all / w.T; }},
    {"bos_attention_mean_q1", kStats, "mean attention to key 0, queries 1…T−1", "attention", D::HighIsSink, false, "", A::Mean,
     [](const HeadWindow& w) { return w.bos_q1 / w.Tq1; }},
    {"first_k_mass", kStats, "attention mass on the first K keys", "attention", D::HighIsSink, false, "", A::Mean,
     [](const HeadWindow& w) { return w.first_k / w.T; }},
    {"top_key", kStats, "key k ≥ 1 with the highest sink_score_k", "position", D::None, false, "", A::Mode,
     [](const HeadWindow& w) { return static_cast<double>(w.top_key); }},
    {"top_key_score", kStats, "sink_score_k of top_key", "attention", D::HighIsSink, false, "", A::Mean,
     [](const HeadWindow& w) { return w.top_key_score; }},
    {"entropy_mean_q1", kStats, "attention entropy (nats), queries 1…T−1", "nats", D::None, false, "", A::Mean,
     [](const HeadWindow& w) { return w.entropy_q1 / w.Tq1; }},
    {"z_norm_mean", kStats, "mean norm of the head's output z (AHON)", "norm", D::LowIsDormant, false, "", A::Mean,
     [](const HeadWindow& w) { return w.z_norm / w.T; }},
    {"z_norm_layer_ratio", kStats, "AHON-LN: head output norm / layer mean", "ratio", D::LowIsDormant, false, "z_norm_mean", A::Mean,
     nullptr},
    {"contrib_norm_mean", kStats, "norm of the head's residual contribution", "norm", D::LowIsDormant, false, "", A::Mean,
     [](const HeadWindow& w) { return w.contrib_norm / w.T; }},
    {"value_norm_first", kStats, "‖v₀‖ of the head's KV head", "norm", D::None, false, "", A::Mean,
     [](const HeadWindow& w) { return w.v0_norm; }},
    {"value_norm_ratio", kStats, "‖v₀‖ / mean over k≥1 of ‖v_k‖", "ratio", D::None, false, "", A::Mean,
     [](const HeadWindow& w) { return w.v_mean_k1 > 0 ? w.v0_norm / w.v_mean_k1 : 0.0; }},
    {"learned_sink_mass", kStats, "probability on the head's sink column: a learned logit, softmax1's 0 or sink-kv's key (0 without one)", "attention", D::HighIsSink, false, "", A::Mean,
     [](const HeadWindow& w) { return w.sink_mass / w.T; }},
    {"bos_sink_score_keys", kStats, "bos_sink_score renormalised over the keys (a learned sink's share left out)", "attention", D::HighIsSink, false, "", A::Mean,
     [](const HeadWindow& w) { return w.bos_keys / w.T; }},
    {"awft", kDormant, "attention to the first token, all rows", "attention", D::HighIsDormant, true, "", A::Mean,
     [](const HeadWindow& w) { return w.bos_all / w.T; }},
    {"awft_ln", kDormant, "awft / layer mean", "ratio", D::HighIsDormant, true, "awft", A::Mean, nullptr},
    {"ahon", kDormant, "average head output norm", "norm", D::LowIsDormant, true, "", A::Mean,
     [](const HeadWindow& w) { return w.z_norm / w.T; }},
    {"ahon_ln", kDormant, "ahon / layer mean (HONOR)", "ratio", D::LowIsDormant, true, "ahon", A::Mean, nullptr},
    {"entropy", kDormant, "attention entropy (nats), all rows", "nats", D::LowIsDormant, true, "", A::Mean,
     [](const HeadWindow& w) { return w.entropy_all / w.T; }},
    {"entropy_ln", kDormant, "entropy / layer mean", "ratio", D::LowIsDormant, true, "entropy", A::Mean, nullptr},
    {"value_first", kDormant, "‖v₀‖ of the head's KV head", "norm", D::LowIsDormant, true, "", A::Mean,
     [](const HeadWindow& w) { return w.v0_norm; }},
    {"value_first_ln", kDormant, "value_first / layer mean", "ratio", D::LowIsDormant, true, "value_first", A::Mean, nullptr},
    {"value_avg", kDormant, "mean ‖v_t‖ of the head's KV head", "norm", D::LowIsDormant, true, "", A::Mean,
     [](const HeadWindow& w) { return w.v_norm_sum / w.T; }},
    {"value_avg_ln", kDormant, "value_avg / layer mean", "ratio", D::LowIsDormant, true, "value_avg", A::Mean, nullptr},
    {"last_output", kDormant, "‖z‖ of the last token", "norm", D::LowIsDormant, true, "", A::Mean,
     [](const HeadWindow& w) { return w.last_z_norm; }},
    {"last_output_ln", kDormant, "last_output / layer mean", "ratio", D::LowIsDormant, true, "last_output", A::Mean, nullptr},
    {"contrib", kDormant, "mean norm of the head's residual contribution", "norm", D::LowIsDormant, true, "", A::Mean,
     [](const HeadWindow& w) { return w.contrib_norm / w.T; }},
    {"contrib_ln", kDormant, "contrib / layer mean", "ratio", D::LowIsDormant, true, "contrib", A::Mean, nullptr},
  };
  // clang-format on
  return table;
}

const Statistic* find_statistic(std::string_view name) {
  for (const Statistic& s : statistics())
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> dormant_score_names() {
  std::vector<std::string> out;
  for (const Statistic& s : statistics())
    if (s.dormant_score) out.emplace_back(s.name);
  return out;
}

const Statistic& dormant_score(const std::string& name, const std::string& what) {
  const Statistic* s = find_statistic(name);
  if (s && s->dormant_score) return *s;
  std::string choices;
  for (const auto& n : dormant_score_names()) choices += (choices.empty() ? "" : ", ") + n;
  throw InputError(what, "'" + name + "' is not a dormant score (one of: " + choices + ")");
}

namespace {
// How the statistics read the attention variants of `train --attention` (SPEC-style notes).
std::string attention_variants_markdown() {
  return "\n## Attention variants\n\n"
         "Models trained with `sinkscope train --attention` (GGUF key `sinkscope.attention`, "
         "`docs/architecture.md`) are measured as follows.\n\n"
         "- `softmax1`, `sink-logit`, `sink-kv`: each row t has one more softmax column besides "
         "the keys: a logit of 0, the head's learned logit s_h, or the score q_t·k_sink/√d of the "
         "KV head's learned key. Its probability p_sink,t is `learned_sink_mass` = "
         "(1/T)·Σ_t p_sink,t (SPEC §Learned sinks, as gpt-oss's); the key probabilities sum to "
         "1 − p_sink,t and every other statistic takes them as they are, except "
         "`bos_sink_score_keys`, renormalised over the keys.\n"
         "- `sigmoid`: the weights α_t,k = σ(q_t·k_k/√d) are not normalised (a row sums to "
         "anything in (0, t+1)). Every statistic uses each row's share "
         "α_t,k / Σ_j α_t,j, a distribution over the keys: `bos_sink_score` is the mean share of "
         "key 0, `sink_score_k` and `first_k_mass` sum shares, the entropies are the shares' "
         "−Σ_k a log a, and `learned_sink_mass` is 0. The head's output z_t = Σ_k α_t,k v_k uses "
         "the weights themselves. Attention rows elsewhere (`forward --attention`, `view`, "
         "pattern dumps) are the same shares.\n";
}
}  // namespace

std::string statistics_markdown() {
  auto direction = [](Direction d) {
    switch (d) {
      case Direction::HighIsSink:
        return "high: sink";
      case Direction::HighIsDormant:
        return "high: dormant";
      case Direction::LowIsDormant:
        return "low: dormant";
      case Direction::None:
        break;
    }
    return "";
  };
  std::string md =
      "# Statistics\n\n"
      "Generated from the registry in `src/analysis/statistics.cpp` (a test keeps this file equal "
      "to it; regenerate with `sinkscope info --statistics > docs/statistics.md`). Definitions: "
      "`../shared/SPEC.md`, the section named.\n\n"
      "| name | SPEC.md section | meaning | unit | direction | dormant score | over windows |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const Statistic& s : statistics()) {
    std::string meaning(s.caption);
    if (!s.layer_normalised.empty())
      meaning += " (`" + std::string(s.layer_normalised) + "` / its layer mean)";
    md += "| `" + std::string(s.name) + "` | " + std::string(s.section) + " | " + meaning + " | " +
          std::string(s.unit) + " | " + direction(s.direction) + " | " +
          (s.dormant_score ? "yes" : "") + " | " +
          (s.aggregate == Aggregate::Mode ? "most frequent" : "mean ± std") + " |\n";
  }
  return md + attention_variants_markdown() + moe_statistics_markdown() +
         mechanism_statistics_markdown();
}

}  // namespace ss
