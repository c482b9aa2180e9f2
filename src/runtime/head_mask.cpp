#include "runtime/head_mask.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "base/error.h"

namespace ss {

HeadMask::HeadMask(const ModelConfig& c)
    : n_layers_(c.n_layers),
      n_heads_(c.n_heads),
      head_dim_(c.head_dim),
      action_(static_cast<size_t>(c.n_layers) * c.n_heads, HeadAction::Keep),
      sink_removed_(action_.size(), false) {}

void HeadMask::set(int layer, int head, HeadAction action) {
  action_.at(index(layer, head)) = action;
}

bool HeadMask::any() const {
  return n_masked() > 0 ||
         std::find(sink_removed_.begin(), sink_removed_.end(), true) != sink_removed_.end();
}

int HeadMask::n_masked() const {
  return static_cast<int>(std::count_if(action_.begin(), action_.end(),
                                        [](HeadAction a) { return a != HeadAction::Keep; }));
}

void HeadMask::set_means(std::vector<float> means) {
  mean_ = std::move(means);
}

void HeadMask::check_means() const {
  if (!mean_.empty()) return;
  for (HeadAction a : action_)
    if (a == HeadAction::Mean)
      throw std::logic_error("HeadMask: a head is set to Mean but set_means() was not called");
}

void HeadMask::apply(int layer, float* z, int n_tokens) const {
  const size_t q_dim = static_cast<size_t>(n_heads_) * head_dim_;
  for (int h = 0; h < n_heads_; ++h) {
    HeadAction a = action_[index(layer, h)];
    if (a == HeadAction::Keep) continue;
    if (a == HeadAction::Mean && mean_.empty()) check_means();  // throws: no silent zeroing
    const float* mean =
        a == HeadAction::Mean ? mean_.data() + index(layer, h) * head_dim_ : nullptr;
    for (int t = 0; t < n_tokens; ++t) {
      float* zh = z + t * q_dim + static_cast<size_t>(h) * head_dim_;
      for (int i = 0; i < head_dim_; ++i) zh[i] = mean ? mean[i] : 0.0f;
    }
  }
}

MeanZObserver::MeanZObserver(const ModelConfig& c)
    : q_dim_(c.q_dim()),
      sum_(static_cast<size_t>(c.n_layers) * c.q_dim(), 0.0),
      count_(c.n_layers, 0) {}

void MeanZObserver::on_z(int layer, int, int n_tokens, const float* z) {
  double* s = sum_.data() + static_cast<size_t>(layer) * q_dim_;
  for (int t = 0; t < n_tokens; ++t)
    for (int i = 0; i < q_dim_; ++i) s[i] += z[static_cast<size_t>(t) * q_dim_ + i];
  count_[layer] += n_tokens;
}

std::vector<float> MeanZObserver::means() const {
  std::vector<float> out(sum_.size());
  for (size_t l = 0; l < count_.size(); ++l)
    for (int i = 0; i < q_dim_; ++i) {
      size_t k = l * q_dim_ + i;
      out[k] = count_[l] ? static_cast<float>(sum_[k] / static_cast<double>(count_[l])) : 0.0f;
    }
  return out;
}

std::vector<std::pair<int, int>> parse_head_list(const std::string& text, const ModelConfig& c,
                                                 const std::string& what) {
  std::vector<std::pair<int, int>> heads;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    size_t colon = item.find(':');
    int l = -1, h = -1;
    try {
      size_t used = 0;
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      l = std::stoi(item.substr(0, colon), &used);
      if (used != colon) throw std::invalid_argument("junk");
      std::string hs = item.substr(colon + 1);
      h = std::stoi(hs, &used);
      if (used != hs.size()) throw std::invalid_argument("junk");
    } catch (const std::exception&) {
      throw InputError(what, "'" + item + "' is not LAYER:HEAD");
    }
    require(l >= 0 && l < c.n_layers && h >= 0 && h < c.n_heads, what,
            "head " + item + " is out of range (model has " + std::to_string(c.n_layers) +
                " layers of " + std::to_string(c.n_heads) + " heads)");
    require(h < c.heads(l), what,
            "head " + item + " is out of range (layer " + std::to_string(l) + " has " +
                std::to_string(c.heads(l)) + " heads: per-layer head counts)");
    heads.emplace_back(l, h);
  }
  return heads;
}

std::vector<std::pair<int, int>> parse_heads_option(const std::string& value, const ModelConfig& c,
                                                    const std::string& what) {
  if (value.find(':') != std::string::npos || value.empty()) return parse_head_list(value, c, what);
  std::ifstream in(value);
  if (!in) throw InputError(value, "cannot open (expected L:H,... or a JSON file of heads)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) throw InputError(value, "not valid JSON");
  if (j.is_object() && j.contains("heads")) j = j["heads"];
  if (!j.is_array()) throw InputError(value, "expected an array of heads");
  std::vector<std::pair<int, int>> heads;
  for (const auto& e : j) {
    bool pair =
        e.is_array() && e.size() == 2 && e[0].is_number_integer() && e[1].is_number_integer();
    bool obj = e.is_object() && e.contains("layer") && e.contains("head") &&
               e["layer"].is_number_integer() && e["head"].is_number_integer();
    if (!pair && !obj)
      throw InputError(value, "each head must be [layer, head] or {\"layer\", \"head\"}");
    int l = pair ? e[0].get<int>() : e["layer"].get<int>();
    int h = pair ? e[1].get<int>() : e["head"].get<int>();
    require(l >= 0 && l < c.n_layers && h >= 0 && h < c.heads(l), value,
            "head " + std::to_string(l) + ":" + std::to_string(h) + " is out of range");
    heads.emplace_back(l, h);
  }
  return heads;
}

}  // namespace ss
