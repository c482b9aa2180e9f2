// libFuzzer target for the step from GGUF metadata and tensors to a running model. The input is
// not a file but a list of choices applied to a small synthesized GGUF model of one architecture
// of the registry (arch_specs(): every architecture, including ones added later):
//   arch, flags (weight dtype, SentencePiece or byte-level BPE vocabulary, token ids from the
//   file's tokenizer or fixed ones, where the forward is split, whether the loaded model is also
//   converted to a Hugging Face folder and run from there), the number of tokens;
//   up to 3 changes of the synth configuration (a consistent model of unusual shape);
//   then edits of the written file: metadata values set, retyped, deleted, arrays cut or grown,
//   tensors reshaped, retyped, renamed, added, deleted or given NaN / extreme values.
// The result is written with GgufWriter, loaded with load_model and its tokenizer, and run over
// a few tokens on one thread. Invariant: an InputError, or finite logits of the right size.
// Anything else (a crash, another exception, a sanitizer report, a hang) is a bug.
//
// `fuzz_model --make-seeds=DIR` writes the seed corpus (fuzz/corpus/fuzz_model) and exits.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "fuzz_util.h"
#include "model/arch.h"
#include "model/hf_model.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "ops/dequant.h"
#include "tokenizer/tokenizer.h"

namespace ss {
namespace {

using fuzz::Choices;
using fuzz::pick_float;
using fuzz::pick_int;

constexpr size_t kMaxTensorBytes = size_t{4} << 20;
constexpr size_t kMaxFileBytes = size_t{24} << 20;
constexpr int kMaxEdits = 12;

struct TensorDesc {
  std::string name;
  DType type = DType::F32;
  std::vector<uint64_t> ne;
  std::vector<uint8_t> bytes;
};

// A GGUF file as editable parts.
struct GgufDesc {
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::vector<TensorDesc> tensors;
};

// ---- the unmutated models ----

// Weight types of the synthesized matrices (tiny shapes: rows of 16 to 128 values, so only the
// types with blocks of 32 or less fit; others fall back to F32).
const DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                              DType::Q4_0, DType::Q5_1, DType::MXFP4};

GgufMetadata tokenizer_keys(bool bpe) {
  if (!bpe) return vocab_metadata(fuzz::small_spm_vocab());
  const fuzz::SmallBpe v = fuzz::small_bpe_vocab();
  const uint32_t eot = static_cast<uint32_t>(v.tokens.size() - 1);
  return {
      {"tokenizer.ggml.model", GgufValue::of_string("gpt2")},
      {"tokenizer.ggml.pre", GgufValue::of_string("gpt-2")},
      {"tokenizer.ggml.tokens", GgufValue::of_strings(v.tokens)},
      {"tokenizer.ggml.token_type", GgufValue::of_i32s(v.types)},
      {"tokenizer.ggml.merges", GgufValue::of_strings(v.merges)},
      {"tokenizer.ggml.bos_token_id", GgufValue::of_u32(eot)},
      {"tokenizer.ggml.eos_token_id", GgufValue::of_u32(eot)},
      {"tokenizer.ggml.add_bos_token", GgufValue::of_bool(false)},
  };
}

int vocab_size(bool bpe) {
  return bpe ? static_cast<int>(fuzz::small_bpe_vocab().tokens.size())
             : static_cast<int>(fuzz::small_spm_vocab().size());
}

// The model written by write_model_gguf and read back into parts.
GgufDesc describe(const Model& m, bool bpe, DType weight_type) {
  const std::string path = fuzz::scratch_dir() + "/base.gguf";
  write_model_gguf(m, tokenizer_keys(bpe), path, weight_type, "fuzz");
  GgufFile g(path);
  GgufDesc d;
  for (const auto& [key, value] : g.metadata()) d.kv.emplace_back(key, value);
  for (const GgufTensor& t : g.tensors())
    d.tensors.push_back({t.name, t.type, t.ne, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  return d;
}

GgufDesc synthesize(const ModelConfig& c, bool bpe, DType weight_type) {
  const Model m = make_random_model(c, 1, DType::F32, arch_of(c).synth_tied);
  return describe(m, bpe, weight_type);
}

ModelConfig tiny_config(const ArchSpec& a, bool bpe) {
  ModelConfig c = synth_shape(a.name, "tiny");
  c.vocab_size = vocab_size(bpe);
  apply_arch(c);
  return c;
}

// The unmutated model of (arch, vocabulary, weight type), made once. A weight type the tiny shape
// cannot hold is replaced by F32.
const GgufDesc& base_model(size_t arch, bool bpe, size_t type) {
  static std::map<std::tuple<size_t, bool, size_t>, GgufDesc> made;
  const auto key = std::make_tuple(arch, bpe, type);
  if (auto it = made.find(key); it != made.end()) return it->second;
  const ModelConfig c = tiny_config(*arch_specs()[arch], bpe);
  GgufDesc d;
  try {
    d = synthesize(c, bpe, kWeightTypes[type]);
  } catch (const std::invalid_argument&) {  // rows not a multiple of the type's block
    if (type == 0) throw;
    d = base_model(arch, bpe, 0);
  }
  return made[key] = std::move(d);
}

// Metadata keys worth setting: those of every architecture's base file (with this one's prefix)
// and keys that only some files have.
std::vector<std::string> candidate_keys(const std::string& arch) {
  static const std::vector<std::string> suffixes = [] {
    std::set<std::string> s = {"attention.key_length",
                               "attention.value_length",
                               "rope.dimension_count",
                               "rope.scaling.type",
                               "rope.scaling.factor",
                               "rope.scaling.original_context_length",
                               "rope.scaling.yarn_beta_fast",
                               "rope.scaling.yarn_beta_slow",
                               "rope.scaling.attn_factor",
                               "attention.sliding_window",
                               "rope.freq_base_swa",
                               "final_logit_softcapping",
                               "attn_logit_softcapping",
                               "expert_count",
                               "expert_used_count",
                               "expert_feed_forward_length",
                               "feed_forward_length",
                               "attention.layer_norm_epsilon",
                               "attention.layer_norm_rms_epsilon",
                               "use_parallel_residual"};
    for (size_t a = 0; a < arch_specs().size(); ++a) {
      const std::string prefix = std::string(arch_specs()[a]->name) + ".";
      for (const auto& [key, value] : base_model(a, false, 0).kv)
        if (key.rfind(prefix, 0) == 0) s.insert(key.substr(prefix.size()));
    }
    return std::vector<std::string>(s.begin(), s.end());
  }();
  std::vector<std::string> keys;
  for (const std::string& s : suffixes) keys.push_back(arch + "." + s);
  for (const char* k :
       {"general.architecture", "general.alignment", "general.name", "sinkscope.query_scale",
        "sinkscope.rope.scaling.yarn_truncate", "tokenizer.ggml.model", "tokenizer.ggml.pre",
        "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
        "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_space_prefix"})
    keys.push_back(k);
  return keys;
}

// ---- values ----

// An integer value of a width the choices say (the writer refuses one that does not fit).
GgufValue int_value(Choices& ch, int64_t v) {
  GgufValue r;
  r.i = v;
  r.u = static_cast<uint64_t>(v);
  const bool neg = v < 0;
  switch (ch.u8() % 6) {
    case 0:
      r.type = neg ? (v >= INT32_MIN ? GgufType::INT32 : GgufType::INT64)
                   : (v <= UINT32_MAX ? GgufType::UINT32 : GgufType::UINT64);
      break;
    case 1:
      r.type = neg ? GgufType::INT64 : GgufType::UINT64;
      break;
    case 2:
      r.type = v >= -128 && v <= 127 ? GgufType::INT8 : GgufType::INT64;
      break;
    case 3:
      r.type = !neg && v <= 65535 ? GgufType::UINT16 : GgufType::INT64;
      break;
    case 4:  // an integer key holding a float
      r.type = GgufType::FLOAT32;
      r.f = static_cast<double>(v);
      break;
    default:  // the largest unsigned 64-bit value
      r.type = GgufType::UINT64;
      r.u = std::numeric_limits<uint64_t>::max();
      r.i = -1;
      break;
  }
  return r;
}

std::string pick_string(Choices& ch) {
  static const std::vector<std::string> strings = [] {
    std::vector<std::string> s = {"",      "linear",     "yarn",  "none", "longrope",
                                  "llama", "gpt2",       "gpt-2", "mpt",  "llama-bpe",
                                  "qwen2", "gpt-4o",     "bert",  "t5",   "\xff\xfe\n\x01",
                                  "phi3",  "Phi-3 mini", "<unk>", " ",    std::string(300, 'x')};
    for (const ArchSpec* a : arch_specs()) s.push_back(a->name);
    return s;
  }();
  return strings[ch.pick(strings.size())];
}

double as_double(const GgufValue& v) {
  if (v.type == GgufType::FLOAT32 || v.type == GgufType::FLOAT64) return v.f;
  if (v.is_integer())
    return v.type == GgufType::UINT64 || v.type == GgufType::UINT32 || v.type == GgufType::UINT16 ||
                   v.type == GgufType::UINT8
               ? static_cast<double>(v.u)
               : static_cast<double>(v.i);
  return 1;
}

GgufValue float_value(Choices& ch, double orig) {
  GgufValue r;
  r.type = ch.u8() % 2 ? GgufType::FLOAT64 : GgufType::FLOAT32;
  r.f = pick_float(ch, orig);
  return r;
}

// A scalar of the array's element type, or a string for an array of arrays.
GgufValue element_value(Choices& ch, const GgufValue& arr) {
  const GgufValue* like = arr.arr.empty() ? nullptr : &arr.arr[ch.pick(arr.arr.size())];
  const double orig = like ? as_double(*like) : 0;
  GgufValue r;
  switch (arr.elem_type) {
    case GgufType::STRING:
      return GgufValue::of_string(pick_string(ch));
    case GgufType::FLOAT32:
    case GgufType::FLOAT64:
      r = float_value(ch, orig);
      r.type = arr.elem_type;
      return r;
    case GgufType::BOOL:
      return GgufValue::of_bool(ch.u8() & 1);
    case GgufType::ARRAY:
      return like ? *like : GgufValue::of_i32s({1});
    default: {
      const int64_t v = pick_int(ch, fuzz::saturate(orig));
      r.type = arr.elem_type;
      r.i = v;
      r.u = static_cast<uint64_t>(v);
      return r;
    }
  }
}

void edit_array(Choices& ch, GgufValue& v) {
  if (v.type != GgufType::ARRAY) {  // a scalar key given an array
    v = GgufValue::of_i32s({static_cast<int32_t>(ch.u8()), 3});
    return;
  }
  const size_t n = v.arr.size();
  switch (ch.u8() % 6) {
    case 0:
      v.arr.resize(ch.pick(n + 1));
      break;
    case 1: {
      const GgufValue last = n ? v.arr.back() : element_value(ch, v);
      for (int k = 1 + ch.u8() % 4; k > 0; --k) v.arr.push_back(last);
      break;
    }
    case 2:
      if (n) v.arr[ch.pick(n)] = element_value(ch, v);
      break;
    case 3:
      v.arr.clear();
      break;
    case 4: {  // the same length, another element type
      GgufValue r;
      r.type = GgufType::ARRAY;
      const int kind = ch.u8() % 3;
      r.elem_type = kind == 0 ? GgufType::INT32 : kind == 1 ? GgufType::FLOAT32 : GgufType::STRING;
      for (size_t i = 0; i < n; ++i) {
        GgufValue e;
        e.type = r.elem_type;
        e.i = static_cast<int64_t>(i);
        e.u = i;
        e.f = static_cast<double>(i);
        e.s = std::to_string(i);
        r.arr.push_back(e);
      }
      v = r;
      break;
    }
    default: {  // an array of arrays
      GgufValue r;
      r.type = GgufType::ARRAY;
      r.elem_type = GgufType::ARRAY;
      r.arr.push_back(v);
      v = r;
      break;
    }
  }
}

// ---- tensors ----

// Bytes of a tensor of this type and shape, or nullopt when the writer could not hold it (no
// dimension, more than 4, rows not made of whole blocks) or it is too large for a fast run.
std::optional<size_t> tensor_bytes(DType type, const std::vector<uint64_t>& ne) {
  const auto info = dtype_info(static_cast<uint32_t>(type));
  if (!info || ne.empty() || ne.size() > 4 || ne[0] % info->block_elems != 0) return std::nullopt;
  uint64_t n = 1;
  for (uint64_t d : ne)
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  const uint64_t bytes = n / info->block_elems * info->block_bytes;
  if (bytes > kMaxTensorBytes) return std::nullopt;
  return static_cast<size_t>(bytes);
}

// Resizes the data to n bytes, repeating the old bytes (finite values stay finite for F32).
void refill(std::vector<uint8_t>& bytes, size_t n) {
  if (bytes.empty()) bytes.assign(1, 0x3c);
  const size_t old = bytes.size();
  bytes.resize(n);
  for (size_t i = old; i < n; ++i) bytes[i] = bytes[i % old];
}

// Sets the tensor's shape and type when a file can hold them; else leaves it as it was.
void reshape(TensorDesc& t, DType type, std::vector<uint64_t> ne) {
  const auto bytes = tensor_bytes(type, ne);
  if (!bytes) return;
  t.type = type;
  t.ne = std::move(ne);
  refill(t.bytes, *bytes);
}

void edit_shape(Choices& ch, TensorDesc& t) {
  std::vector<uint64_t> ne = t.ne;
  uint64_t& d = ne[ch.pick(ne.size())];
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
      ne.push_back(1);
      break;
    case 7:
      ne.push_back(2);
      break;
    case 8:
      if (ne.size() > 1) ne.pop_back();
      break;
    case 9:
      if (ne.size() > 1) std::swap(ne[0], ne[1]);
      break;
    case 10:
      d = ch.u16();
      break;
    default:
      d = ch.u8();
      break;
  }
  reshape(t, t.type, std::move(ne));
}

const std::vector<DType>& all_types() {
  static const std::vector<DType> types = [] {
    std::vector<DType> out;
    for (uint32_t id = 0; id < 64; ++id)
      if (dtype_info(id)) out.push_back(static_cast<DType>(id));
    return out;
  }();
  return types;
}

// Tensor names a file of this architecture may hold.
std::vector<std::string> candidate_names(const ArchSpec& a, int n_layers) {
  std::vector<std::string> names = {"token_embd.weight", "output.weight", "output_norm.weight"};
  for (const GlobalSlot& s : global_slots()) names.push_back(s.gguf_name);
  for (int l = 0; l <= n_layers; ++l)
    for (const LayerSlot& s : layer_slots())
      if (gguf_slot_name(s, a))
        names.push_back("blk." + std::to_string(l) + "." + gguf_slot_name(s, a));
  for (int l = 0; l < n_layers; ++l) {
    names.push_back("blk." + std::to_string(l) + ".attn_qkv.weight");
    names.push_back("blk." + std::to_string(l) + ".attn_qkv.bias");
  }
  return names;
}

void poke(Choices& ch, TensorDesc& t) {
  if (t.bytes.empty()) return;
  if (t.type == DType::F32) {
    const size_t n = t.bytes.size() / 4;
    const float v = static_cast<float>(pick_float(ch, 1.0));
    std::memcpy(t.bytes.data() + 4 * (ch.u32() % n), &v, 4);
  } else if (t.type == DType::F16 || t.type == DType::BF16) {
    static const uint16_t bits[] = {0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x7f80, 0xff80, 0x7fc0, 0x7f7f};
    const size_t n = t.bytes.size() / 2;
    const uint16_t v = ch.u8() % 2 ? bits[ch.u8() % 8] : ch.u16();
    std::memcpy(t.bytes.data() + 2 * (ch.u32() % n), &v, 2);
  } else {
    t.bytes[ch.u32() % t.bytes.size()] = ch.u8();
  }
}

// ---- one run ----

void run(const uint8_t* data, size_t size) {
  Choices ch(data, size);
  const size_t arch = ch.pick(arch_specs().size());
  const ArchSpec& spec = *arch_specs()[arch];
  const uint8_t flags = ch.u8();
  const size_t type = (flags & 7) % std::size(kWeightTypes);
  const bool bpe = flags & 8, use_tokenizer = flags & 16;
  const size_t split = (flags >> 5) & 3;
  const bool convert = flags & 0x80;
  const size_t n_tokens = 1 + ch.u8() % 8;

  GgufDesc d;
  if (const int tweaks = ch.u8() % 4; tweaks == 0) {
    d = base_model(arch, bpe, type);
  } else {
    ModelConfig c = tiny_config(spec, bpe);
    for (int k = 0; k < tweaks; ++k) fuzz::tweak_config(ch, c);
    c.query_scale = 0;  // the architecture's, for the new head size
    apply_arch(c);
    try {
      d = synthesize(c, bpe, kWeightTypes[type]);
    } catch (const InputError&) {
      return;  // not a consistent model
    } catch (const std::invalid_argument&) {
      return;  // rows not made of whole blocks of the weight type
    }
  }

  const int n_layers = static_cast<int>(tiny_config(spec, bpe).n_layers);
  for (int e = 0; e < kMaxEdits && !ch.empty(); ++e) {
    const uint8_t op = ch.u8() % 11;
    if (op <= 5) {  // metadata
      std::vector<std::string> keys;
      for (const auto& kv : d.kv) keys.push_back(kv.first);
      for (const std::string& k : candidate_keys(spec.name)) keys.push_back(k);
      const std::string key = keys[ch.pick(keys.size())];
      auto it =
          std::find_if(d.kv.begin(), d.kv.end(), [&](const auto& kv) { return kv.first == key; });
      if (it == d.kv.end()) {
        d.kv.emplace_back(key, GgufValue::of_u32(1));
        it = d.kv.end() - 1;
      }
      GgufValue& v = it->second;
      switch (op) {
        case 0:
          v = int_value(ch, pick_int(ch, fuzz::saturate(as_double(v))));
          break;
        case 1:
          v = float_value(ch, as_double(v));
          break;
        case 2:
          v = GgufValue::of_string(pick_string(ch));
          break;
        case 3:
          v = GgufValue::of_bool(ch.u8() & 1);
          break;
        case 4:
          d.kv.erase(it);
          break;
        default:
          edit_array(ch, v);
          break;
      }
      continue;
    }
    if (op == 10) {  // a tensor added, with the shape and data of another
      const std::vector<std::string> names = candidate_names(spec, n_layers);
      TensorDesc t = d.tensors.empty() ? TensorDesc{"", DType::F32, {4}, {}}
                                       : d.tensors[ch.pick(d.tensors.size())];
      t.name = names[ch.pick(names.size())];
      if (ch.u8() % 2) reshape(t, DType::F32, {static_cast<uint64_t>(1 + ch.u8())});
      if (tensor_bytes(t.type, t.ne)) {
        refill(t.bytes, *tensor_bytes(t.type, t.ne));
        d.tensors.push_back(std::move(t));
      }
      continue;
    }
    if (d.tensors.empty()) continue;
    const size_t ti = ch.pick(d.tensors.size());
    TensorDesc& t = d.tensors[ti];
    switch (op) {
      case 6:
        edit_shape(ch, t);
        break;
      case 7:
        reshape(t, all_types()[ch.pick(all_types().size())], t.ne);
        break;
      case 8:
        d.tensors.erase(d.tensors.begin() + static_cast<std::ptrdiff_t>(ti));
        break;
      case 9: {
        const std::vector<std::string> names = candidate_names(spec, n_layers);
        t.name = names[ch.pick(names.size())];
        break;
      }
      default:
        poke(ch, t);
        break;
    }
  }

  size_t total = 0;
  GgufWriter w;
  for (const auto& [key, value] : d.kv) w.set(key, value);
  for (const TensorDesc& t : d.tensors) {
    total += t.bytes.size();
    w.add_tensor(t.name, t.type, t.ne, t.bytes.data());
  }
  if (total > kMaxFileBytes) return;
  const std::string path = fuzz::scratch_dir() + "/model.gguf";
  try {
    w.write(path);
  } catch (const InputError&) {
    return;  // not a file GgufWriter writes (duplicate tensor name, value out of its type's range)
  }
  // SINKSCOPE_FUZZ_KEEP=FILE keeps the file a reproducer writes, for a regression test.
  if (const char* keep = std::getenv("SINKSCOPE_FUZZ_KEEP"))
    std::filesystem::copy_file(path, keep, std::filesystem::copy_options::overwrite_existing);

  try {
    const Model m = load_model(path);
    std::vector<int> ids;
    if (use_tokenizer) {
      const auto tok = load_text_tokenizer(path, "");
      ids = tok->encode("the cat sat in the hat, \xc3\xa9t\xc3\xa9 42", tok->add_bos());
      for (int id : ids)
        if (id < 0 || id >= m.config.vocab_size)
          fuzz::bug("the tokenizer gave id " + std::to_string(id) + " for a vocabulary of " +
                    std::to_string(m.config.vocab_size));
      if (ids.size() > n_tokens) ids.resize(n_tokens);
      if (ids.empty()) ids.push_back(0);
    } else {
      for (size_t i = 0; i < n_tokens; ++i)
        ids.push_back(static_cast<int>((1 + 37 * i) % static_cast<size_t>(m.config.vocab_size)));
    }
    fuzz::checked_forward(m, ids, split);
    fuzz::verbose("finite logits");
    if (convert && spec.hf_write_type) {  // `convert --format safetensors`, then the folder runs
      const std::string dir = fuzz::scratch_dir() + "/converted";
      write_hf_model(m, dir);
      fuzz::checked_forward(load_model(dir), ids, split);
      fuzz::verbose("finite logits from the converted folder");
    }
  } catch (const InputError& e) {
    fuzz::verbose(std::string("InputError: ") + e.what());
  }
}

// Seeds: each architecture unmutated with each vocabulary and weight type, and a few edits.
void make_seeds(const std::string& dir) {
  const size_t n = arch_specs().size();
  auto seed = [&](const std::string& name, std::vector<uint8_t> bytes) {
    fuzz::write_seed(dir, name, std::string(bytes.begin(), bytes.end()));
  };
  for (size_t a = 0; a < n; ++a) {
    const std::string arch = arch_specs()[a]->name;
    const uint8_t A = static_cast<uint8_t>(a);
    seed(arch + "-spm", {A, 0x10, 5, 0});
    seed(arch + "-bpe", {A, 0x18 | 0x40, 6, 0});
    seed(arch + "-converted", {A, 0x80 | 0x10, 5, 0});
    seed(arch + "-dtype", {A, static_cast<uint8_t>(1 + a % 6), 3, 0});
    seed(arch + "-tweaked", {A, 0x20, 7, 2, 1, 2, 3, 5});  // 2 heads, 4 layers
    seed(arch + "-float", {A, 0, 4, 0, 1, 0, 1, 2});       // a metadata key set to a float
    seed(arch + "-shape", {A, 0, 4, 0, 6, 3, 0, 0, 0});    // a tensor one wider
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
