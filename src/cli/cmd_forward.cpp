// sinkscope forward: one forward pass over a prompt, as JSON (ids, logits, optional attention).
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/common.h"
#include "model/load_model.h"
#include "runtime/runtime.h"

namespace ss::cli {

namespace {

struct ForwardArgs : CommonArgs {
  std::string prompt;
  bool json = false;
  bool attention = false;
};

// Records every attention row: pattern[layer][head][query][key].
class PatternRecorder : public Observer {
 public:
  PatternRecorder(const ModelConfig& c, int n)
      : n_(n),
        heads_(c.n_heads),
        data_(static_cast<size_t>(c.n_layers) * c.n_heads * n * n, 0.0f) {}
  bool wants_pattern(int) const override { return true; }
  void on_pattern(int layer, int head, int pos, std::span<const float> row) override {
    float* dst = data_.data() + ((static_cast<size_t>(layer) * heads_ + head) * n_ + pos) * n_;
    std::copy(row.begin(), row.end(), dst);
  }
  nlohmann::json to_json(int layers) const {
    nlohmann::json out = nlohmann::json::array();
    for (int l = 0; l < layers; ++l) {
      nlohmann::json lj = nlohmann::json::array();
      for (int h = 0; h < heads_; ++h) {
        nlohmann::json hj = nlohmann::json::array();
        for (int q = 0; q < n_; ++q) {
          const float* row = data_.data() + ((static_cast<size_t>(l) * heads_ + h) * n_ + q) * n_;
          hj.push_back(std::vector<float>(row, row + n_));
        }
        lj.push_back(std::move(hj));
      }
      out.push_back(std::move(lj));
    }
    return out;
  }

 private:
  int n_, heads_;
  std::vector<float> data_;
};

}  // namespace

void add_forward(CLI::App& root) {
  auto a = std::make_shared<ForwardArgs>();
  CLI::App* cmd = root.add_subcommand("forward", "One forward pass over a prompt, printed as JSON");
  add_common(cmd, *a);
  add_activation_modes(cmd, *a);
  add_ablate(cmd, *a);
  cmd->add_option("-p,--prompt", a->prompt,
                  "Prompt text (BOS is added when the tokenizer asks for it)")
      ->required();
  cmd->add_flag("--json", a->json, "Print one JSON object (the only output format for now)");
  cmd->add_flag("--attention", a->attention,
                "Include attention[layer][head][query][key] (zeros above the diagonal)");
  cmd->callback([a] {
    Model model = load_cli_model(*a);
    std::unique_ptr<Tokenizer> tok_ptr =
        load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    const Tokenizer& tok = *tok_ptr;
    std::vector<int> ids = tok.encode(a->prompt, tok.add_bos());
    require(static_cast<int>(ids.size()) <= model.config.max_seq_len, "--prompt",
            "longer than the model's context");
    ThreadPool pool(a->threads);
    Runtime rt(model, pool, static_cast<int>(ids.size()));  // a cache for the prompt only
    HeadMask mask = ablation_mask(*a, model.config);
    rt.set_head_mask(&mask);
    PatternRecorder rec(model.config, static_cast<int>(ids.size()));
    if (a->attention) rt.add_observer(&rec);
    std::vector<float> logits = rt.forward(ids, 0, Logits::All);
    const size_t V = model.config.vocab_size;
    nlohmann::json out;
    out["ids"] = ids;
    nlohmann::json lj = nlohmann::json::array();
    for (size_t t = 0; t < ids.size(); ++t)
      lj.push_back(std::vector<float>(logits.begin() + t * V, logits.begin() + (t + 1) * V));
    out["logits"] = std::move(lj);
    if (a->attention) out["attention"] = rec.to_json(model.config.n_layers);
    std::cout << out.dump() << "\n";
  });
}

}  // namespace ss::cli
