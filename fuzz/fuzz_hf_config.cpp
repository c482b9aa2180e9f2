// libFuzzer target for Hugging Face model folders: config.json, safetensors headers and the
// model they make. As fuzz_model, the input is a list of choices applied to a small synthesized
// model of one architecture of the registry (each with Hugging Face folders: hf_write_type),
// written once with write_hf_model:
//   arch, flags (weight dtype, one file or two shards with an index, where the forward is split),
//   the number of tokens; up to 3 changes of the synth configuration;
//   then edits: config.json values set (numbers, strings, booleans, null, arrays, objects) at the
//   top level, in rope_scaling, text_config or quantization_config, or deleted; safetensors
//   tensors reshaped, given another dtype, renamed, added, deleted or given extreme values; index
//   entries pointed elsewhere.
// The folder is written (the safetensors header by this file, consistent offsets), loaded with
// load_model and run over a few tokens on one thread. Invariant: an InputError, or finite logits.
//
// `fuzz_hf_config --make-seeds=DIR` writes the seed corpus (fuzz/corpus/fuzz_hf_config) and exits.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/error.h"
#include "format/safetensors.h"
#include "fuzz_util.h"
#include "model/arch.h"
#include "model/hf_model.h"
#include "model/load_model.h"
#include "model/synth.h"

namespace ss {
namespace {

using fuzz::Choices;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxTensorBytes = size_t{4} << 20;
constexpr int kMaxEdits = 12;

struct StTensor {
  std::string name, dtype;  // dtype as the header names it
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

struct Folder {
  json config;
  std::vector<StTensor> tensors;
};

// Bytes per element of a safetensors dtype (the reader refuses those sinkscope does not read).
size_t element_bytes(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"U8", 1},   {"I8", 1},      {"I16", 2},
      {"I32", 4}, {"I64", 8}, {"F64", 8},  {"BOOL", 1}, {"F8_E4M3", 1}, {"U32", 4}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 1 : it->second;
}

const std::vector<std::string> kDtypes = {"F32", "F16", "BF16", "U8",      "I8", "I32",
                                          "I64", "F64", "BOOL", "F8_E4M3", "F4", "complex"};

// Weight types of the written matrices; MXFP4 keeps gpt-oss's experts as U8 blocks and scales
// (other architectures' matrices are written as F32).
const DType kWeightTypes[] = {DType::F32, DType::F16, DType::BF16, DType::MXFP4};

std::vector<const ArchSpec*> hf_archs() {
  std::vector<const ArchSpec*> out;
  for (const ArchSpec* a : arch_specs())
    if (a->hf_write_type) out.push_back(a);
  return out;
}

ModelConfig tiny_config(const ArchSpec& a) {
  ModelConfig c = synth_shape(a.name, "tiny");
  c.vocab_size = 64;
  apply_arch(c);
  return c;
}

// The folder write_hf_model writes for the model, read back into parts.
Folder synthesize(const ModelConfig& c, DType weight_type) {
  const bool mxfp4 = weight_type == DType::MXFP4;
  const Model m = make_random_model(c, 1, mxfp4 ? DType::MXFP4 : DType::F32, arch_of(c).synth_tied);
  HfWriteOptions o;
  if (!mxfp4) o.weight_type = weight_type;
  const std::string dir = fuzz::scratch_dir() + "/base";
  write_hf_model(m, dir, o);
  Folder f;
  std::ifstream in(dir + "/config.json");
  f.config = json::parse(in);
  SafetensorsFile st(dir + "/model.safetensors");
  for (const SafetensorsTensor& t : st.tensors())
    f.tensors.push_back({t.name, t.u8 ? "U8" : safetensors_dtype_name(t.type), t.shape,
                         std::vector<uint8_t>(t.data, t.data + t.nbytes())});
  return f;
}

const Folder& base_folder(size_t arch, size_t type) {
  static std::map<std::pair<size_t, size_t>, Folder> made;
  const auto key = std::make_pair(arch, type);
  if (auto it = made.find(key); it != made.end()) return it->second;
  return made[key] = synthesize(tiny_config(*hf_archs()[arch]), kWeightTypes[type]);
}

// config.json keys worth setting: every key of every architecture's base config, and keys only
// some configs have.
const std::vector<std::string>& candidate_keys() {
  static const std::vector<std::string> keys = [] {
    std::set<std::string> s = {"rope_scaling",
                               "text_config",
                               "head_dim",
                               "sliding_window",
                               "layer_types",
                               "use_sliding_window",
                               "attention_bias",
                               "mlp_bias",
                               "hidden_act",
                               "hidden_activation",
                               "query_pre_attn_scalar",
                               "partial_rotary_factor",
                               "rotary_pct",
                               "rotary_emb_base",
                               "sliding_window_pattern",
                               "rope_local_base_freq",
                               "final_logit_softcapping",
                               "attn_logit_softcapping",
                               "use_parallel_residual",
                               "num_key_value_heads",
                               "vocab_size",
                               "max_position_embeddings",
                               "tie_word_embeddings",
                               "quantization_config",
                               "swiglu_limit",
                               "num_local_experts",
                               "num_experts_per_tok",
                               "experts_per_token",
                               "original_max_position_embeddings",
                               "rope_type",
                               "type",
                               "factor",
                               "low_freq_factor",
                               "high_freq_factor",
                               "short_factor",
                               "long_factor",
                               "beta_fast",
                               "beta_slow",
                               "truncate",
                               "attention_factor",
                               "mscale",
                               "mscale_all_dim",
                               "quant_method",
                               "modules_to_not_convert",
                               "model_type",
                               "n_inner",
                               "layer_norm_epsilon",
                               "layer_norm_eps",
                               "rms_norm_eps",
                               "activation_function"};
    for (size_t a = 0; a < hf_archs().size(); ++a)
      for (const auto& [key, value] : base_folder(a, 0).config.items()) s.insert(key);
    return std::vector<std::string>(s.begin(), s.end());
  }();
  return keys;
}

std::string pick_string(Choices& ch) {
  static const std::vector<std::string> strings = [] {
    std::vector<std::string> s = {"",
                                  "default",
                                  "linear",
                                  "llama3",
                                  "yarn",
                                  "longrope",
                                  "su",
                                  "dynamic",
                                  "mxfp4",
                                  "float32",
                                  "sliding_attention",
                                  "full_attention",
                                  "gelu",
                                  "silu",
                                  "gelu_new",
                                  "gelu_pytorch_tanh",
                                  "relu",
                                  "\xff\n",
                                  std::string(300, 'x')};
    for (const ArchSpec* a : arch_specs()) {
      for (const std::string& t : a->hf_model_types) s.push_back(t);
      if (a->hf_act) s.push_back(a->hf_act);
      if (a->hf_multimodal_type) s.push_back(a->hf_multimodal_type);
    }
    return s;
  }();
  return strings[ch.pick(strings.size())];
}

// A JSON value for a key that was orig.
json pick_value(Choices& ch, const json* orig) {
  const double o = orig && orig->is_number() ? orig->get<double>() : 1.0;
  switch (ch.u8() % 10) {
    case 0:
    case 1:
      return fuzz::pick_int(ch, fuzz::saturate(o));
    case 2: {
      const double v = fuzz::pick_float(ch, o);
      return std::isfinite(v) ? json(v) : json(nullptr);
    }
    case 3:
      return pick_string(ch);
    case 4:
      return static_cast<bool>(ch.u8() & 1);
    case 5:
      return nullptr;
    case 6: {  // numbers, e.g. longrope factors
      json a = json::array();
      const double x = fuzz::pick_float(ch, 1.0);
      for (int n = ch.u8() % 40; n > 0; --n) a.push_back(std::isfinite(x) ? json(x) : json(1.5));
      return a;
    }
    case 7: {  // layer types
      json a = json::array();
      const uint8_t bits = ch.u8();
      for (int n = ch.u8() % 9; n > 0; --n)
        a.push_back(bits >> (n % 8) & 1 ? "full_attention" : "sliding_attention");
      return a;
    }
    case 8:
      return json::object();
    default:
      return orig && orig->is_number() ? json(o * 2 + 1) : json("x");
  }
}

// The object an edit goes to: the top level, rope_scaling, text_config or quantization_config
// (made an object when it is not one).
json& container(Choices& ch, json& config) {
  const uint8_t which = ch.u8() % 4;
  if (which == 0) return config;
  const char* key = which == 1   ? "rope_scaling"
                    : which == 2 ? "text_config"
                                 : "quantization_config";
  json& c = config[key];
  if (!c.is_object()) c = json::object();
  return c;
}

// ---- tensors ----

std::optional<size_t> tensor_bytes(const std::string& dtype, const std::vector<int64_t>& shape) {
  uint64_t n = element_bytes(dtype);
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return std::nullopt;
  if (n > kMaxTensorBytes) return std::nullopt;
  return static_cast<size_t>(n);
}

void refill(std::vector<uint8_t>& bytes, size_t n) {
  if (bytes.empty()) bytes.assign(1, 0x3c);
  const size_t old = bytes.size();
  bytes.resize(n);
  for (size_t i = old; i < n; ++i) bytes[i] = bytes[i % old];
}

void reshape(StTensor& t, std::string dtype, std::vector<int64_t> shape) {
  const auto bytes = tensor_bytes(dtype, shape);
  if (!bytes) return;
  t.dtype = std::move(dtype);
  t.shape = std::move(shape);
  refill(t.bytes, *bytes);
}

void edit_shape(Choices& ch, StTensor& t) {
  std::vector<int64_t> s = t.shape;
  if (s.empty()) s.push_back(1);
  int64_t& d = s[ch.pick(s.size())];
  switch (ch.u8() % 12) {
    case 0:
      ++d;
      break;
    case 1:
      --d;
      break;
    case 2:
      d *= 2;
      break;
    case 3:
      d /= 2;
      break;
    case 4:
      d = 0;
      break;
    case 5:
      d = 1;
      break;
    case 6:
      s.insert(s.begin(), 1);
      break;
    case 7:
      s.push_back(2);
      break;
    case 8:
      s.pop_back();
      break;  // a scalar when it was 1-D
    case 9:
      if (s.size() > 1) std::swap(s[0], s[1]);
      break;
    case 10:
      d = ch.u16();
      break;
    default:
      d = -static_cast<int64_t>(ch.u8());
      break;
  }
  reshape(t, t.dtype, std::move(s));
}

// Another name for a tensor: one of the folder's, with its layer index changed, or its prefix.
std::string other_name(Choices& ch, const Folder& f, const std::string& name) {
  std::string n = f.tensors[ch.pick(f.tensors.size())].name;
  switch (ch.u8() % 5) {
    case 0:
      return n;  // a duplicate: refused by the reader
    case 1: {
      const size_t dot = name.find(".layers.") != std::string::npos ? name.find(".layers.") + 8
                         : name.find(".h.") != std::string::npos    ? name.find(".h.") + 3
                                                                    : std::string::npos;
      if (dot == std::string::npos) return name + ".x";
      const size_t end = name.find('.', dot);
      return name.substr(0, dot) + std::to_string(ch.u8() % 8) + name.substr(end);
    }
    case 2:
      return name.substr(name.find('.') + 1);
    case 3:
      return "language_model." + name;
    default:
      return name + "_blocks";
  }
}

void poke(Choices& ch, StTensor& t) {
  if (t.bytes.empty()) return;
  if (t.dtype == "F32" && t.bytes.size() >= 4) {
    const float v = static_cast<float>(fuzz::pick_float(ch, 1.0));
    std::memcpy(t.bytes.data() + 4 * (ch.u32() % (t.bytes.size() / 4)), &v, 4);
  } else if ((t.dtype == "F16" || t.dtype == "BF16") && t.bytes.size() >= 2) {
    static const uint16_t bits[] = {0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x7f80, 0xff80, 0x7fc0, 0x7f7f};
    const uint16_t v = ch.u8() % 2 ? bits[ch.u8() % 8] : ch.u16();
    std::memcpy(t.bytes.data() + 2 * (ch.u32() % (t.bytes.size() / 2)), &v, 2);
  } else {
    t.bytes[ch.u32() % t.bytes.size()] = ch.u8();
  }
}

// ---- writing ----

// A safetensors file of these tensors, laid out in order with consistent offsets.
void write_safetensors(const std::string& path, const std::vector<const StTensor*>& tensors) {
  json header = json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const StTensor* t : tensors) {
    header[t->name] = {{"dtype", t->dtype},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->bytes.size()}}};
    offset += t->bytes.size();
  }
  std::string text = header.dump(-1, ' ', false, json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << text;
  for (const StTensor* t : tensors)
    out.write(reinterpret_cast<const char*>(t->bytes.data()),
              static_cast<std::streamsize>(t->bytes.size()));
}

void run(const uint8_t* data, size_t size) {
  Choices ch(data, size);
  const std::vector<const ArchSpec*> archs = hf_archs();
  const size_t arch = ch.pick(archs.size());
  const uint8_t flags = ch.u8();
  const size_t type = flags & 3;
  const bool sharded = flags & 4;
  const size_t split = flags >> 5;
  const size_t n_tokens = 1 + ch.u8() % 8;

  Folder f;
  if (const int tweaks = ch.u8() % 4; tweaks == 0) {
    f = base_folder(arch, type);
  } else {
    ModelConfig c = tiny_config(*archs[arch]);
    for (int k = 0; k < tweaks; ++k) fuzz::tweak_config(ch, c);
    c.query_scale = 0;  // the architecture's, for the new head size
    apply_arch(c);
    try {
      f = synthesize(c, kWeightTypes[type]);
    } catch (const InputError&) {
      return;  // not a consistent model, or not one Hugging Face folders hold
    } catch (const std::invalid_argument&) {
      return;  // MXFP4 rows not made of whole blocks
    }
  }

  // weight_map edits of a sharded folder: tensor name -> the file named.
  std::map<std::string, json> index_edits;
  for (int e = 0; e < kMaxEdits && !ch.empty(); ++e) {
    const uint8_t op = ch.u8() % 10;
    if (op <= 2) {  // config.json
      json& obj = container(ch, f.config);
      std::vector<std::string> keys;
      for (const auto& [key, value] : obj.items()) keys.push_back(key);
      for (const std::string& k : candidate_keys()) keys.push_back(k);
      const std::string key = keys[ch.pick(keys.size())];
      if (op == 2) {
        obj.erase(key);
      } else {
        const json* orig = obj.contains(key) ? &obj[key] : nullptr;
        json v = pick_value(ch, orig);
        obj[key] = std::move(v);
      }
      continue;
    }
    if (f.tensors.empty()) continue;
    const size_t ti = ch.pick(f.tensors.size());
    StTensor& t = f.tensors[ti];
    switch (op) {
      case 3:
      case 4:
        edit_shape(ch, t);
        break;
      case 5:
        reshape(t, kDtypes[ch.pick(kDtypes.size())], t.shape);
        break;
      case 6:
        f.tensors.erase(f.tensors.begin() + static_cast<std::ptrdiff_t>(ti));
        break;
      case 7:
        t.name = other_name(ch, f, t.name);
        break;
      case 8: {
        StTensor copy = t;
        copy.name = other_name(ch, f, t.name);
        f.tensors.push_back(std::move(copy));
        break;
      }
      default:
        if (sharded && ch.u8() % 2) {
          static const json targets[] = {"model-00001-of-00002.safetensors",
                                         "model-00002-of-00002.safetensors",
                                         "missing.safetensors",
                                         "../model.safetensors",
                                         "",
                                         3};
          index_edits[t.name] = targets[ch.u8() % 6];
        } else {
          poke(ch, t);
        }
        break;
    }
  }

  const std::string dir = fuzz::scratch_dir() + "/model";
  fs::create_directories(dir);
  std::error_code ec;
  for (const char* stale : {"model.safetensors", "model.safetensors.index.json",
                            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
    fs::remove(dir + "/" + stale, ec);
  std::ofstream(dir + "/config.json")
      << f.config.dump(2, ' ', false, json::error_handler_t::replace);
  std::vector<const StTensor*> all;
  for (const StTensor& t : f.tensors) all.push_back(&t);
  if (!sharded) {
    write_safetensors(dir + "/model.safetensors", all);
  } else {
    const size_t half = all.size() / 2;
    const std::vector<const StTensor*> first(all.begin(), all.begin() + half),
        second(all.begin() + half, all.end());
    write_safetensors(dir + "/model-00001-of-00002.safetensors", first);
    write_safetensors(dir + "/model-00002-of-00002.safetensors", second);
    json map = json::object();
    for (size_t k = 0; k < all.size(); ++k)
      map[all[k]->name] =
          k < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    for (const auto& [name, target] : index_edits) map[name] = target;
    std::ofstream(dir + "/model.safetensors.index.json")
        << json{{"metadata", json::object()}, {"weight_map", map}}.dump(
               -1, ' ', false, json::error_handler_t::replace);
  }

  // SINKSCOPE_FUZZ_KEEP=DIR keeps the folder a reproducer writes, for a regression test.
  if (const char* keep = std::getenv("SINKSCOPE_FUZZ_KEEP"))
    fs::copy(dir, keep, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  try {
    const Model m = load_model(dir);
    std::vector<int> ids;
    for (size_t i = 0; i < n_tokens; ++i)
      ids.push_back(static_cast<int>((1 + 37 * i) % static_cast<size_t>(m.config.vocab_size)));
    fuzz::checked_forward(m, ids, split);
    fuzz::verbose("finite logits");
  } catch (const InputError& e) {
    fuzz::verbose(std::string("InputError: ") + e.what());
  }
}

// Seeds: each architecture unmutated in each weight type, sharded, and with a few edits.
void make_seeds(const std::string& dir) {
  auto seed = [&](const std::string& name, std::vector<uint8_t> bytes) {
    fuzz::write_seed(dir, name, std::string(bytes.begin(), bytes.end()));
  };
  const std::vector<const ArchSpec*> archs = hf_archs();
  for (size_t a = 0; a < archs.size(); ++a) {
    const std::string arch = archs[a]->name;
    const uint8_t A = static_cast<uint8_t>(a);
    for (uint8_t type = 0; type < 4; ++type)
      seed(arch + "-type" + std::to_string(type), {A, static_cast<uint8_t>(type | 0x40), 5, 0});
    seed(arch + "-sharded", {A, 4, 4, 0});
    seed(arch + "-tweaked", {A, 0x20, 7, 2, 1, 2, 3, 5});       // 2 heads, 4 layers
    seed(arch + "-rope-scaling", {A, 0, 4, 0, 0, 1, 0, 0, 3});  // a string in rope_scaling
    seed(arch + "-shape", {A, 0, 4, 0, 3, 2, 0, 0});            // a tensor one longer
  }
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
