#include "train/dataset.h"

#include <algorithm>
#include <random>

#include "util/error.h"
#include "util/text_file.h"

namespace ss::train {

namespace {
// Paragraphs: maximal runs of non-blank lines (CR LF treated as LF).
std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::string cur, line;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(cur);
    cur.clear();
  };
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    line.assign(text, i, j - i);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t\f\v\xef\xbb\xbf") == std::string::npos)
      flush();
    else
      cur += (cur.empty() ? "" : "\n") + line;
    i = j + 1;
  }
  flush();
  return out;
}

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

Corpus load_corpus(const std::vector<std::string>& files, const SpmTokenizer& tok,
                   double val_fraction) {
  Corpus c;
  require(!files.empty(), "--data", "no training text given");
  for (const std::string& f : files) {
    const std::string text = read_text(f).text;
    require(text.find_first_not_of(" \t\r\n") != std::string::npos, f, "no text to train on");
    size_t cut = text.size();
    if (val_fraction > 0) {
      cut = static_cast<size_t>(static_cast<double>(text.size()) * (1.0 - val_fraction));
      const size_t nl = text.rfind('\n', cut);
      cut = nl == std::string::npos ? cut : nl + 1;
      c.val_text += text.substr(cut);
    }
    for (const std::string& p : paragraphs(text.substr(0, cut))) {
      std::vector<int> ids = tok.encode(p + "\n", false);
      c.stream.insert(c.stream.end(), ids.begin(), ids.end());
      c.docs.push_back(std::move(ids));
    }
  }
  return c;
}

Batch make_batch(const Corpus& c, const WindowOptions& o, int rows, uint64_t seed, int64_t step) {
  std::mt19937_64 rng(mix(seed * 0x100000001b3ULL + static_cast<uint64_t>(step)));
  const int lo = o.min_ctx <= 0 ? o.ctx : std::clamp(o.min_ctx, 1, o.ctx);
  const int len = lo >= o.ctx ? o.ctx : std::uniform_int_distribution<int>(lo, o.ctx)(rng);
  Batch b;
  b.batch = rows;
  b.seq = len;
  const size_t n = static_cast<size_t>(rows) * len;
  b.tokens.assign(n, o.pad_id);
  b.targets.assign(n, o.pad_id);
  b.weight.assign(n, 0.0f);
  std::vector<int> w;
  for (int r = 0; r < rows; ++r) {
    w.clear();
    if (o.bos) w.push_back(o.bos_id);
    const size_t want = static_cast<size_t>(len) + 1;  // inputs and the last target
    if (o.packed) {
      const size_t need = want - w.size();
      require(c.stream.size() >= need, "--data",
              "fewer tokens (" + std::to_string(c.stream.size()) + ") than one window needs");
      const size_t off = std::uniform_int_distribution<size_t>(0, c.stream.size() - need)(rng);
      w.insert(w.end(), c.stream.begin() + static_cast<std::ptrdiff_t>(off),
               c.stream.begin() + static_cast<std::ptrdiff_t>(off + need));
    } else {
      const auto& d = c.docs[std::uniform_int_distribution<size_t>(0, c.docs.size() - 1)(rng)];
      w.insert(w.end(), d.begin(),
               d.begin() + static_cast<std::ptrdiff_t>(std::min(d.size(), want - w.size())));
    }
    for (size_t t = 0; t + 1 < w.size(); ++t) {
      const size_t i = static_cast<size_t>(r) * len + t;
      b.tokens[i] = w[t];
      b.targets[i] = w[t + 1];
      b.weight[i] = 1.0f;
    }
  }
  return b;
}

}  // namespace ss::train
