#include "report/stream_sinks_files.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/atomic_file.h"
#include "report/csv.h"
#include "report/svg.h"

namespace ss {

namespace {

using json = nlohmann::json;

const char* const kStats[] = {"sink_mass", "oldest_mass",  "bos_mass",
                              "top_mass",  "top_in_sinks", "top_is_oldest"};

const std::vector<double>& stat(const StreamSinkMeans& m, size_t s) {
  const std::vector<double>* v[] = {&m.sink_mass, &m.oldest_mass,  &m.bos_mass,
                                    &m.top_mass,  &m.top_in_sinks, &m.top_is_oldest};
  return *v[s];
}

json number(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

double layer_mean(const std::vector<double>& v, int layer, int heads) {
  if (v.empty()) return svg::kNaN;
  double sum = 0;
  for (int h = 0; h < heads; ++h) sum += v[static_cast<size_t>(layer) * heads + h];
  return sum / heads;
}

json means_json(const StreamSinkMeans& m, long from, long to, int L, int H) {
  json j = {{"from", from},
            {"to", to},
            {"steps", m.steps},
            {"sink_steps", m.sink_steps},
            {"oldest_steps", m.oldest_steps},
            {"bos_steps", m.bos_steps},
            {"top_steps", m.top_steps},
            {"layers", json::array()}};
  for (int l = 0; l < L; ++l) {
    json layer = {{"layer", l}};
    for (size_t s = 0; s < std::size(kStats); ++s)
      layer[kStats[s]] = number(layer_mean(stat(m, s), l, H));
    j["layers"].push_back(std::move(layer));
  }
  return j;
}

json token_json(int id, const std::function<std::string(int)>& text) {
  return {{"id", id}, {"text", text ? text(id) : std::to_string(id)}};
}

json run_json(const StreamSinksRun& run, const std::function<std::string(int)>& text) {
  const StreamSinksResult& r = run.result;
  const int L = r.n_layers, H = r.n_heads;
  const long last = r.tokens - 1;
  json j = {{"bos", run.bos},
            {"first_token", r.first_token_id >= 0 ? token_json(r.first_token_id, text) : json()},
            {"tokens", r.tokens},
            {"first_eviction", r.first_eviction >= 0 ? json(r.first_eviction) : json()},
            {"bos_evicted_at", r.bos_evicted_at >= 0 ? json(r.bos_evicted_at) : json()},
            {"nll_mean", r.nll_mean},
            {"ppl", std::exp(r.nll_mean)},
            {"seconds", r.seconds},
            {"tokens_per_second", r.seconds > 0 ? r.tokens / r.seconds : 0.0}};
  for (const char* name : {"distance_bins", "step_bins"}) {
    const auto& bins = std::string(name) == "distance_bins" ? r.distance_bins : r.step_bins;
    json a = json::array();
    for (const StreamSinkBin& b : bins) a.push_back(means_json(b.means, b.from, b.to, L, H));
    j[name] = std::move(a);
  }
  j["eviction"] =
      r.eviction.steps > 0 ? means_json(r.eviction, r.first_eviction, last, L, H) : json(nullptr);
  json heads = json::array();
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      const size_t i = static_cast<size_t>(l) * H + h;
      json head = {{"layer", l}, {"head", h}};
      for (const char* name : {"distance_bins", "step_bins"}) {
        const auto& bins = std::string(name) == "distance_bins" ? r.distance_bins : r.step_bins;
        json per = json::object();
        for (size_t s = 0; s < std::size(kStats); ++s) {
          json a = json::array();
          for (const StreamSinkBin& b : bins) a.push_back(number(stat(b.means, s)[i]));
          per[kStats[s]] = std::move(a);
        }
        head[name] = std::move(per);
      }
      if (r.eviction.steps > 0) {
        json e = json::object();
        for (size_t s = 0; s < std::size(kStats); ++s)
          e[kStats[s]] = number(stat(r.eviction, s)[i]);
        const StreamSinkMigration& m = r.heads[i];
        e["top_position"] = m.top_position;
        e["top_position_steps"] = m.top_position_steps;
        e["top_position_token"] =
            m.top_position >= 0 ? token_json(m.top_position_token, text) : json(nullptr);
        e["top_position_share"] =
            static_cast<double>(m.top_position_steps) / static_cast<double>(r.eviction.top_steps);
        e["top_tokens"] = json::array();
        for (auto [id, steps] : m.top_tokens) {
          json t = token_json(id, text);
          t["steps"] = steps;
          t["share"] = static_cast<double>(steps) / static_cast<double>(r.eviction.top_steps);
          e["top_tokens"].push_back(std::move(t));
        }
        json slots = json::array();
        for (double v : m.slot_mass) slots.push_back(number(v));
        e["slot_mass"] = std::move(slots);
        head["eviction"] = std::move(e);
      } else {
        head["eviction"] = nullptr;
      }
      heads.push_back(std::move(head));
    }
  j["heads"] = std::move(heads);
  return j;
}

std::string pct(double v) {
  if (!std::isfinite(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
  return buf;
}

// One chart: a statistic's layer means over the bins, one line per layer; bins labelled by their
// range, or by their first step alone (short labels for many bins).
std::string layer_chart(const json& bins, const char* stat, const std::string& x_name,
                        const std::string& y_name, int L, bool ranges) {
  svg::Chart c;
  c.x_name = x_name;
  c.y_name = y_name;
  c.y_lo = 0;
  bool any = false;
  for (const json& b : bins)
    c.x_labels.push_back(!ranges || b["from"] == b["to"] ? b["from"].dump()
                                                         : b["from"].dump() + "–" + b["to"].dump());
  for (int l = 0; l < L; ++l) {
    svg::Series s{"layer " + std::to_string(l), {}, svg::palette(static_cast<size_t>(l)), ""};
    for (const json& b : bins) {
      s.y.push_back(json_double(b["layers"][l][stat]));
      any = any || std::isfinite(s.y.back());
    }
    c.series.push_back(std::move(s));
  }
  if (!any) return "";
  c.width = 640;
  return "<figure>" + svg::line_chart(c) + "<figcaption>" + svg::escape(y_name) +
         ", mean over each layer's heads</figcaption></figure>";
}

std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<div class=\"tw\"><table><tr>";
  for (const auto& h : head) out += "<th>" + svg::escape(h) + "</th>";
  out += "</tr>";
  for (const auto& r : rows) {
    out += "<tr>";
    for (const auto& c : r) out += "<td>" + c + "</td>";
    out += "</tr>";
  }
  return out + "</table></div>";
}

std::string token_label(const json& t) {
  return "<code>" + svg::escape(t["text"].get<std::string>()) + "</code>";
}

}  // namespace

json stream_sinks_json(const std::vector<StreamSinksRun>& runs, int model_ctx,
                       const std::function<std::string(int)>& token_text) {
  json doc = json::object();
  if (!runs.empty()) {
    const StreamSinksResult& r = runs[0].result;
    doc = {{"policy", r.policy},     {"positions", r.positions}, {"sinks", r.sinks},
           {"window", r.window},     {"capacity", r.capacity},   {"model_ctx", model_ctx},
           {"n_layers", r.n_layers}, {"n_heads", r.n_heads}};
  }
  doc["definitions"] = {
      {"slots",
       "cache slots 0..capacity-1; slots 0..sinks-1 hold text positions 0..sinks-1, "
       "the others the most recent tokens in order; the query of step t (text position "
       "t) sits in the last used slot"},
      {"sink_mass", "attention on slots 0..sinks-1 (sink policies only)"},
      {"oldest_mass",
       "attention on slot `sinks` (the oldest window slot; slot 0 under "
       "window:W), when it is not the query itself"},
      {"bos_mass", "attention on the slot holding text position 0, while it is cached"},
      {"top_mass", "the largest attention on a slot other than the query's own"},
      {"top_in_sinks", "share of steps whose largest slot (query left out) is a sink slot"},
      {"top_is_oldest",
       "share of steps whose largest slot (query left out) is the oldest "
       "window slot"},
      {"eviction",
       "steps from first_eviction on, when every step evicts the oldest window slot; "
       "top_position / top_tokens: the text position and tokens holding the largest "
       "slot most often (sink migration); slot_mass: mean attention per slot"}};
  doc["runs"] = json::array();
  for (const StreamSinksRun& run : runs) doc["runs"].push_back(run_json(run, token_text));
  return doc;
}

std::string stream_sinks_csv(const std::vector<StreamSinksRun>& runs) {
  json rows = json::array();
  for (const StreamSinksRun& run : runs) {
    const StreamSinksResult& r = run.result;
    auto add = [&](const char* kind, const StreamSinkMeans& m, long from, long to) {
      for (int l = 0; l < r.n_layers; ++l)
        for (int h = 0; h < r.n_heads; ++h) {
          const size_t i = static_cast<size_t>(l) * r.n_heads + h;
          json row = {{"cache", r.policy}, {"positions", r.positions},
                      {"bos", run.bos},    {"bins", kind},
                      {"from", from},      {"to", to},
                      {"steps", m.steps},  {"layer", l},
                      {"head", h}};
          for (size_t s = 0; s < std::size(kStats); ++s) row[kStats[s]] = number(stat(m, s)[i]);
          rows.push_back(std::move(row));
        }
    };
    for (const StreamSinkBin& b : r.distance_bins) add("distance", b.means, b.from, b.to);
    for (const StreamSinkBin& b : r.step_bins) add("step", b.means, b.from, b.to);
    if (r.eviction.steps > 0) add("eviction", r.eviction, r.first_eviction, r.tokens - 1);
  }
  std::vector<std::string> cols = {"cache", "positions", "bos",   "bins", "from",
                                   "to",    "steps",     "layer", "head"};
  cols.insert(cols.end(), std::begin(kStats), std::end(kStats));
  return to_csv(rows, cols);
}

std::string stream_sinks_html(const json& doc) {
  if (!doc.contains("runs") || doc["runs"].empty()) return "";
  const int L = doc["n_layers"].get<int>(), H = doc["n_heads"].get<int>();
  const int K = doc["sinks"].get<int>(), cap = doc["capacity"].get<int>();
  std::string out =
      "<h2>Sinks under eviction</h2><p>The text runs token by token under the cache <code>" +
      svg::escape(doc["policy"].get<std::string>()) +
      "</code> (positions: " + svg::escape(doc["positions"].get<std::string>()) + ") of " +
      std::to_string(cap) + " slots" +
      (K > 0 ? ", slots 0–" + std::to_string(K - 1) + " kept for the first tokens"
             : std::string()) +
      ". Statistics refer to cache slots: the sinks, the oldest window slot (slot " +
      std::to_string(K) +
      "), the slot holding the text's first token while it is cached, and the slot "
      "other than the query's own with the most attention (its text position and "
      "token are recorded). Files: <code>stream_sinks.csv</code>, "
      "<code>stream_sinks.json</code>.</p>";
  for (const json& run : doc["runs"]) {
    const std::string first =
        run["first_token"].is_null() ? "" : " (" + token_label(run["first_token"]) + ")";
    out += "<h3>First token: " + svg::escape(run["bos"].get<std::string>()) + first + "</h3><p>" +
           run["tokens"].dump() + " steps, streaming perplexity " +
           svg::num(json_double(run["ppl"])) + ", " +
           svg::num(json_double(run["tokens_per_second"])) + " tokens/s. ";
    if (run["first_eviction"].is_null())
      out += "The cache never filled: no slot was evicted.";
    else
      out +=
          "Every step from " + run["first_eviction"].dump() + " on evicts the oldest window slot" +
          (run["bos_evicted_at"].is_null()
               ? std::string(".")
               : "; the first token left the cache at step " + run["bos_evicted_at"].dump() + ".");
    out += "</p><div class=\"row\">";
    const json& bins = run["step_bins"];
    const long width = bins.empty() ? 1 : bins[0]["to"].get<long>() + 1;
    const std::string steps =
        "step: text position of the query (bins of " + std::to_string(width) + ", by their first)";
    if (K > 0)
      out += layer_chart(run["step_bins"], "sink_mass", steps,
                         "attention on the " + std::to_string(K) + " sink slots", L, false);
    out += layer_chart(run["step_bins"], "oldest_mass", steps,
                       "attention on the oldest window slot", L, false);
    out += layer_chart(run["distance_bins"], "bos_mass", "distance from the start (tokens)",
                       "attention on the first token while cached", L, true);
    out += "</div>";
    if (run["eviction"].is_null()) continue;
    const json& e = run["eviction"];
    std::vector<std::vector<std::string>> rows;
    for (int l = 0; l < L; ++l) {
      const json& m = e["layers"][l];
      rows.push_back({std::to_string(l), pct(json_double(m["sink_mass"])),
                      pct(json_double(m["oldest_mass"])), pct(json_double(m["top_mass"])),
                      pct(json_double(m["top_in_sinks"])), pct(json_double(m["top_is_oldest"]))});
    }
    out += "<h4>Eviction phase, per layer (steps " + e["from"].dump() + "–" + e["to"].dump() +
           ")</h4>" +
           table({"layer", "sink slots", "oldest slot", "largest other slot", "largest is a sink",
                  "largest is the oldest"},
                 rows);
    // Sink migration: the heads whose largest slot holds the most attention.
    std::vector<const json*> heads;
    for (const json& h : run["heads"]) heads.push_back(&h);
    std::stable_sort(heads.begin(), heads.end(), [](const json* a, const json* b) {
      return json_double((*a)["eviction"]["top_mass"]) > json_double((*b)["eviction"]["top_mass"]);
    });
    heads.resize(std::min<size_t>(heads.size(), 24));
    rows.clear();
    for (const json* hp : heads) {
      const json& h = *hp;
      const json& m = h["eviction"];
      std::string tokens;
      for (const json& t : m["top_tokens"])
        tokens +=
            (tokens.empty() ? "" : ", ") + token_label(t) + " " + pct(json_double(t["share"]));
      rows.push_back({h["layer"].dump(), h["head"].dump(), pct(json_double(m["top_mass"])),
                      pct(json_double(m["top_in_sinks"])), pct(json_double(m["top_is_oldest"])),
                      m["top_position"].dump() + " " + token_label(m["top_position_token"]) + " (" +
                          pct(json_double(m["top_position_share"])) + ")",
                      tokens});
    }
    out += "<h4>Sink migration: the " + std::to_string(heads.size()) + " of " +
           std::to_string(L * H) +
           " heads with the most attention on one other slot, eviction phase</h4>" +
           table({"layer", "head", "largest other slot", "it is a sink", "it is the oldest",
                  "most frequent text position (share)", "most frequent tokens (share)"},
                 rows);
  }
  return out;
}

void write_stream_sinks_files(const std::string& dir, const std::vector<StreamSinksRun>& runs,
                              const json& doc) {
  std::filesystem::create_directories(dir);
  const std::string base = (std::filesystem::path(dir) / "stream_sinks").string();
  write_file_atomic(base + ".csv", stream_sinks_csv(runs));
  write_file_atomic(base + ".json", doc.dump(1) + "\n");
}

}  // namespace ss
