#include "report/attention_view.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "report/pattern_codec.h"
#include "report/svg.h"

namespace ss {

int view_thumb_size(int T) {
  return std::min(T, 40);
}

namespace {

// JSON inside a <script> element: '<' escaped, so no text in it can close the element.
std::string script_json(const nlohmann::json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

double rounded(double v) {
  return std::round(v * 1e6) / 1e6;
}

}  // namespace

std::string render_attention_view(const AttentionView& v) {
  using json = nlohmann::json;
  json meta = {{"model", v.model},     {"description", v.description},
               {"layers", v.n_layers}, {"heads", v.n_heads},
               {"eps", v.eps},         {"ablation_source", v.ablation_source}};
  json ablated = json::array();
  for (auto [l, h] : v.ablated) ablated.push_back({l, h});
  meta["ablated"] = ablated;
  int start = 0;
  for (size_t r = 0; r < v.runs.size(); ++r)
    if (v.runs[r].bos == v.start_bos && !v.runs[r].ablated) {
      start = static_cast<int>(r);
      break;
    }
  meta["start"] = start;

  std::string data;  // the runs' pattern and thumbnail elements
  json runs = json::array();
  for (size_t r = 0; r < v.runs.size(); ++r) {
    const ViewRun& run = v.runs[r];
    json scores = json::array(), bits = json::array(), same = json::array(), offset = json::array(),
         length = json::array();
    std::string text;
    for (const ViewHead& h : run.heads) {
      scores.push_back(rounded(h.bos_sink_score));
      bits.push_back(h.bits);
      same.push_back(h.same_as);
      const std::string b64 = h.same_as >= 0 ? std::string() : base64_encode(h.deflated);
      offset.push_back(text.size());
      length.push_back(b64.size());
      text += b64;
    }
    runs.push_back({{"name", run.name},
                    {"bos", run.bos},
                    {"ablated", run.ablated},
                    {"ids", run.ids},
                    {"tokens", run.tokens},
                    {"thumb", run.thumb},
                    {"scores", scores},
                    {"bits", bits},
                    {"same_as", same},
                    {"offset", offset},
                    {"length", length}});
    data += "<script type=\"text/plain\" id=\"ss-p" + std::to_string(r) + "\">" + text +
            "</script>\n<script type=\"text/plain\" id=\"ss-t" + std::to_string(r) + "\">" +
            base64_encode(deflate_bytes(run.thumbs)) + "</script>\n";
  }
  meta["runs"] = runs;

  std::string ablation_label = "on";
  if (!v.ablated.empty()) {
    ablation_label = "zeroed";
    for (size_t i = 0; i < v.ablated.size() && i < 4; ++i)
      ablation_label +=
          " L" + std::to_string(v.ablated[i].first) + "H" + std::to_string(v.ablated[i].second);
    if (v.ablated.size() > 4) ablation_label += " +" + std::to_string(v.ablated.size() - 4);
  }
  const std::string T = v.runs.empty() ? "0" : std::to_string(v.runs[0].ids.size());
  using svg::escape;
  std::string out =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>sinkscope view — " +
      escape(v.model) + "</title><style>" + kAttentionViewCss + "</style></head><body>";
  out +=
      "<header><div><h1>sinkscope · attention viewer</h1><div class=\"meta\"><code>" +
      escape(v.model) + "</code> · " + escape(v.description) +
      "</div></div><div class=\"controls\">"
      "<span class=\"seg\"><span class=\"lbl\">BOS</span><button id=\"bos-on\">on</button>"
      "<button id=\"bos-off\">off</button></span>"
      "<span class=\"seg\" title=\"" +
      escape(v.ablation_source) +
      "\"><span class=\"lbl\">ablation</span><button id=\"abl-off\">off</button>"
      "<button id=\"abl-on\">" +
      escape(ablation_label) +
      "</button></span>"
      "<span class=\"seg\"><span class=\"lbl\">colour</span><button id=\"sc-sqrt\">√α</button>"
      "<button id=\"sc-lin\">α</button></span>"
      "<span class=\"legend\">0<canvas id=\"legend\" width=\"256\" height=\"1\"></canvas>1</span>"
      "<span class=\"seg\"><span class=\"lbl\">export</span><button id=\"export-svg\">SVG</button>"
      "<button id=\"export-png\">PNG</button></span></div></header><main>";
  out +=
      "<section class=\"card\"><h2>Heads</h2><p class=\"hint\">Each thumbnail is a head's "
      "pattern (query down, key across; the largest α of each block). "
      "<span class=\"key sink\"></span>sink head (bos_sink_score &gt; " +
      svg::num(v.eps) +
      ") <span class=\"key sel\"></span>selected <span class=\"key abl\"></span>zeroed in the "
      "ablated runs. Hover for bos_sink_score, click to open.</p><div id=\"grid\"></div>"
      "</section>";
  out +=
      "<section class=\"card\"><div id=\"detail\"><div><h2 id=\"head-title\"></h2>"
      "<p class=\"hint\" id=\"head-sub\"></p><div class=\"pattern-wrap\">"
      "<div class=\"yl\">query →</div><div id=\"pattern-box\"><canvas id=\"pattern\"></canvas>"
      "<div id=\"cross-h\"></div><div id=\"cross-v\"></div></div><div class=\"xl\">key →</div>"
      "</div><div id=\"readout\"></div></div><div class=\"tok-panel\"><h2>Tokens</h2>"
      "<p class=\"hint\" id=\"tok-readout\"></p><div id=\"tokens-box\"><svg id=\"tokens\">"
      "</svg></div></div></div></section>";
  out += "<p class=\"footer\">" + T +
         " tokens in the first run. Ablation: " + escape(v.ablation_source) +
         ". Patterns are stored as quantised lower triangles; values are shown within half a "
         "step of the model's.</p></main>"
         "<div id=\"tip\"></div>\n";
  out += "<script type=\"application/json\" id=\"ss-meta\">" + script_json(meta) + "</script>\n";
  out += data;
  out += "<script>" + std::string(kAttentionViewJs) + "</script></body></html>\n";
  return out;
}

}  // namespace ss
