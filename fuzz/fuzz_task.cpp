// libFuzzer target for the multiple-choice task readers (eval/mc_task.h): JSON lines of the three
// schemas and llama.cpp's HellaSwag text. The first byte chooses how the rest becomes a file:
//   raw: the bytes as they are (libFuzzer's own mutations, with fuzz/task.dict);
//   jsonl: rows built from choices: a schema's keys, or others, with values of the right type or
//     not (strings, numbers, arrays, objects, null), blank lines and CRLF between rows;
//   hellaswag: blocks of a context, a label and four endings, lines dropped, blanked or wrong;
// and whether the file is read from memory (parse_mc_task) or from disk (read_mc_task, which
// also replaces invalid UTF-8), and the --limit. Invariant: an InputError, or a task that holds
// together (items, their contexts, choices and gold within range, the format and the limit).
//
// `fuzz_task --make-seeds=DIR` writes the seed corpus (fuzz/corpus/fuzz_task) and exits.
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "eval/mc_task.h"
#include "fuzz_util.h"

namespace ss {
namespace {

using fuzz::Choices;
using json = nlohmann::json;

std::string pick_text(Choices& ch) {
  static const char* texts[] = {"",         " ",           "Question: What is 2+2?",
                                "Answer:",  "the cat",     "\n",
                                "\xff\xfe", "caf\xc3\xa9", "{",
                                "\t\r",     "a\"b"};
  if (ch.u8() % 4 == 0) {  // a few bytes of the input itself
    std::string s;
    for (int n = ch.u8() % 8; n > 0; --n) s += static_cast<char>(ch.u8());
    return s;
  }
  return texts[ch.pick(std::size(texts))];
}

json pick_json(Choices& ch, int depth = 0) {
  switch (ch.u8() % 9) {
    case 0:
    case 1:
      return pick_text(ch);
    case 2:
      return static_cast<int64_t>(ch.u8() % 6) - 1;
    case 3:
      return fuzz::pick_int(ch, 2);
    case 4:
      return 1.5;
    case 5:
      return nullptr;
    case 6:
      return static_cast<bool>(ch.u8() & 1);
    case 7: {
      json a = json::array();
      for (int n = ch.u8() % 6; n > 0; --n)
        a.push_back(depth < 2 && ch.u8() % 8 == 0 ? pick_json(ch, depth + 1) : json(pick_text(ch)));
      return a;
    }
    default:
      return depth < 2 ? json::object({{"k", pick_json(ch, depth + 1)}}) : json::object();
  }
}

std::string jsonl(Choices& ch) {
  static const char* keys[] = {"query",   "choices",      "gold",  "context_options",
                               "context", "continuation", "label", "answer"};
  std::string text;
  const int rows = 1 + ch.u8() % 6;
  for (int r = 0; r < rows; ++r) {
    json row = json::object();
    const uint8_t schema = ch.u8() % 4;
    // The schema's keys with well-typed values unless the choices say otherwise.
    auto put = [&](const char* key, json good) { row[key] = ch.u8() % 6 ? good : pick_json(ch); };
    if (schema == 0) {
      put("query", pick_text(ch));
      json choices = json::array();
      for (int n = ch.u8() % 5; n > 0; --n) choices.push_back(pick_text(ch));
      put("choices", choices);
      put("gold", static_cast<int64_t>(ch.u8() % 6) - 1);
    } else if (schema == 1) {
      json options = json::array();
      for (int n = ch.u8() % 4; n > 0; --n) options.push_back(pick_text(ch));
      put("context_options", options);
      put("continuation", pick_text(ch));
      put("gold", static_cast<int64_t>(ch.u8() % 4) - 1);
    } else if (schema == 2) {
      put("context", pick_text(ch));
      put("continuation", pick_text(ch));
    }
    for (int n = ch.u8() % 3; n > 0; --n) row[keys[ch.pick(std::size(keys))]] = pick_json(ch);
    // Invalid UTF-8 in strings becomes U+FFFD (raw bytes reach the reader in raw mode).
    const json& out = schema == 3 && ch.u8() % 2 ? pick_json(ch) : row;  // or not an object
    text += out.dump(-1, ' ', false, json::error_handler_t::replace);
    switch (ch.u8() % 6) {
      case 0:
        text += "\r\n";
        break;
      case 1:
        text += "\n\n  \n";
        break;
      case 2:
        text += "\n{";
        break;
      default:
        text += "\n";
        break;
    }
  }
  return text;
}

std::string hellaswag(Choices& ch) {
  std::string text;
  const int blocks = 1 + ch.u8() % 4;
  for (int b = 0; b < blocks; ++b) {
    std::vector<std::string> lines = {"Cooking: a man cuts an onion",
                                      std::string(1, '0' + ch.u8() % 4),
                                      "and cries",
                                      "and sings",
                                      "then leaves",
                                      "and laughs"};
    const uint8_t edit = ch.u8();
    const size_t at = ch.pick(lines.size());
    switch (edit % 8) {
      case 0:
        lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(at));
        break;
      case 1:
        lines[at] = "";
        break;
      case 2:
        lines[at] = " \t";
        break;
      case 3:
        lines[1] = pick_text(ch);
        break;
      case 4:
        lines[at] = pick_text(ch);
        break;
      case 5:
        lines.push_back(pick_text(ch));
        break;
      default:
        break;
    }
    for (const std::string& l : lines) text += l + (edit & 0x80 ? "\r\n" : "\n");
  }
  if (ch.u8() % 4 == 0) text += "\n\n";
  return text;
}

// The task holds together: everything eval indexes is in range.
void check(const McTask& t, int limit) {
  const bool known = t.format == "choices" || t.format == "winogrande" || t.format == "cloze" ||
                     t.format == "hellaswag";
  if (!known) fuzz::bug("unknown format '" + t.format + "'");
  if (t.is_cloze != (t.format == "cloze")) fuzz::bug("is_cloze disagrees with the format");
  if (t.items.empty()) fuzz::bug("a task without items");
  if (limit > 0 && t.items.size() > static_cast<size_t>(limit)) fuzz::bug("limit not kept");
  for (size_t i = 0; i < t.items.size(); ++i) {
    const McItem& it = t.items[i];
    const std::string at = "item " + std::to_string(i) + ": ";
    const size_t n = it.choices.size();
    if (n == 0) fuzz::bug(at + "no choices");
    if (t.is_cloze ? n != 1 : n < 2) fuzz::bug(at + std::to_string(n) + " choices");
    if (t.format == "hellaswag" && n != 4)
      fuzz::bug(at + "a HellaSwag item of " + std::to_string(n));
    if (it.contexts.size() != 1 && it.contexts.size() != n)
      fuzz::bug(at + std::to_string(it.contexts.size()) + " contexts for " + std::to_string(n));
    if (it.gold < 0 || static_cast<size_t>(it.gold) >= n)
      fuzz::bug(at + "gold " + std::to_string(it.gold) + " of " + std::to_string(n));
    for (size_t c = 0; c < n; ++c) {
      if (it.choices[c].empty()) fuzz::bug(at + "an empty choice");
      (void)it.context(c).size();
    }
  }
}

void run(const uint8_t* data, size_t size) {
  Choices ch(data, size);
  const uint8_t mode = ch.u8();
  const int limit = (mode >> 2) % 4;
  const bool from_file = mode & 0x10;
  std::string text;
  switch (mode % 4) {
    case 0:
    case 1:
      text = ch.rest();
      break;
    case 2:
      text = jsonl(ch);
      break;
    default:
      text = hellaswag(ch);
      break;
  }
  try {
    McTask t;
    if (from_file) {
      const std::string path = fuzz::scratch_dir() + "/task.jsonl";
      std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
      t = read_mc_task(path, limit);
    } else {
      t = parse_mc_task(text, "fuzz.jsonl", limit);
    }
    check(t, limit);
  } catch (const InputError&) {
  }
}

// Seeds: a small file of each schema, raw, and one of each generator.
void make_seeds(const std::string& dir) {
  const std::string raw[][2] = {
      {"arc",
       R"({"query": "Question: Which is a fruit?", "choices": ["apple", "chair"], "gold": 0})"
       "\n"
       R"({"query": "Question: 1+1?", "choices": ["2", "3", "4"], "gold": 0})"
       "\n"},
      {"winogrande",
       R"({"context_options": ["Ann gave Bo a cup because Ann", )"
       R"("Ann gave Bo a cup because Bo"], "continuation": "was thirsty.", "gold": 1})"
       "\n"},
      {"lambada", R"({"context": "He opened the door and saw the", "continuation": "sea"})"
                  "\n\n"},
      {"hellaswag",
       "Cooking: a man cuts an onion\n2\nand sings\nthen leaves\nand cries\nand laughs\n"
       "Sports: a girl runs\n0\nand jumps\nand sits\nand reads\nand sleeps\n"},
      {"crlf", "{\"context\": \"a b\", \"continuation\": \"c\"}\r\n\r\n"},
  };
  for (const auto& [name, text] : raw) {
    fuzz::write_seed(dir, name, std::string(1, '\0') + text);
    fuzz::write_seed(dir, name + "-file-limit", std::string(1, '\x15') + text);
  }
  fuzz::write_seed(dir, "jsonl-gen", std::string("\x02\x03\x00\x01\x02\x03\x01\x02\x00", 9));
  fuzz::write_seed(dir, "hellaswag-gen", std::string("\x03\x02\x01\x06\x00\x02\x05", 7));
}

}  // namespace
}  // namespace ss

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  const std::string dir = ss::fuzz::make_seeds_dir(*argc, *argv);
  if (!dir.empty()) {
    ss::make_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ss::run(data, size);
  return 0;
}
