#include "report/stream_files.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "report/svg.h"

namespace ss {

namespace {

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return to > from ? s / static_cast<double>(to - from) : svg::kNaN;
}

std::string csv(const std::vector<StreamRun>& runs) {
  std::string out = "policy,position,nll,running_ppl\n";
  char line[160];
  for (const StreamRun& r : runs) {
    double sum = 0;
    for (size_t t = 0; t < r.nll.size(); ++t) {
      sum += r.nll[t];
      std::snprintf(line, sizeof line, "%s,%zu,%.9g,%.9g\n", r.policy.c_str(), t + 1, r.nll[t],
                    std::exp(sum / static_cast<double>(t + 1)));
      out += line;
    }
  }
  return out;
}

nlohmann::json summary(const std::vector<StreamRun>& runs, int model_ctx) {
  nlohmann::json j = {{"model_ctx", model_ctx}, {"policies", nlohmann::json::array()}};
  for (const StreamRun& r : runs) {
    const size_t n = r.nll.size();
    j["policies"].push_back({{"policy", r.policy},
                             {"tokens_scored", n},
                             {"nll_mean", mean(r.nll, 0, n)},
                             {"ppl", std::exp(mean(r.nll, 0, n))},
                             {"tokens_per_second", r.seconds > 0 ? n / r.seconds : 0.0},
                             {"seconds_per_1000_tokens", r.block_seconds},
                             {"cache_bytes", r.cache_bytes}});
  }
  return j;
}

std::string html(const std::vector<StreamRun>& runs, int model_ctx, const std::string& model,
                 const std::string& text) {
  size_t longest = 0;
  for (const StreamRun& r : runs) longest = std::max(longest, r.nll.size());
  // Mean nll over bins of positions: about 60 points per line.
  const size_t bin = std::max<size_t>(1, (longest + 59) / 60);
  svg::Chart chart;
  chart.x_name = "position (end of each bin of " + std::to_string(bin) + " tokens)";
  chart.y_name = "mean nll (log-perplexity)";
  for (size_t b = 0; b * bin < longest; ++b)
    chart.x_labels.push_back(std::to_string(std::min(longest, (b + 1) * bin)));
  for (size_t i = 0; i < runs.size(); ++i) {
    svg::Series s{runs[i].policy, {}, svg::palette(i), ""};
    for (size_t b = 0; b * bin < longest; ++b) {
      const size_t from = b * bin, to = std::min(runs[i].nll.size(), (b + 1) * bin);
      s.y.push_back(from < to ? mean(runs[i].nll, from, to) : svg::kNaN);
    }
    chart.series.push_back(std::move(s));
  }
  chart.width = 720;
  std::string out = svg::page_start("sinkscope stream: " + model);
  out += "<h1>Streaming: log-perplexity against position</h1>\n<p>Model " + svg::escape(model) +
         ", text " + svg::escape(text) + ". Each policy runs the text token by token (SPEC " +
         "§Streaming). The model was trained on " + std::to_string(model_ctx) +
         " tokens: bins past position " + std::to_string(model_ctx) +
         " are beyond its training context.</p>\n";
  out += svg::line_chart(chart);
  out +=
      "<table><tr><th>policy</th><th>tokens</th><th>perplexity</th><th>tokens/s</th>"
      "<th>KV cache</th></tr>\n";
  for (const StreamRun& r : runs) {
    const size_t n = r.nll.size();
    char row[400];
    std::snprintf(row, sizeof row,
                  "<tr><td>%s</td><td>%zu</td><td>%.4f</td><td>%.1f</td><td>%.2f MiB</td></tr>\n",
                  svg::escape(r.policy).c_str(), n, std::exp(mean(r.nll, 0, n)),
                  r.seconds > 0 ? n / r.seconds : 0.0, r.cache_bytes / 1048576.0);
    out += row;
  }
  return out + "</table>\n</body></html>\n";
}

}  // namespace

void write_stream_files(const std::string& dir, const std::vector<StreamRun>& runs, int model_ctx,
                        const std::string& model_name, const std::string& text_name) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/stream.csv", csv(runs));
  write_file_atomic(dir + "/stream.json", summary(runs, model_ctx).dump(2) + "\n");
  write_file_atomic(dir + "/report.html", html(runs, model_ctx, model_name, text_name));
}

}  // namespace ss
