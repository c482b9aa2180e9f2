#pragma once
// Training text as tokens, and the windows each step trains on. A step's batch depends only on
// (seed, step), so a resumed run sees exactly the batches an uninterrupted one would.
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/spm_tokenizer.h"
#include "train/network.h"

namespace ss::train {

struct Corpus {
  std::vector<std::vector<int>> docs;  // documents (paragraphs: text between blank lines)
  std::vector<int> stream;             // the documents concatenated, for packed windows
  std::string val_text;                // held-out text (the tail of every file)
  int64_t n_tokens() const { return static_cast<int64_t>(stream.size()); }
};

// Reads and tokenizes the files (no BOS). The last val_fraction of each file (cut at a line
// break) goes to val_text instead. Throws InputError naming a missing or empty file.
Corpus load_corpus(const std::vector<std::string>& files, const SpmTokenizer& tok,
                   double val_fraction);

struct WindowOptions {
  int ctx = 256;       // longest window (positions per row)
  int min_ctx = 0;     // each step's windows have a length drawn from [min_ctx, ctx]; 0: ctx
  bool bos = true;     // every window starts with BOS ("fixed"), or with text ("none")
  bool packed = true;  // a random cut of the stream, or one document padded to the length
  int bos_id = 1, pad_id = 0;
};

// The batch of `rows` windows for one step.
Batch make_batch(const Corpus& c, const WindowOptions& o, int rows, uint64_t seed, int64_t step);

}  // namespace ss::train
