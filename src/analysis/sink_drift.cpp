#include "analysis/sink_drift.h"

#include <stdexcept>

#include "analysis/rank_correlation.h"
#include "analysis/statistics.h"

namespace ss {

void HeadMeans::add(const HeadTable& window) {
  for (const auto& [name, values] : window) {
    const Statistic* s = find_statistic(name);
    if (s && s->aggregate == Aggregate::Mode) continue;
    std::vector<double>& sum = sum_[name];
    sum.resize(values.size(), 0.0);
    for (size_t i = 0; i < values.size(); ++i) sum[i] += values[i];
  }
  ++windows_;
}

std::vector<double> HeadMeans::mean(const std::string& name) const {
  auto it = sum_.find(name);
  if (it == sum_.end()) return {};
  std::vector<double> m = it->second;
  for (double& v : m) v /= windows_;
  return m;
}

SinkDrift sink_drift(const HeadMeans& a, const HeadMeans& b, int n_heads, double eps) {
  SinkDrift d;
  d.eps = eps;
  std::vector<std::vector<double>> ma, mb;
  for (const Statistic& s : statistics()) {
    if (s.aggregate == Aggregate::Mode) continue;
    const std::string name(s.name);
    std::vector<double> va = a.mean(name), vb = b.mean(name);
    if (va.empty() || vb.empty()) continue;  // not measured (e.g. no learned sinks)
    if (va.size() != vb.size())
      throw std::logic_error("sink_drift: the two sides have different numbers of heads");
    d.names.push_back(name);
    ma.push_back(std::move(va));
    mb.push_back(std::move(vb));
  }
  if (d.names.empty()) return d;
  const size_t heads = ma[0].size();
  size_t bos = 0;
  while (bos < d.names.size() && d.names[bos] != "bos_sink_score") ++bos;
  for (size_t i = 0; i < heads; ++i) {
    HeadDrift h;
    h.layer = static_cast<int>(i) / n_heads;
    h.head = static_cast<int>(i) % n_heads;
    for (size_t s = 0; s < d.names.size(); ++s) {
      h.a.push_back(ma[s][i]);
      h.b.push_back(mb[s][i]);
    }
    if (bos < d.names.size()) {
      const bool in_a = h.a[bos] > eps, in_b = h.b[bos] > eps;
      d.sinks_a += in_a, d.sinks_b += in_b;
      if (in_b && !in_a) d.entered.emplace_back(h.layer, h.head);
      if (in_a && !in_b) d.left.emplace_back(h.layer, h.head);
    }
    d.heads.push_back(std::move(h));
  }
  if (bos < d.names.size()) d.bos_spearman = spearman(ma[bos], mb[bos]);
  return d;
}

}  // namespace ss
