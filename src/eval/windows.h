#pragma once
// Which windows of a token stream an evaluation runs, and which of their tokens it scores
// (SPEC.md §Evaluation). perplexity and compare share this plan, so their figures are over the
// same tokens.
//   all          windows of ctx tokens every `stride` tokens (stride = ctx: consecutive); the
//                first window scores positions 1..ctx-1, later ones only the tokens no earlier
//                window scored. The last window may be shorter.
//   second-half  llama.cpp's `llama-perplexity`: n / ctx consecutive whole windows, each scoring
//                its tokens ctx/2 + 1 .. ctx - 1 (ctx - 1 - ctx/2 tokens); at least 2·ctx tokens.
#include <cstddef>
#include <string>
#include <vector>

namespace ss {

enum class Scoring { All, SecondHalf };

// "all" or "second-half"; InputError(what, ...) for anything else.
Scoring parse_scoring(const std::string& name, const std::string& what);
const char* scoring_name(Scoring s);

struct WindowPlan {
  int ctx = 0;
  int stride = 0;       // 0: ctx (Scoring::All only)
  int max_windows = 0;  // 0: all
  Scoring scoring = Scoring::All;
};

// Stream positions [begin, end) run as one window from position 0 (its first token replaced by
// BOS); the tokens at [first_scored, end) are scored, each by the logits one position before.
struct EvalWindow {
  size_t begin = 0, end = 0, first_scored = 0;
};

// The windows of a stream of n tokens. Throws InputError("--ctx", ...) when ctx < 2, and
// InputError("--scoring", ...) when second-half has fewer than 2·ctx tokens or a stride is set.
std::vector<EvalWindow> plan_windows(size_t n, const WindowPlan& plan);

}  // namespace ss
