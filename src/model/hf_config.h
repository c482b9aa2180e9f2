#pragma once
// Typed reads of one object of a Hugging Face config.json; errors name the file and the key. A
// key whose value is null counts as absent, as transformers treats it.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/error.h"

namespace ss {

class HfConfig {
 public:
  // `where` prefixes key names in messages (e.g. "text_config.").
  HfConfig(const nlohmann::json& j, std::string file, std::string where)
      : j_(j), file_(std::move(file)), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const { throw InputError(file_, what); }
  const nlohmann::json* find(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string name(const std::string& key) const { return where_ + key; }
  const std::string& file() const { return file_; }

  // A dimension: a positive integer below 2^24.
  int dim(const std::string& key, std::optional<int> dflt = std::nullopt) const {
    const nlohmann::json* v = find(key);
    if (!v) {
      if (!dflt) fail("missing " + name(key));
      return *dflt;
    }
    if (!v->is_number_integer() || v->get<int64_t>() <= 0 || v->get<int64_t>() >= (1 << 24))
      fail(name(key) + " must be an integer in 1..16777215, got " + one_line(v->dump()));
    return static_cast<int>(v->get<int64_t>());
  }
  // A number within float range (JSON has no infinity or NaN, and nlohmann refuses 1e999; a
  // larger value would become infinite as the float the config holds), or within `max` for a
  // number that is not held as a float itself.
  double number(const std::string& key, double dflt, double max = 3.4e38) const {
    const nlohmann::json* v = find(key);
    if (!v) return dflt;
    if (!v->is_number()) fail(name(key) + " must be a number, got " + one_line(v->dump()));
    if (!(std::fabs(v->get<double>()) <= max))
      fail(name(key) + " must be a number within float range, got " + one_line(v->dump()));
    return v->get<double>();
  }
  bool flag(const std::string& key, bool dflt) const {
    const nlohmann::json* v = find(key);
    if (!v) return dflt;
    if (!v->is_boolean()) fail(name(key) + " must be true or false, got " + one_line(v->dump()));
    return v->get<bool>();
  }
  std::string string(const std::string& key, const std::string& dflt) const {
    const nlohmann::json* v = find(key);
    if (!v) return dflt;
    if (!v->is_string()) fail(name(key) + " must be a string, got " + one_line(v->dump()));
    return v->get<std::string>();
  }

 private:
  const nlohmann::json& j_;
  std::string file_, where_;
};

// The shortest decimal that reads back as the same float, as a JSON number.
inline nlohmann::json hf_float(float f) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

}  // namespace ss
