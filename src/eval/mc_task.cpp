#include "eval/mc_task.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/error.h"
#include "base/text_file.h"

namespace ss {

namespace {

using nlohmann::json;

// Splits text into lines without their "\n" or "\r\n".
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return lines;
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::string rstrip(std::string s) {
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

// Errors in one line of a file, as InputError(path, "line N: what").
struct LineError {
  const std::string& path;
  size_t line;  // 1-based
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path, "line " + std::to_string(line) + ": " + what);
  }
  void check(bool cond, const std::string& what) const {
    if (!cond) fail(what);
  }
};

const json& field(const json& row, const char* key, const LineError& at) {
  auto it = row.find(key);
  if (it == row.end()) at.fail(std::string("missing \"") + key + "\"");
  return *it;
}

std::string string_field(const json& row, const char* key, const LineError& at) {
  const json& v = field(row, key, at);
  at.check(v.is_string(), std::string("\"") + key + "\" must be a string");
  return v.get<std::string>();
}

// An array of at least two non-empty strings.
std::vector<std::string> strings_field(const json& row, const char* key, const LineError& at) {
  const json& v = field(row, key, at);
  const std::string name = std::string("\"") + key + "\"";
  at.check(v.is_array() && v.size() >= 2, name + " must be an array of at least 2 strings");
  std::vector<std::string> out;
  for (const json& s : v) {
    at.check(s.is_string(), name + " must hold only strings");
    at.check(!s.get_ref<const std::string&>().empty(), name + " holds an empty string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

int gold_field(const json& row, size_t n_choices, const LineError& at) {
  const json& v = field(row, "gold", at);
  at.check(v.is_number_integer(), "\"gold\" must be an integer");
  const long long g = v.get<long long>();
  at.check(
      g >= 0 && g < static_cast<long long>(n_choices),
      "\"gold\" is " + std::to_string(g) + ", out of range 0.." + std::to_string(n_choices - 1));
  return static_cast<int>(g);
}

// lm-eval's "Question: ...\nAnswer:" prompt: ARC and BoolQ queries lack the answer cue, PIQA's
// end with "\n".
std::string answer_prompt(const std::string& query) {
  std::string q = rstrip(query);
  if (q.ends_with("Answer:")) return q;
  return q + "\nAnswer:";
}

McTask parse_jsonl(const std::vector<std::string_view>& lines, const std::string& path, McTask task,
                   int limit) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (limit > 0 && static_cast<int>(task.items.size()) >= limit) break;
    if (is_blank(lines[i])) continue;
    const LineError at{path, i + 1};
    json row = json::parse(lines[i], nullptr, false);
    at.check(!row.is_discarded(), "invalid JSON");
    at.check(row.is_object(), "expected a JSON object");
    if (task.format.empty()) {
      // The first row decides the schema for the whole file.
      if (row.contains("context_options"))
        task.format = "winogrande";
      else if (row.contains("choices"))
        task.format = "choices";
      else if (row.contains("context"))
        task.format = "cloze";
      else
        at.fail(
            "unknown schema: expected \"query\"/\"choices\"/\"gold\", "
            "\"context_options\"/\"continuation\"/\"gold\" or \"context\"/\"continuation\"");
      task.is_cloze = task.format == "cloze";
    }
    McItem item;
    if (task.format == "choices") {
      item.choices = strings_field(row, "choices", at);
      item.contexts = {answer_prompt(string_field(row, "query", at))};
      item.gold = gold_field(row, item.choices.size(), at);
    } else if (task.format == "winogrande") {
      item.contexts = strings_field(row, "context_options", at);
      std::string cont = string_field(row, "continuation", at);
      at.check(!cont.empty(), "\"continuation\" is empty");
      item.choices.assign(item.contexts.size(), cont);
      item.gold = gold_field(row, item.contexts.size(), at);
    } else {
      item.contexts = {string_field(row, "context", at)};
      std::string cont = string_field(row, "continuation", at);
      at.check(!cont.empty(), "\"continuation\" is empty");
      item.choices = {cont};
    }
    task.items.push_back(std::move(item));
  }
  return task;
}

// llama.cpp's HellaSwag text: per task the context, the gold label (0-3), then 4 endings.
McTask parse_hellaswag(const std::vector<std::string_view>& lines, const std::string& path,
                       McTask task, int limit) {
  task.format = "hellaswag";
  size_t n = lines.size();
  while (n > 0 && is_blank(lines[n - 1])) --n;  // trailing blank lines end the file
  for (size_t i = 0; i < n; i += 6) {
    if (limit > 0 && static_cast<int>(task.items.size()) >= limit) break;
    const LineError at{path, i + 1};
    at.check(i + 6 <= n, "HellaSwag task truncated: " + std::to_string(n - i) +
                             " of its 6 lines (context, gold label, 4 endings)");
    for (size_t k = 0; k < 6; ++k)
      LineError{path, i + k + 1}.check(!is_blank(lines[i + k]), "empty line in a HellaSwag task");
    McItem item;
    item.contexts = {std::string(lines[i])};
    const std::string_view label = lines[i + 1];
    LineError{path, i + 2}.check(
        label.size() == 1 && label[0] >= '0' && label[0] <= '3',
        "gold label must be 0, 1, 2 or 3, got \"" + std::string(label.substr(0, 20)) + "\"");
    item.gold = label[0] - '0';
    for (size_t k = 2; k < 6; ++k) item.choices.emplace_back(lines[i + k]);
    task.items.push_back(std::move(item));
  }
  return task;
}

}  // namespace

McTask parse_mc_task(const std::string& text, const std::string& path, int limit) {
  require(!text.starts_with("BZh"), path, "bzip2-compressed; decompress it first (bzip2 -d)");
  McTask task;
  task.name = std::filesystem::path(path).stem().string();
  const std::vector<std::string_view> lines = split_lines(text);
  size_t first = 0;
  while (first < lines.size() && is_blank(lines[first])) ++first;
  require(first < lines.size(), path, "no items");
  const bool jsonl = lines[first][lines[first].find_first_not_of(" \t")] == '{';
  task = jsonl ? parse_jsonl(lines, path, std::move(task), limit)
               : parse_hellaswag(lines, path, std::move(task), limit);
  require(!task.items.empty(), path, "no items");
  return task;
}

McTask read_mc_task(const std::string& path, int limit) {
  TextFile f = read_text(path);
  McTask task = parse_mc_task(f.text, path, limit);
  task.invalid_utf8 = f.invalid_utf8;
  return task;
}

}  // namespace ss
