#pragma once
// Multiple-choice and cloze benchmark files, read into one form. The format is detected from the
// content: JSON lines with "query"/"choices"/"gold" (ARC, PIQA, BoolQ), "context_options"/
// "continuation"/"gold" (WinoGrande) or "context"/"continuation" (LAMBADA, a cloze task), and
// otherwise llama.cpp's 6-line HellaSwag text format. docs/tasks.md gives the prompt per task.
#include <cstddef>
#include <string>
#include <vector>

namespace ss {

struct McItem {
  // The context of every choice, or one context per choice (WinoGrande: the sentence up to the
  // blank, filled with each option).
  std::vector<std::string> contexts;
  // The answers as written. Each is scored as the continuation " " + choice (lm-eval's target
  // delimiter); acc_norm divides by the UTF-8 length of the choice itself.
  std::vector<std::string> choices;
  int gold = 0;

  const std::string& context(size_t choice) const {
    return contexts.size() == 1 ? contexts[0] : contexts[choice];
  }
};

struct McTask {
  std::string name;       // the file name without folder and extension
  std::string format;     // "choices", "winogrande", "cloze" or "hellaswag"
  bool is_cloze = false;  // one choice per item, scored by greedy exact match (LAMBADA)
  std::vector<McItem> items;
  size_t invalid_utf8 = 0;  // bytes that were not valid UTF-8, replaced by U+FFFD
};

// Reads a task file; limit > 0 keeps only the first `limit` items. Throws InputError
// (path, "line N: what") for malformed input.
McTask read_mc_task(const std::string& path, int limit = 0);

// The same from text already in memory; path only names the source in errors.
McTask parse_mc_task(const std::string& text, const std::string& path, int limit = 0);

}  // namespace ss
