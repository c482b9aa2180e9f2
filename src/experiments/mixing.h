#pragma once
// The `mixing` experiment (Barbero et al. 2025, "Why do LLMs attend to the first token?"; SPEC.md
// §Experiments "Over-mixing"): in windows of a text, the over-mixing µ(V)/‖V‖_F of the residual
// stream after every layer, and how far a one-token perturbation spreads to the later tokens,
// under three conditions: BOS first, no BOS, and BOS first with the sink heads zeroed.
//
// Windows: window w covers the text tokens from w·ctx on: BOS and ctx − 1 of them ("bos-on",
// "ablated"), or ctx of them ("bos-off"), so every condition sees the same text at the same text
// index. Perturbations, each a second forward pass compared with the clean one layer by layer
// (blocks.L.hook_resid_post), both at a text index, so at window position index + 1 with BOS:
//   embedding   δ·‖x_p‖·u added to the input vector x_p (blocks.0.hook_resid_pre) of the token at
//               `position`, u a fixed unit direction (perturbation_direction);
//   substitute  the first occurrence in the window of a word pair's `from` tokens replaced by its
//               `to` tokens (same count), perturbed position = the first token that differs.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/mixing_result.h"
#include "base/thread_pool.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ss {

struct WordPair {
  std::string from, to;
};
// The default substitutions: Barbero et al.'s "greatest" → "best" and everyday pairs of the same
// part of speech. A pair whose words tokenize to different counts is left out (with a note).
const std::vector<WordPair>& default_word_pairs();
// "from=to,from=to"; InputError(what, ...) for a pair without '=', an empty word or a word with
// a space.
std::vector<WordPair> parse_word_pairs(const std::string& text, const std::string& what);

// A word pair as tokens inside running text (after a space): the tokens of "the WORD" minus
// those of "the".
struct TokenPair {
  std::string label;  // "from=to"
  std::vector<int> from, to;
};
// The pair's tokens; an empty `why` when usable, else why not (different token counts, the same
// tokens, or a word that does not tokenize apart from the word before it).
TokenPair tokenize_pair(const Tokenizer& tok, const WordPair& pair, std::string& why);

// A unit vector of width d from seed (splitmix64 → uniform in [−1, 1), normalised in double):
// the direction of the embedding perturbation, reproducible by the numpy reference.
std::vector<double> perturbation_direction(size_t d, uint64_t seed);

struct MixingOptions {
  int ctx = 256;
  int chunks = 8;                      // windows (at most; all that fit when the text is shorter)
  std::vector<bool> bos{true, false};  // conditions without ablation: BOS first or not
  int bos_id = -1;                     // required for BOS-first conditions and "ablated"
  bool embedding = true, substitute = true;  // the perturbations to run
  double delta = 0.01;  // relative to ‖x_p‖; 0 allowed here (a check), the command wants > 0
  int position = -1;    // text index of the embedding perturbation; −1: (ctx − 1) / 4
  uint64_t seed = 1;
  std::vector<TokenPair> pairs;  // substitutions, tried in order at each text index
  // "ablated": with ablate_sinks the heads whose mean bos_sink_score over the same windows (BOS
  // first, nothing ablated) exceeds eps; else `heads` (none: no "ablated" condition).
  bool ablate_sinks = true;
  std::vector<std::pair<int, int>> heads;
  float eps = 0.3f;
  std::string ablate = "sinks";  // as given, for the result
};

// The text index the embedding perturbation uses.
int mixing_position(const MixingOptions& opt);

// Throws InputError("--ctx", ...) when the text holds no window, ("--position", ...) for a
// position without a later token in some window. progress(done, total, tokens) after each forward
// pass.
MixingResult run_mixing(const Model& model, ThreadPool& pool, std::span<const int> text_ids,
                        const MixingOptions& opt,
                        const std::function<void(long, long, long)>& progress = nullptr);

}  // namespace ss
