#pragma once
// Reading a Hugging Face tokenizer.json (the `tokenizers` library's serialization) into a BpeSpec.
//
// Supported: model "BPE" (vocab, merges as "a b" strings or [a, b] pairs, unk_token,
// byte_fallback, fuse_unk, ignore_merges); added_tokens (special, lstrip, rstrip; matched on the
// raw text, "normalized" and "single_word" are not applied); normalizers NFC, NFD, NFKC, NFKD,
// Replace, Prepend, Sequence; pre-tokenizers Split (String or Regex pattern, every behaviour,
// invert), ByteLevel (add_prefix_space, use_regex), Metaspace (replacement, prepend_scheme or
// add_prefix_space, split), Sequence; a TemplateProcessing post-processor (also inside a
// Sequence) whose single-sequence template starts with a special token sets BOS and add_bos; a
// Strip or Metaspace decoder. Anything else throws InputError naming it. The BPE model is
// byte-level when the pre-tokenizer has a ByteLevel step (GPT-2, Pythia, Llama-3, OLMo-2, Qwen),
// and otherwise works on characters with byte fallback (SentencePiece conversions such as
// Llama-2, Phi-3 and Gemma).
//
// tokenizer_config.json (optional) supplies bos_token / eos_token by name when the
// post-processor does not name the BOS token.
#include <string>
#include <string_view>

#include "tokenizer/bpe_tokenizer.h"

namespace ss {

// Throws InputError(name, ...) for invalid JSON, a missing or mistyped field, or an unsupported
// component.
BpeSpec bpe_spec_from_tokenizer_json(std::string_view json, const std::string& name,
                                     std::string_view config_json = {});

}  // namespace ss
