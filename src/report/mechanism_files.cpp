#include "report/mechanism_files.h"

#include <cmath>
#include <filesystem>

#include "base/atomic_file.h"
#include "report/csv.h"
#include "report/svg.h"

namespace ss {

using nlohmann::json;

namespace {

// NaN and infinities as null (JSON has neither; the CSV cell is then empty).
json number(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json numbers(const std::vector<double>& v) {
  json out = json::array();
  for (double x : v) out.push_back(number(x));
  return out;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

const char* step_name(int step) {
  return step > 0 ? "up" : step < 0 ? "down" : "";
}

json form_json(const FfnQuadraticForm& f) {
  return {{"layer", f.layer},
          {"channel", f.channel},
          {"silu_linear_factor", kSiluLinearFactor},
          {"eigenvalues", numbers(f.eigenvalues)},
          {"lambda_ratio", number(f.ratio)},
          {"cosine", number(f.cosine)},
          {"top_share", number(f.top_share)},
          {"quadratic", number(f.quadratic)},
          {"ffn_output", number(f.ffn_output)},
          {"top_vector", numbers(f.top_vector)},
          {"input", numbers(f.input)}};
}

json run_json(const AnalysisRun& run, const MechanismResult& m) {
  json layers = json::array(), ups = json::array(), downs = json::array();
  for (const MechanismLayer& l : m.layers) {
    layers.push_back({{"layer", l.layer},
                      {"sink_max_abs", number(l.sink_max_abs)},
                      {"sink_channel", l.sink_channel},
                      {"step_ratio", number(l.step_ratio)},
                      {"step", step_name(l.step)},
                      {"norm_share", number(l.norm_share)},
                      {"share_channel", l.share_channel},
                      {"base_norm_share", number(l.base_norm_share)},
                      {"resid_share", number(l.resid_share)},
                      {"sink_key_cosine", numbers(l.sink_key_cosine)},
                      {"base_key_cosine", numbers(l.base_key_cosine)},
                      {"sink_key_cosine_mean", number(mean_of(l.sink_key_cosine))},
                      {"base_key_cosine_mean", number(mean_of(l.base_key_cosine))}});
    if (l.step > 0) ups.push_back(l.layer);
    if (l.step < 0) downs.push_back(l.layer);
  }
  json out = {{"ctx", run.ctx},
              {"bos", run.bos},
              {"windows", m.windows},
              {"sink_pos", 0},
              {"baseline_pos", m.baseline_pos},
              {"embedding_max_abs", number(m.embedding_max_abs)},
              {"embedding_channel", m.embedding_channel},
              {"layers", layers},
              {"step_up_layers", ups},
              {"step_down_layers", downs},
              {"spike", nullptr},
              {"quadratic_form", nullptr},
              {"sink_quadratic_form", nullptr},
              {"note", m.form_note}};
  if (const auto& s = m.spike)
    out["spike"] = {{"layer", s->layer},     {"channel", s->channel},
                    {"window", s->window},   {"pos", s->pos},
                    {"token", s->token},     {"value", s->value},
                    {"massive", s->massive}, {"step_up", number(s->step_up)}};
  if (m.form) out["quadratic_form"] = form_json(*m.form);
  if (m.sink_form) out["sink_quadratic_form"] = form_json(*m.sink_form);
  return out;
}

}  // namespace

json mechanism_json(const AnalysisResult& result) {
  json runs = json::array();
  for (const AnalysisRun& run : result.runs)
    if (run.mechanism) runs.push_back(run_json(run, *run.mechanism));
  return {{"step_factor", kStepFactor},  {"silu_linear_factor", kSiluLinearFactor},
          {"n_layers", result.n_layers}, {"n_kv_heads", result.n_kv_heads},
          {"dim", result.dim},           {"runs", runs}};
}

void write_mechanism_files(const std::string& dir, const json& doc) {
  json rows = json::array(), keys = json::array();
  for (const json& run : doc["runs"])
    for (const json& l : run["layers"]) {
      json row = l;
      row["ctx"] = run["ctx"];
      row["bos"] = run["bos"];
      rows.push_back(row);
      for (size_t h = 0; h < l["sink_key_cosine"].size(); ++h)
        keys.push_back({{"ctx", run["ctx"]},
                        {"bos", run["bos"]},
                        {"layer", l["layer"]},
                        {"kv_head", h},
                        {"sink_key_cosine", l["sink_key_cosine"][h]},
                        {"base_key_cosine", l["base_key_cosine"][h]}});
    }
  auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  write_file_atomic(path("mechanism.json"), doc.dump(1) + "\n");
  write_file_atomic(
      path("mechanism.csv"),
      to_csv(rows, {"ctx", "bos", "layer", "sink_max_abs", "sink_channel", "step_ratio", "step",
                    "norm_share", "share_channel", "base_norm_share", "resid_share",
                    "sink_key_cosine_mean", "base_key_cosine_mean"}));
  write_file_atomic(
      path("mechanism_keys.csv"),
      to_csv(keys, {"ctx", "bos", "layer", "kv_head", "sink_key_cosine", "base_key_cosine"}));
}

namespace {

std::string layer_list(const json& layers) {
  if (layers.empty()) return "none";
  std::string out;
  for (const json& l : layers) out += (out.empty() ? "" : ", ") + l.dump();
  return out;
}

}  // namespace

std::string mechanism_html(const json& doc) {
  if (!doc.contains("runs") || doc["runs"].empty()) return "";
  std::string out =
      "<h2>The spike, the sparse and the sink</h2><p>Sun et al. 2026 (docs/statistics.md "
      "§Mechanism): the first token's largest |h| after each block, with step-ups and "
      "step-downs by a factor of " +
      svg::num(json_double(doc["step_factor"])) +
      "; the top channel's share of its normed attention input; the mean pairwise cosine over "
      "windows of its keys (and of a baseline position's); and the FFN quadratic form "
      "A<sub>c</sub> at the spike (the FFN's channel c ≈ " +
      svg::num(json_double(doc["silu_linear_factor"])) +
      "·xᵀA<sub>c</sub>x). Files: <code>mechanism.csv</code>, <code>mechanism_keys.csv</code>, "
      "<code>mechanism.json</code>.</p>";
  for (const json& run : doc["runs"]) {
    out += "<h3>ctx " + run["ctx"].dump() +
           ", first token: " + svg::escape(run["bos"].get<std::string>()) +
           "</h3><p>Step-up blocks: " + layer_list(run["step_up_layers"]) +
           "; step-down blocks: " + layer_list(run["step_down_layers"]) + ".";
    for (const char* key : {"quadratic_form", "sink_quadratic_form"}) {
      const json& f = run[key];
      if (f.is_null()) continue;
      std::string eig;
      for (const json& e : f["eigenvalues"])
        eig += (eig.empty() ? "" : ", ") + svg::num(json_double(e));
      out += std::string(key == std::string("quadratic_form")
                             ? " Quadratic form at the spike (the largest activation), block "
                             : " At the sink's own step-up, block ") +
             f["layer"].dump() + ", channel " + f["channel"].dump() + ": top eigenvalues " + eig +
             "; |λ1|/|λ2| = " + svg::num(json_double(f["lambda_ratio"])) +
             "; cosine of the normed FFN input with the top eigenvector " +
             svg::num(json_double(f["cosine"])) + "; λ1's share of xᵀAx " +
             svg::num(json_double(f["top_share"])) + "; quadratic approximation " +
             svg::num(json_double(f["quadratic"])) + " against the FFN's output " +
             svg::num(json_double(f["ffn_output"])) + ".";
    }
    if (!run["note"].get<std::string>().empty())
      out += " Note: " + svg::escape(run["note"].get<std::string>()) + ".";
    out += "</p>";
    svg::Chart c;
    c.x_name = "block";
    c.y_name = "sink max |h|";
    svg::Series s{"sink max |h|", {}, svg::palette(0), ""};
    s.y.push_back(json_double(run["embedding_max_abs"]));
    c.x_labels.push_back("emb");
    for (const json& l : run["layers"]) {
      s.y.push_back(json_double(l["sink_max_abs"]));
      c.x_labels.push_back(l["layer"].dump());
    }
    c.series.push_back(std::move(s));
    out += "<div class=\"row\">" + svg::line_chart(c);
    svg::Chart sh;
    sh.x_name = "block";
    sh.y_name = "share / cosine";
    svg::Series a{"sink top-channel share", {}, svg::palette(1), ""},
        b{"baseline top-channel share", {}, svg::palette(2), "4 3"},
        k{"sink key cosine", {}, svg::palette(3), ""},
        kb{"baseline key cosine", {}, svg::palette(4), "4 3"};
    for (const json& l : run["layers"]) {
      a.y.push_back(json_double(l["norm_share"]));
      b.y.push_back(json_double(l["base_norm_share"]));
      k.y.push_back(json_double(l["sink_key_cosine_mean"]));
      kb.y.push_back(json_double(l["base_key_cosine_mean"]));
      sh.x_labels.push_back(l["layer"].dump());
    }
    sh.series = {a, b, k, kb};
    out += svg::line_chart(sh) + "</div>";
  }
  return out;
}

}  // namespace ss
