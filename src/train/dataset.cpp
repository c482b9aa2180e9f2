#include "train/dataset.h"

#include <algorithm>
#include <random>

#include "base/error.h"
#include "base/text_file.h"

namespace ss::train {

namespace {
// Paragraphs with their text verbatim: each runs from its first non-blank line to the start of
// the next paragraph, so its line endings (CR LF included) and the blank lines after it stay, and
// the paragraphs concatenated give back the text. Training then sees text exactly as `perplexity`
// and `analyze` read it.
std::vector<std::string_view> paragraphs(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = std::string_view::npos;  // start of the current paragraph
  bool after_blank = false;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find('\n', i);
    j = j == std::string_view::npos ? text.size() : j + 1;
    const bool blank =
        text.substr(i, j - i).find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
    if (!blank && (start == std::string_view::npos || after_blank)) {
      if (start != std::string_view::npos) out.push_back(text.substr(start, i - start));
      start = start == std::string_view::npos && out.empty() ? 0 : i;
    }
    after_blank = blank;
    i = j;
  }
  if (start != std::string_view::npos) out.push_back(text.substr(start));
  return out;
}

// Packed windows read the text in pieces of about this many bytes, cut at paragraph ends and each
// tokenized whole, so the tokenizer's dummy-prefix space appears once a piece, not once a
// paragraph as in the document form.
constexpr size_t kStreamPieceBytes = 16384;

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
    const std::string_view train_text = std::string_view(text).substr(0, cut);
    size_t piece_begin = 0, piece_end = 0;
    auto flush_piece = [&] {
      const std::vector<int> ids =
          tok.encode(train_text.substr(piece_begin, piece_end - piece_begin), false);
      c.stream.insert(c.stream.end(), ids.begin(), ids.end());
      piece_begin = piece_end;
    };
    for (std::string_view p : paragraphs(train_text)) {
      c.docs.push_back(tok.encode(p, false));
      piece_end = static_cast<size_t>(p.data() + p.size() - train_text.data());
      if (piece_end - piece_begin >= kStreamPieceBytes) flush_piece();
    }
    if (piece_end > piece_begin) flush_piece();
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
