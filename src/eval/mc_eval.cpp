#include "eval/mc_eval.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "base/cluster.h"
#include "base/wire.h"

namespace ss {

int argmax_first(std::span<const double> v) {
  int best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = static_cast<int>(i);
  return best;
}

McResult summarize_mc(const std::string& task, bool is_cloze, std::vector<McItemScore> items) {
  McResult r;
  r.task = task;
  r.is_cloze = is_cloze;
  r.n = static_cast<int>(items.size());
  double correct = 0, correct_norm = 0, loglik_sum = 0;
  long long tokens = 0;
  for (const McItemScore& s : items) {
    r.truncated += s.truncated;
    if (is_cloze) {
      correct += s.greedy;
      loglik_sum += s.loglik.at(0);
      tokens += s.tokens.at(0);
      continue;
    }
    correct += argmax_first(s.loglik) == s.gold;
    std::vector<double> per_byte(s.loglik.size());
    // Readers reject empty choices; max() only keeps a hand-made empty one from dividing by 0.
    for (size_t i = 0; i < per_byte.size(); ++i)
      per_byte[i] = s.loglik[i] / static_cast<double>(std::max<size_t>(s.bytes.at(i), 1));
    correct_norm += argmax_first(per_byte) == s.gold;
  }
  auto stderr_of = [n = r.n](double p) { return n ? std::sqrt(p * (1 - p) / n) : 0.0; };
  if (r.n) {
    r.acc = correct / r.n;
    r.acc_stderr = stderr_of(r.acc);
  }
  if (r.n && !is_cloze) {
    r.acc_norm = correct_norm / r.n;
    r.acc_norm_stderr = stderr_of(r.acc_norm);
  }
  if (r.n && is_cloze) {
    r.ppl = std::exp(-loglik_sum / r.n);
    r.ppl_token = tokens ? std::exp(-loglik_sum / static_cast<double>(tokens)) : 0.0;
  }
  r.items = std::move(items);
  return r;
}

ContinuationTokens tokenize_continuation(const Tokenizer& tok, const std::string& context,
                                         const std::string& continuation) {
  // lm-eval moves the context's trailing whitespace to the continuation, so the split falls
  // where a tokenizer that joins spaces with the following word puts it.
  const size_t keep = context.find_last_not_of(" \t\r\n") + 1;  // npos + 1 == 0
  const std::string ctx = context.substr(0, keep);
  const std::string cont = context.substr(keep) + continuation;
  ContinuationTokens t;
  t.whole = tok.encode(ctx + cont, tok.add_bos());
  if (t.whole.size() < 2) throw std::invalid_argument("nothing to score: empty continuation");
  // The split can move when the last context token merges with the continuation; keep at least
  // one continuation token, and BOS always in the context.
  t.split = std::clamp<size_t>(tok.encode(ctx, tok.add_bos()).size(), 1, t.whole.size() - 1);
  return t;
}

ContinuationScorer::Score ContinuationScorer::score(const std::string& context,
                                                    const std::string& continuation) {
  Score s;
  ContinuationTokens t = tokenize_continuation(tok_, context, continuation);
  std::vector<int> seq = std::move(t.whole);
  size_t n_cont = seq.size() - t.split;
  // The last token is never an input, so seq.size() - 1 positions must fit in the cache. Longer
  // sequences keep BOS (the attention sink) and drop the tokens right after it, as lm-eval drops
  // the oldest tokens.
  const size_t cap = static_cast<size_t>(rt_.max_ctx());
  if (seq.size() - 1 > cap) {
    s.truncated = true;
    seq.erase(seq.begin() + 1, seq.end() - static_cast<std::ptrdiff_t>(cap));
    n_cont = std::min(n_cont, cap);
  }
  const size_t first = seq.size() - 1 - n_cont;  // its logits predict the first continuation token

  // Positions before the first difference from the cached sequence are already in the cache.
  size_t same = 0;
  while (same < cached_.size() && same < first && cached_[same] == seq[same]) ++same;
  cached_.clear();  // stays empty if forward throws
  if (same < first)
    rt_.forward(std::span(seq).subspan(same, first - same), static_cast<int>(same), Logits::None);

  // The continuation's logits, a block of rows at a time so memory stays small for any vocab.
  const size_t V = rt_.model().config.vocab_size;
  constexpr size_t kBlock = 64;
  for (size_t b = 0; b < n_cont; b += kBlock) {
    const size_t rows = std::min(kBlock, n_cont - b);
    std::vector<float> logits = rt_.forward(std::span(seq).subspan(first + b, rows),
                                            static_cast<int>(first + b), Logits::All);
    for (size_t r = 0; r < rows; ++r) {
      std::span<const float> row(logits.data() + r * V, V);
      const int target = seq[first + b + r + 1];
      s.loglik -= token_nll(row, target);
      const size_t best = std::max_element(row.begin(), row.end()) - row.begin();
      s.greedy = s.greedy && best == static_cast<size_t>(target);
    }
  }
  s.tokens = static_cast<int>(n_cont);
  cached_.assign(seq.begin(), seq.end() - 1);
  return s;
}

McResult evaluate_task(Runtime& rt, const Tokenizer& tok, const McTask& task,
                       const std::function<void(int, int)>& progress, const Cluster* cluster) {
  ContinuationScorer scorer(rt, tok);
  std::vector<McItemScore> scores;
  scores.reserve(task.items.size());
  const int total = static_cast<int>(task.items.size());
  // Each item on its rank. The cache is reused within an item (its choices share the context) but
  // not across items, so an item's scores do not depend on which item its rank ran before.
  auto run_item = [&](size_t i) {
    const McItem& item = task.items[i];
    if (item.choices.empty() ||
        (item.contexts.size() != 1 && item.contexts.size() != item.choices.size()))
      throw std::invalid_argument(task.name +
                                  ": an item needs a choice, and one context or one per choice");
    McItemScore s;
    s.gold = item.gold;
    scorer.reset();
    for (size_t c = 0; c < item.choices.size(); ++c) {
      ContinuationScorer::Score x = scorer.score(item.context(c), " " + item.choices[c]);
      s.loglik.push_back(x.loglik);
      s.tokens.push_back(x.tokens);
      s.bytes.push_back(item.choices[c].size());
      s.greedy = x.greedy;  // cloze items have one choice
      s.truncated = s.truncated || x.truncated;
    }
    WireWriter out;
    out.put_vector<double>(s.loglik).put_vector<int>(s.tokens).put_vector<size_t>(s.bytes);
    out.put<int>(s.gold).put<bool>(s.greedy).put<bool>(s.truncated);
    return out.take();
  };
  auto fold_item = [&](size_t, std::string_view bytes) {
    WireReader in(bytes);
    McItemScore s;
    s.loglik = in.get_vector<double>();
    s.tokens = in.get_vector<int>();
    s.bytes = in.get_vector<size_t>();
    s.gold = in.get<int>();
    s.greedy = in.get<bool>();
    s.truncated = in.get<bool>();
    scores.push_back(std::move(s));
    if (progress) progress(static_cast<int>(scores.size()), total);
  };
  distribute(cluster ? *cluster : single_process(), task.items.size(), run_item, fold_item);
  return summarize_mc(task.name, task.is_cloze, std::move(scores));
}

}  // namespace ss
