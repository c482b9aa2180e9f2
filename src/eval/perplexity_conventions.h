#pragma once
// The other tools' ways of turning one summed NLL into a perplexity (SPEC.md §Evaluation), so a
// sinkscope figure can be set beside lm-evaluation-harness's: per UTF-8 byte and per word of the
// text instead of per token. docs/perplexity.md defines each.
#include <cstddef>
#include <string_view>

namespace ss {

// lm-evaluation-harness's word count, len(re.split(r"\s+", text)): one more than the number of
// maximal runs of whitespace (Python's Unicode \s), so leading or trailing whitespace adds an
// empty word, as it does there.
size_t count_words(std::string_view text);

struct TextPerplexities {
  size_t bytes = 0, words = 0;
  double bits_per_byte = 0;    // nll_sum / (ln 2 · bytes)
  double byte_perplexity = 0;  // exp(nll_sum / bytes)
  double word_perplexity = 0;  // exp(nll_sum / words)
};

// nll_sum: nats summed over every token of `text` after the first.
TextPerplexities text_perplexities(double nll_sum, std::string_view text);

}  // namespace ss
