#include "experiments/pipeline.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "base/error.h"
#include "base/wire.h"
#include "runtime/runtime.h"

namespace ss {

namespace {
double layer_bytes(const Model& m, int l) {
  double bytes = 0;
  for (const LayerSlot& s : layer_slots()) {
    const Tensor& t = m.layers[l].*s.member;
    if (t.data) bytes += static_cast<double>(t.nbytes());
  }
  return bytes;
}
}  // namespace

double range_weight_bytes(const Model& m, LayerRange r) {
  double bytes = 0;
  for (int l = r.first; l < r.end; ++l) bytes += layer_bytes(m, l);
  if (r.first == 0) bytes += static_cast<double>(m.token_embd.nbytes());
  if (r.end == m.config.n_layers)
    bytes += static_cast<double>(m.output_norm.nbytes() + m.output.nbytes());
  return bytes;
}

std::vector<LayerRange> balanced_split(const Model& m, int ranks) {
  const int L = m.config.n_layers;
  require(ranks <= L, "--pipeline",
          std::to_string(ranks) + " ranks for " + std::to_string(L) +
              " layers: a pipeline needs at least one layer per rank");
  // Boundaries near k/ranks of the work: the layers' weights, and the classifier on the last
  // rank (the embedding is a lookup).
  std::vector<double> prefix(L + 1, 0.0);  // work of layers [0, l)
  for (int l = 0; l < L; ++l)
    prefix[l + 1] =
        prefix[l] + layer_bytes(m, l) + (l == L - 1 ? static_cast<double>(m.output.nbytes()) : 0.0);
  std::vector<LayerRange> out;
  int first = 0;
  for (int r = 0; r < ranks; ++r) {
    int end = L;
    if (r < ranks - 1) {
      // Take the next layer while that brings the sum nearer the target and leaves a layer for
      // each remaining rank.
      const double target = prefix[L] * (r + 1) / ranks;
      end = first + 1;
      while (end < L - (ranks - r - 1) &&
             std::abs(prefix[end + 1] - target) < std::abs(prefix[end] - target))
        ++end;
    }
    out.push_back({first, end});
    first = end;
  }
  return out;
}

std::vector<LayerRange> parse_split(const std::string& text, int n_layers, int ranks) {
  std::vector<LayerRange> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    const size_t colon = part.find(':');
    LayerRange r;
    try {
      require(colon != std::string::npos, "--pipeline-split", "'" + part + "' is not FIRST:END");
      size_t used = 0;
      r.first = std::stoi(part.substr(0, colon), &used);
      require(used == colon, "--pipeline-split", "'" + part + "' is not FIRST:END");
      r.end = std::stoi(part.substr(colon + 1), &used);
      require(used == part.size() - colon - 1, "--pipeline-split",
              "'" + part + "' is not FIRST:END");
    } catch (const std::logic_error&) {
      throw InputError("--pipeline-split", "'" + part + "' is not FIRST:END");
    }
    const int expected = out.empty() ? 0 : out.back().end;
    require(r.first == expected && r.end > r.first, "--pipeline-split",
            "'" + part + "': ranges must be contiguous and non-empty, starting at 0 (next: " +
                std::to_string(expected) + ":...)");
    out.push_back(r);
  }
  require(!out.empty() && out.back().end == n_layers, "--pipeline-split",
          "the ranges must end at the model's " + std::to_string(n_layers) + " layers");
  require(static_cast<int>(out.size()) == ranks, "--pipeline-split",
          std::to_string(out.size()) + " ranges for " + std::to_string(ranks) +
              " ranks: give one per rank");
  return out;
}

PipelineStage cluster_stage(const Cluster& c, LayerRange r) {
  PipelineStage s;
  s.first = r.first;
  s.end = r.end;
  const int me = c.rank();
  s.receive = [&c, me](float* x, size_t n) { c.recv(me - 1, x, n * sizeof(float)); };
  s.send = [&c, me](const float* x, size_t n) { c.send(me + 1, x, n * sizeof(float)); };
  return s;
}

std::vector<LayerRange> pipeline_ranges(const Model& m, int ranks, const std::string& split) {
  return split.empty() ? balanced_split(m, ranks) : parse_split(split, m.config.n_layers, ranks);
}

PerplexityResult pipeline_perplexity(const Model& m, ThreadPool& pool, std::span<const int> ids,
                                     const WindowPlan& plan, int bos_id, const HeadMask& mask,
                                     const Cluster& c, const std::vector<LayerRange>& ranges,
                                     const std::function<void(int, int)>& progress) {
  const PipelineStage stage = cluster_stage(c, ranges[c.rank()]);
  Runtime rt(m, pool, plan.ctx);
  rt.set_head_mask(&mask);
  rt.set_stage(&stage);
  const PerplexityResult mine = perplexity(rt, ids, plan, bos_id, progress);
  // The last rank's sums, to the root.
  WireWriter w;
  w.put<double>(mine.nll_sum).put<int64_t>(mine.tokens_scored).put<int>(mine.windows);
  const std::vector<std::string> all = c.gather(w.take());
  if (!c.root()) return mine;
  WireReader in(all.back());
  PerplexityResult r;
  r.nll_sum = in.get<double>();
  r.tokens_scored = in.get<int64_t>();
  r.windows = in.get<int>();
  r.nll_mean = r.tokens_scored ? r.nll_sum / static_cast<double>(r.tokens_scored) : 0.0;
  r.ppl = std::exp(r.nll_mean);
  return r;
}

}  // namespace ss
