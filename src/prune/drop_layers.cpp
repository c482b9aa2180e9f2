#include "prune/drop_layers.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "base/error.h"
#include "model/synth.h"

namespace ss {

std::vector<int> parse_layer_list(const std::string& text, const ModelConfig& c,
                                  const std::string& what) {
  std::vector<int> layers;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long l = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0') {
      std::string msg = one_line(item);  // (built in steps: GCC 12 warns wrongly about "'" + s)
      msg.insert(0, 1, '\'');
      throw InputError(what, msg + "' is not a layer index");
    }
    require(l >= 0 && l < c.n_layers, what,
            "layer " + item + " is out of range (the model has layers 0.." +
                std::to_string(c.n_layers - 1) + ")");
    layers.push_back(static_cast<int>(l));
  }
  std::sort(layers.begin(), layers.end());
  require(!layers.empty(), what, "names no layer");
  require(std::adjacent_find(layers.begin(), layers.end()) == layers.end(), what,
          "names a layer twice");
  require(static_cast<int>(layers.size()) < c.n_layers, what,
          "would drop all " + std::to_string(c.n_layers) + " layers; keep at least one");
  return layers;
}

std::string layer_drop_problem(const ModelConfig& c, const std::vector<int>& layers) {
  int next = 0;  // the index the next kept layer gets
  for (int l = 0; l < c.n_layers; ++l) {
    if (std::binary_search(layers.begin(), layers.end(), l)) continue;
    if (c.is_sliding(l) != c.is_sliding(next))
      return c.arch + " chooses sliding-window layers by index (one global layer in every " +
             std::to_string(c.global_every) +
             ") and its files hold no per-layer windows, so layer " + std::to_string(l) + " (" +
             (c.is_sliding(l) ? "sliding" : "global") + ") cannot become layer " +
             std::to_string(next) + "; drop whole runs of " + std::to_string(c.global_every) +
             " layers";
    ++next;
  }
  return "";
}

Model drop_layers(const Model& model, const std::vector<int>& layers, const std::string& what) {
  const std::string problem = layer_drop_problem(model.config, layers);
  require(problem.empty(), what, problem);
  Model m = clone_model(model);
  std::vector<LayerWeights> kept;
  std::vector<int> q_heads, kv_heads;  // the kept layers' own counts
  for (int l = 0; l < model.config.n_layers; ++l)
    if (!std::binary_search(layers.begin(), layers.end(), l)) {
      kept.push_back(m.layers[l]);
      q_heads.push_back(model.config.heads(l));
      kv_heads.push_back(model.config.kv_heads(l));
    }
  // Tensor names carry the layer index (error messages use them): renumber them too.
  for (size_t i = 0; i < kept.size(); ++i)
    for (const LayerSlot& s : layer_slots()) {
      std::string& name = (kept[i].*s.member).name;
      const size_t dot = name.find('.', 4);
      if (name.rfind("blk.", 0) == 0 && dot != std::string::npos)
        name = "blk." + std::to_string(i) + name.substr(dot);
    }
  m.layers = std::move(kept);
  m.config.n_layers = static_cast<int>(m.layers.size());
  m.config.set_layer_heads(std::move(q_heads), std::move(kv_heads));
  validate_model(m);
  return m;
}

}  // namespace ss
