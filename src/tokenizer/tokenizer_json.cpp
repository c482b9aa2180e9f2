#include "tokenizer/tokenizer_json.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "base/error.h"
#include "base/mmap_file.h"

namespace ss {
namespace {

using json = nlohmann::json;

class Reader {
 public:
  explicit Reader(const std::string& name) : name_(name) {}

  [[noreturn]] void fail(const std::string& what) const { throw InputError(name_, what); }

  const json& object(const json& parent, const char* key, const std::string& where) const {
    auto it = parent.find(key);
    if (it == parent.end()) fail(where + "." + key + " is missing");
    if (!it->is_object()) fail(where + "." + key + " is not an object");
    return *it;
  }
  // The array at parent[key]; null or absent is an empty array.
  const json& array(const json& parent, const char* key, const std::string& where) const {
    static const json empty = json::array();
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return empty;
    if (!it->is_array()) fail(where + "." + key + " is not an array");
    return *it;
  }
  std::string string(const json& parent, const char* key, const std::string& where) const {
    auto it = parent.find(key);
    if (it == parent.end()) fail(where + "." + key + " is missing");
    if (!it->is_string()) fail(where + "." + key + " is not a string");
    return it->get<std::string>();
  }
  // A string, or "" for null / absent.
  std::string opt_string(const json& parent, const char* key, const std::string& where) const {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return "";
    if (!it->is_string()) fail(where + "." + key + " is not a string");
    return it->get<std::string>();
  }
  bool boolean(const json& parent, const char* key, bool dflt, const std::string& where) const {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) fail(where + "." + key + " is not true or false");
    return it->get<bool>();
  }
  int id(const json& v, const std::string& where) const {
    if (!v.is_number_integer()) fail(where + " is not an integer token id");
    const auto x = v.get<int64_t>();
    if (x < 0 || x >= (int64_t{1} << 30))
      fail(where + " = " + std::to_string(x) + " is not a token id");
    return static_cast<int>(x);
  }
  std::shared_ptr<const bpe::Regex> pattern(const json& parent, const std::string& where) const {
    const json& p = object(parent, "pattern", where);
    try {
      if (p.contains("String"))
        return std::make_shared<const bpe::Regex>(
            bpe::Regex::quote(string(p, "String", where + ".pattern")));
      if (p.contains("Regex"))
        return std::make_shared<const bpe::Regex>(string(p, "Regex", where + ".pattern"));
    } catch (const std::invalid_argument& e) {
      fail(where + ".pattern: " + e.what());
    }
    fail(where + ".pattern has neither String nor Regex");
  }

 private:
  const std::string& name_;
};

void read_normalizer(const Reader& r, const json& n, const std::string& where,
                     bpe::Normalizer& out) {
  if (n.is_null()) return;
  if (!n.is_object()) r.fail(where + " is not an object");
  const std::string type = r.string(n, "type", where);
  using K = bpe::Normalizer::Kind;
  if (type == "NFC") {
    out.add({K::NFC, nullptr, ""});
  } else if (type == "NFD") {
    out.add({K::NFD, nullptr, ""});
  } else if (type == "NFKC") {
    out.add({K::NFKC, nullptr, ""});
  } else if (type == "NFKD") {
    out.add({K::NFKD, nullptr, ""});
  } else if (type == "Replace") {
    out.add({K::Replace, r.pattern(n, where), r.string(n, "content", where)});
  } else if (type == "Prepend") {
    out.add({K::Prepend, nullptr, r.string(n, "prepend", where)});
  } else if (type == "Sequence") {
    const json& list = r.array(n, "normalizers", where);
    for (size_t i = 0; i < list.size(); ++i)
      read_normalizer(r, list[i], where + ".normalizers[" + std::to_string(i) + "]", out);
  } else {
    r.fail(where + ": normalizer type '" + type +
           "' is not supported (NFC, NFD, NFKC, NFKD, Replace, Prepend, Sequence)");
  }
}

// Metaspace's prepend_scheme; files from tokenizers < 0.19 say add_prefix_space instead.
bpe::PrependScheme metaspace_prepend(const Reader& r, const json& p, const std::string& where) {
  const std::string scheme = r.opt_string(p, "prepend_scheme", where);
  if (scheme.empty())
    return r.boolean(p, "add_prefix_space", true, where) ? bpe::PrependScheme::Always
                                                         : bpe::PrependScheme::Never;
  if (scheme == "always") return bpe::PrependScheme::Always;
  if (scheme == "first") return bpe::PrependScheme::First;
  if (scheme == "never") return bpe::PrependScheme::Never;
  r.fail(where + ".prepend_scheme '" + scheme + "' is not always, first or never");
}

void read_pretokenizer(const Reader& r, const json& p, const std::string& where,
                       bpe::PreTokenizer& out) {
  if (p.is_null()) return;
  if (!p.is_object()) r.fail(where + " is not an object");
  const std::string type = r.string(p, "type", where);
  using Step = bpe::PreTokenizer::Step;
  if (type == "ByteLevel") {
    Step s;
    s.kind = Step::Kind::ByteLevel;
    s.add_prefix_space = r.boolean(p, "add_prefix_space", true, where);
    if (r.boolean(p, "use_regex", true, where))
      s.pattern = std::make_shared<const bpe::Regex>(bpe::kGpt2Pattern);
    out.add(std::move(s));
  } else if (type == "Split") {
    Step s;
    s.kind = Step::Kind::Split;
    s.pattern = r.pattern(p, where);
    const std::string b = r.string(p, "behavior", where);
    if (b == "Removed") {
      s.behavior = bpe::SplitBehavior::Removed;
    } else if (b == "Isolated") {
      s.behavior = bpe::SplitBehavior::Isolated;
    } else if (b == "MergedWithPrevious") {
      s.behavior = bpe::SplitBehavior::MergedWithPrevious;
    } else if (b == "MergedWithNext") {
      s.behavior = bpe::SplitBehavior::MergedWithNext;
    } else if (b == "Contiguous") {
      s.behavior = bpe::SplitBehavior::Contiguous;
    } else {
      r.fail(where + ".behavior '" + b + "' is not a split behaviour");
    }
    s.invert = r.boolean(p, "invert", false, where);
    out.add(std::move(s));
  } else if (type == "Metaspace") {
    Step s;
    s.kind = Step::Kind::Metaspace;
    s.replacement = r.string(p, "replacement", where);
    if (s.replacement.empty()) r.fail(where + ".replacement is empty");
    s.prepend = metaspace_prepend(r, p, where);
    if (r.boolean(p, "split", true, where)) {
      s.pattern = std::make_shared<const bpe::Regex>(bpe::Regex::quote(s.replacement));
      s.behavior = bpe::SplitBehavior::MergedWithNext;
    }
    out.add(std::move(s));
  } else if (type == "Sequence") {
    const json& list = r.array(p, "pretokenizers", where);
    for (size_t i = 0; i < list.size(); ++i)
      read_pretokenizer(r, list[i], where + ".pretokenizers[" + std::to_string(i) + "]", out);
  } else {
    r.fail(where + ": pre-tokenizer type '" + type +
           "' is not supported (ByteLevel, Split, Metaspace, Sequence)");
  }
}

// The name of the special token a TemplateProcessing single-sequence template starts with, or "".
std::string template_bos(const Reader& r, const json& p, const std::string& where, int* id) {
  if (p.is_null()) return "";
  if (!p.is_object()) r.fail(where + " is not an object");
  const std::string type = r.string(p, "type", where);
  if (type == "Sequence") {
    const json& list = r.array(p, "processors", where);
    for (size_t i = 0; i < list.size(); ++i) {
      std::string name =
          template_bos(r, list[i], where + ".processors[" + std::to_string(i) + "]", id);
      if (!name.empty()) return name;
    }
    return "";
  }
  if (type != "TemplateProcessing") return "";
  const json& single = r.array(p, "single", where);
  if (single.empty() || !single[0].is_object() || !single[0].contains("SpecialToken")) return "";
  const json& st = single[0]["SpecialToken"];
  const std::string name = r.string(st, "id", where + ".single[0].SpecialToken");
  // special_tokens: {name: {"id": name, "ids": [id], "tokens": [name]}}
  auto specials = p.find("special_tokens");
  if (specials != p.end() && specials->is_object() && specials->contains(name)) {
    const json& ids = r.array((*specials)[name], "ids", where + ".special_tokens." + name);
    if (ids.size() == 1) *id = r.id(ids[0], where + ".special_tokens." + name + ".ids[0]");
  }
  return name;
}

// Leading spaces a Strip decoder removes.
int decoder_strip(const Reader& r, const json& d, const std::string& where) {
  if (!d.is_object()) return 0;
  const std::string type = r.opt_string(d, "type", where);
  if (type == "Sequence") {
    int n = 0;
    const json& list = r.array(d, "decoders", where);
    for (size_t i = 0; i < list.size(); ++i)
      n += decoder_strip(r, list[i], where + ".decoders[" + std::to_string(i) + "]");
    return n;
  }
  // Metaspace drops the space its pre-tokenizer put in front of the text.
  if (type == "Metaspace")
    return metaspace_prepend(r, d, where) == bpe::PrependScheme::Never ? 0 : 1;
  if (type == "Strip" && r.opt_string(d, "content", where) == " ") {
    auto it = d.find("start");
    if (it != d.end() && it->is_number_integer()) return static_cast<int>(it->get<int64_t>());
  }
  return 0;
}

// bos_token / eos_token of tokenizer_config.json: a string or {"content": string}.
std::string config_token(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return "";
}

BpeSpec read_spec(const Reader& r, const json& j, const std::string& name,
                  std::string_view config_json) {
  if (!j.is_object()) r.fail("the top level is not a JSON object");
  const json& model = r.object(j, "model", "tokenizer");
  const std::string type = model.contains("type") ? r.string(model, "type", "model") : "BPE";
  if (type != "BPE") r.fail("model.type '" + type + "' is not supported (only BPE)");
  if (!r.opt_string(model, "continuing_subword_prefix", "model").empty() ||
      !r.opt_string(model, "end_of_word_suffix", "model").empty())
    r.fail("model: continuing_subword_prefix / end_of_word_suffix are not supported");
  if (auto d = model.find("dropout");
      d != model.end() && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
    r.fail("model.dropout is not supported");

  BpeSpec spec;
  spec.source = name;

  // Vocabulary and added tokens, by id.
  const json& vocab = r.object(model, "vocab", "model");
  std::vector<std::pair<std::string, int>> entries;
  entries.reserve(vocab.size());
  int max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const int id = r.id(it.value(), "model.vocab[\"" + it.key() + "\"]");
    entries.emplace_back(it.key(), id);
    max_id = std::max(max_id, id);
  }
  const json& added = r.array(j, "added_tokens", "tokenizer");
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    if (!added[i].is_object()) r.fail(where + " is not an object");
    auto it = added[i].find("id");
    if (it == added[i].end()) r.fail(where + ".id is missing");
    max_id = std::max(max_id, r.id(*it, where + ".id"));
  }
  if (max_id < 0) r.fail("model.vocab is empty");
  // The table is as long as the largest id: ids far beyond the tokens the file names would
  // allocate a table no file size bounds (issue 21). Gaps are allowed up to twice the count.
  const size_t named_tokens = entries.size() + added.size();
  if (static_cast<size_t>(max_id) >= 2 * named_tokens + 1024)
    r.fail("token id " + std::to_string(max_id) + " is far beyond the " +
           std::to_string(named_tokens) +
           " tokens model.vocab and added_tokens name: a table of that many would need " +
           std::to_string((static_cast<size_t>(max_id) + 1) * (sizeof(std::string) + 1)) +
           " bytes");

  const size_t n = static_cast<size_t>(max_id) + 1;
  spec.pieces.assign(n, "");
  spec.types.assign(n, TokenType::Unused);  // ids no entry names stay unused
  std::vector<bool> named(n, false);
  for (auto& [piece, id] : entries) {
    if (named[id] && spec.pieces[id] != piece)
      r.fail("model.vocab gives id " + std::to_string(id) + " to both '" + spec.pieces[id] +
             "' and '" + piece + "'");
    spec.pieces[id] = std::move(piece);
    spec.types[id] = TokenType::Normal;
    named[id] = true;
  }
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    const json& a = added[i];
    const int id = r.id(a["id"], where + ".id");
    std::string content = r.string(a, "content", where);
    if (content.empty()) r.fail(where + ".content is empty");
    if (named[id] && spec.pieces[id] != content)
      r.fail(where + " '" + content + "' has id " + std::to_string(id) + ", which is '" +
             spec.pieces[id] + "' in model.vocab");
    const bool special = r.boolean(a, "special", false, where);
    spec.pieces[id] = std::move(content);
    spec.types[id] = special ? TokenType::Control : TokenType::UserDefined;
    named[id] = true;
    spec.added.push_back(
        {id, special, r.boolean(a, "lstrip", false, where), r.boolean(a, "rstrip", false, where)});
  }

  // Merges.
  const json& merges = r.array(model, "merges", "model");
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    const std::string where = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {  // "a b" (tokenizers < 0.20)
      const auto& s = m.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        r.fail(where + " '" + s + "' is not two tokens separated by one space");
      spec.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      r.fail(where + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }

  spec.byte_fallback = r.boolean(model, "byte_fallback", false, "model");
  spec.fuse_unk = r.boolean(model, "fuse_unk", false, "model");
  spec.ignore_merges = r.boolean(model, "ignore_merges", false, "model");

  // Name -> id over the whole vocabulary (the first id of a duplicate text wins).
  std::unordered_map<std::string, int> by_name;
  by_name.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (named[i]) by_name.emplace(spec.pieces[i], static_cast<int>(i));
  auto lookup = [&](const std::string& piece) {
    auto it = by_name.find(piece);
    return it == by_name.end() ? -1 : it->second;
  };
  if (const std::string unk = r.opt_string(model, "unk_token", "model"); !unk.empty()) {
    spec.unk_id = lookup(unk);
    if (spec.unk_id >= 0 && spec.types[spec.unk_id] == TokenType::Normal)
      spec.types[spec.unk_id] = TokenType::Unknown;
  }
  if (spec.byte_fallback)
    for (size_t i = 0; i < n; ++i) {
      const std::string& p = spec.pieces[i];
      if (spec.types[i] == TokenType::Normal && p.size() == 6 && p.starts_with("<0x") &&
          p[5] == '>')
        spec.types[i] = TokenType::Byte;
    }

  // Pipeline.
  if (auto it = j.find("normalizer"); it != j.end())
    read_normalizer(r, *it, "normalizer", spec.normalizer);
  if (auto it = j.find("pre_tokenizer"); it != j.end())
    read_pretokenizer(r, *it, "pre_tokenizer", spec.pretokenizer);
  bool seen_byte_level = false;
  for (const auto& step : spec.pretokenizer.steps()) {
    if (step.kind == bpe::PreTokenizer::Step::Kind::ByteLevel) {
      seen_byte_level = true;
    } else if (seen_byte_level) {
      r.fail("pre_tokenizer: a Split or Metaspace after ByteLevel is not supported");
    }
  }
  spec.byte_level = seen_byte_level;

  int bos = -1;
  std::string bos_name;
  if (auto it = j.find("post_processor"); it != j.end())
    bos_name = template_bos(r, *it, "post_processor", &bos);
  if (!bos_name.empty()) {
    if (bos < 0) bos = lookup(bos_name);
    if (bos < 0 || static_cast<size_t>(bos) >= n)
      r.fail("post_processor: the BOS token '" + bos_name + "' is not in the vocabulary");
    spec.bos_id = bos;
    spec.add_bos = true;
  }
  if (auto it = j.find("decoder"); it != j.end())
    spec.decode_strip_spaces = decoder_strip(r, *it, "decoder");

  if (!config_json.empty()) {
    const std::string config_name = name + " (tokenizer_config.json)";
    json config;
    try {
      config = json::parse(config_json);
    } catch (const json::parse_error& e) {
      throw InputError(config_name, std::string("not valid JSON: ") + e.what());
    }
    if (!config.is_object()) throw InputError(config_name, "the top level is not a JSON object");
    if (spec.bos_id < 0) spec.bos_id = lookup(config_token(config, "bos_token"));
    spec.eos_id = lookup(config_token(config, "eos_token"));
  }
  return spec;
}

}  // namespace

BpeSpec bpe_spec_from_tokenizer_json(std::string_view json_text, const std::string& name,
                                     std::string_view config_json) {
  const Reader r(name);
  json j;
  try {
    j = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& e) {
    r.fail(std::string("not valid JSON: ") + e.what());
  }
  try {
    return read_spec(r, j, name, config_json);
  } catch (const json::exception& e) {  // a type the helpers did not check
    r.fail(e.what());
  }
}

BpeTokenizer BpeTokenizer::from_tokenizer_json_text(std::string_view json_text,
                                                    const std::string& name,
                                                    std::string_view config_json) {
  return BpeTokenizer(bpe_spec_from_tokenizer_json(json_text, name, config_json));
}

BpeTokenizer BpeTokenizer::from_tokenizer_json(const std::string& path) {
  MappedFile file(path);
  const auto text = std::string_view(reinterpret_cast<const char*>(file.data()), file.size());
  require(!text.empty(), path, "empty file");
  const std::filesystem::path config_path =
      std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::is_regular_file(config_path, ec)) {
    MappedFile config(config_path.string());
    return from_tokenizer_json_text(
        text, path, std::string_view(reinterpret_cast<const char*>(config.data()), config.size()));
  }
  return from_tokenizer_json_text(text, path);
}

}  // namespace ss
