// sinkscope quant-study: simulated W8A8 perplexity and activation outliers with and without a
// prefix of cushion tokens after BOS (CushionCache's greedy search); docs/quant-study.md.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "experiments/quant_study.h"
#include "model/load_model.h"
#include "report/csv.h"

namespace ss::cli {

namespace {
struct QuantStudyArgs : CommonArgs {
  std::string calib, eval, out;
  QuantStudyOptions opt;
  bool json = false;
};

// A token's text for the output: printable ASCII as it is, other bytes as \xNN.
std::string token_text(const Tokenizer& tok, int id) {
  if (id == tok.bos_id()) return "<bos>";
  std::string out;
  for (unsigned char c : tok.decode_token(-1, id)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", c);
    out += c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c)) : std::string(hex);
  }
  return out;
}

std::vector<int> read_ids(const Tokenizer& tok, const std::string& path) {
  TextFile f = read_text(path);  // a missing or empty file is a one-line error
  std::vector<int> ids = tok.encode(f.text, true);
  require(ids.size() >= 2, path, "too short to score any token");
  return ids;
}

nlohmann::json to_json(const QuantStudyResult& r, const QuantStudyArgs& a, const Tokenizer& tok) {
  auto tokens = [&](const std::vector<int>& ids) {
    nlohmann::json t = nlohmann::json::array();
    for (int id : ids) t.push_back({{"id", id}, {"text", token_text(tok, id)}});
    return t;
  };
  auto ppl = [](const PerplexityResult& p) {
    return nlohmann::json{
        {"ppl", p.ppl}, {"nll_mean", p.nll_mean}, {"tokens_scored", p.tokens_scored}};
  };
  nlohmann::json settings = nlohmann::json::array();
  for (const SettingResult& s : r.settings) {
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerOutliers& l : s.calib.layers) {
      nlohmann::json inputs;
      for (int k = 0; k < kLinearSites; ++k)
        inputs[linear_site_name(static_cast<LinearSite>(k))] = l.input_max[static_cast<size_t>(k)];
      layers.push_back({{"layer", l.layer},
                        {"resid_max", l.resid_max},
                        {"resid_median", l.resid_median},
                        {"resid_max_over_median", l.ratio()},
                        {"input_max", inputs}});
    }
    settings.push_back({{"name", s.name},
                        {"prefix", tokens(s.prefix)},
                        {"cushion", s.cushion},
                        {"objective", s.calib.objective},
                        {"fp", ppl(s.fp)},
                        {"quant", ppl(s.quant)},
                        {"layers", layers}});
  }
  nlohmann::json steps = nlohmann::json::array();
  for (const SearchStep& s : r.search)
    steps.push_back(
        {{"token", s.token}, {"text", token_text(tok, s.token)}, {"objective", s.objective}});
  nlohmann::json out = run_info();
  out["model"] = a.model;
  out["calib"] = a.calib;
  out["eval"] = a.eval;
  out["ctx"] = a.opt.ctx;
  out["chunks"] = a.opt.chunks;
  out["calib_windows"] = r.calib_windows;
  out["eval_windows"] = r.eval_windows;
  out["quant"] = {{"bits", a.opt.bits},
                  {"activations",
                   "static per-tensor symmetric, one scale per linear input site "
                   "and layer, max |x| of the calibration windows / qmax"},
                  {"weights", "per output channel symmetric, row max |w| / qmax"},
                  {"linears", "q, k, v, o, gate, up, down; not the LM head or the embedding"},
                  {"qmax", (1 << (a.opt.bits - 1)) - 1},
                  {"rounding", "to nearest, ties to even, clamped to [-qmax, qmax]"}};
  out["search"] = {{"candidates", tokens(r.candidates)},
                   {"max_len", a.opt.prefix_len},
                   {"objective",
                    "largest |x| over every linear input of every layer, tokens "
                    "after the cushion, calibration windows"},
                   {"start", r.search_start},
                   {"steps", steps},
                   {"stop", r.stop_reason}};
  out["settings"] = settings;
  return out;
}

std::string layers_csv(const QuantStudyResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SettingResult& s : r.settings)
    for (const LayerOutliers& l : s.calib.layers) {
      nlohmann::json row{{"setting", s.name},
                         {"layer", l.layer},
                         {"resid_max", l.resid_max},
                         {"resid_median", l.resid_median},
                         {"resid_max_over_median", l.ratio()}};
      for (int k = 0; k < kLinearSites; ++k)
        row[std::string(linear_site_name(static_cast<LinearSite>(k))) + "_max"] =
            l.input_max[static_cast<size_t>(k)];
      rows.push_back(row);
    }
  return to_csv(rows, {"setting", "layer", "resid_max", "resid_median", "resid_max_over_median",
                       "attn_in_max", "attn_out_max", "ffn_in_max", "ffn_down_max"});
}

}  // namespace

void add_quant_study(CLI::App& root) {
  auto a = std::make_shared<QuantStudyArgs>();
  CLI::App* cmd = root.add_subcommand(
      "quant-study",
      "Simulated W8A8 quantization (static per-tensor int8 inputs of every linear layer, int8 "
      "per-channel weights; not the LM head) with and without a prefix of cushion tokens after "
      "BOS (CushionCache): perplexity in FP and quantized, and per-layer activation maxima, for no "
      "prefix, BOS alone, BOS repeated, \"\\n\", \".\" and a greedy search (docs/quant-study.md)");
  add_common(cmd, *a, true, true);
  cmd->add_option("--calib", a->calib, "Calibration text (UTF-8): scales and the search")
      ->required();
  cmd->add_option("--eval", a->eval, "Evaluation text (UTF-8), other than --calib")->required();
  cmd->add_option("--ctx", a->opt.ctx,
                  "Text tokens per window, BOS included (0: the model's context minus 8, so BOS, "
                  "8 prefix tokens and the text fit in it)")
      ->check(at_least(0));
  a->opt.ctx = 0;
  cmd->add_option("--chunks", a->opt.chunks, "Windows of each text (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option(
         "--prefix-len", a->opt.prefix_len,
         "Most tokens the greedy search puts after BOS, and the BOS-repeated prefix's length")
      ->capture_default_str()
      ->check(between(1, kMaxPrefix));
  cmd->add_option("--candidates", a->opt.candidates,
                  "Tokens the search tries: the most frequent of the calibration text")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--bits", a->opt.bits, "Integer grid of weights and activations")
      ->capture_default_str()
      ->check(between(2, 16));
  cmd->add_option("--out", a->out, "Write quant_study.json and quant_study_layers.csv here");
  cmd->add_flag("--json", a->json, "Print quant_study.json on stdout instead of the table");
  cmd->callback([a] {
    if (!a->out.empty()) ensure_output_dir(a->out);
    Model model = load_cli_model(*a);
    const ModelConfig& c = model.config;
    std::unique_ptr<Tokenizer> tok = load_text_tokenizer(a->model, a->tokenizer, c.vocab_size);
    require(tok->add_bos() && tok->bos_id() >= 0, a->model.empty() ? "--model" : a->model,
            "quant-study puts its prefix after BOS, and this tokenizer adds none");
    require(c.n_experts == 0, a->model, "quant-study does not simulate a mixture of experts");
    if (a->opt.ctx == 0) a->opt.ctx = c.max_seq_len - kMaxPrefix;
    require(a->opt.ctx >= 2, "--ctx", "must be at least 2");
    if (a->opt.ctx + kMaxPrefix > c.max_seq_len)
      std::fprintf(stderr,
                   "sinkscope: warning: --ctx %d and up to %d prefix tokens exceed the model's "
                   "trained context of %d\n",
                   a->opt.ctx, kMaxPrefix, c.max_seq_len);
    a->opt.bos_id = tok->bos_id();
    const std::vector<int> calib = read_ids(*tok, a->calib), eval = read_ids(*tok, a->eval);
    std::vector<NamedPrefix> fixed{
        {"bos-repeated", std::vector<int>(static_cast<size_t>(a->opt.prefix_len), tok->bos_id())},
        {"newline", tok->encode("\n", false)},
        {"period", tok->encode(".", false)}};
    ThreadPool pool(a->threads);
    Progress bar("quant-study", !a->quiet);
    const QuantStudyResult r = quant_study(model, pool, calib, eval, fixed, a->opt,
                                           [&](int done, int total) { bar.update(done, total); });
    bar.finish();
    const nlohmann::json doc = to_json(r, *a, *tok);
    if (!a->out.empty()) {
      write_file_atomic(a->out + "/quant_study.json", doc.dump(2) + "\n");
      write_file_atomic(a->out + "/quant_study_layers.csv", layers_csv(r));
    }
    if (a->json) {
      std::cout << doc.dump(2) << "\n";
      return;
    }
    std::printf("%d calibration and %d evaluation windows of %d tokens; W%dA%d\n", r.calib_windows,
                r.eval_windows, a->opt.ctx, a->opt.bits, a->opt.bits);
    std::printf("%-14s %-28s %10s %10s %10s %12s\n", "setting", "prefix", "fp ppl", "quant ppl",
                "objective", "max/median");
    for (const SettingResult& s : r.settings) {
      std::string p;
      for (int id : s.prefix) p += (p.empty() ? "" : " ") + token_text(*tok, id);
      double ratio = 0;
      for (const LayerOutliers& l : s.calib.layers) ratio = std::max(ratio, l.ratio());
      std::printf("%-14s %-28s %10.4f %10.4f %10.4f %12.2f\n", s.name.c_str(),
                  p.empty() ? "-" : p.c_str(), s.fp.ppl, s.quant.ppl, s.calib.objective, ratio);
    }
    std::printf("search: %s\n", r.stop_reason.c_str());
    if (!a->out.empty())
      std::printf("wrote %s/quant_study.json, quant_study_layers.csv\n", a->out.c_str());
  });
}

}  // namespace ss::cli
