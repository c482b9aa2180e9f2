#pragma once
// The interactive attention viewer (`sinkscope view`, and analyze's view.html): one
// self-contained HTML page, inline JS and CSS, no network. It holds, for each run of one prompt
// (BOS on/off, with and without an ablation), every head's pattern (report/pattern_codec.h),
// a max-pooled thumbnail per head and each head's bos_sink_score; the page draws the layer × head
// grid, a head's full pattern, bertviz-style token lines, and exports the view as SVG or PNG.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ss {

struct ViewHead {
  int bits = 8;          // of the stored codes (pattern_codec.h)
  std::string deflated;  // the zlib stream of the codes; empty when same_as >= 0
  int same_as = -1;      // else the index of a run holding the identical pattern
  double bos_sink_score = 0;
};

struct ViewRun {
  std::string name;  // "BOS on", "BOS off", ...
  bool bos = true, ablated = false;
  std::vector<int> ids;
  std::vector<std::string> tokens;  // one printable label per id
  std::vector<ViewHead> heads;      // [layer * n_heads + head]
  int thumb = 0;                    // S: thumbnails are S × S
  std::vector<uint8_t> thumbs;      // [layer][head][S][S]: max of α over each block, × 255
};

struct AttentionView {
  std::string model;        // path, for the title
  std::string description;  // architecture and shape, one line
  int n_layers = 0, n_heads = 0;
  double eps = 0.3;                          // is_sink_head: bos_sink_score > eps
  std::vector<std::pair<int, int>> ablated;  // the heads zeroed in the ablated runs
  std::string ablation_source;               // how they were chosen, for the page
  std::vector<ViewRun> runs;
  bool start_bos = true;  // which run the page opens with
};

// Thumbnail side for T tokens.
int view_thumb_size(int T);

std::string render_attention_view(const AttentionView& view);

// The page's script and style sheet (src/report/view/, embedded at build time).
extern const char* const kAttentionViewJs;
extern const char* const kAttentionViewCss;

}  // namespace ss
