#pragma once
// Whether two tokenizers give the same ids the same meaning, which comparing two models token by
// token needs: the same vocabulary size, BOS/EOS ids and BOS rule, and the same text for every id.
#include <optional>
#include <string>

#include "tokenizer/tokenizer.h"

namespace ss {

// The first difference in words ("token 17 is 'ing' in one, ' the' in the other"), or nullopt.
std::optional<std::string> vocabulary_difference(const Tokenizer& a, const Tokenizer& b);

}  // namespace ss
