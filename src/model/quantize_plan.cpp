#include "model/quantize_plan.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "base/error.h"

namespace ss {

const std::vector<FileType>& file_types() {
  // LLAMA_FTYPE_MOSTLY_* values of llama.cpp's include/llama.h.
  static const std::vector<FileType> types = {
      {"Q8_0", 7, DType::Q8_0},    {"Q4_0", 2, DType::Q4_0},    {"Q5_0", 8, DType::Q5_0},
      {"Q4_K_S", 14, DType::Q4_K}, {"Q4_K_M", 15, DType::Q4_K}, {"Q5_K_M", 17, DType::Q5_K},
      {"Q6_K", 18, DType::Q6_K},   {"Q2_K", 10, DType::Q2_K},   {"F16", 1, DType::F16},
      {"BF16", 32, DType::BF16},
  };
  return types;
}

const FileType* find_file_type(const std::string& name) {
  std::string upper = name;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const FileType& ft : file_types())
    if (upper == ft.name) return &ft;
  return nullptr;
}

std::string file_type_names() {
  std::string out;
  for (const FileType& ft : file_types()) out += (out.empty() ? "" : ", ") + std::string(ft.name);
  return out;
}

namespace {

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

// llama.cpp's tensor categories, told apart by name as it does (first match wins).
enum class Role { TokenEmbd, Output, AttnV, AttnK, AttnQ, AttnOut, FfnUp, FfnGate, FfnDown, Other };

Role role_of(const std::string& name) {
  if (name == "output.weight") return Role::Output;
  if (name == "token_embd.weight") return Role::TokenEmbd;
  // a fused attn_qkv counts as attn_v (more sensitive to quantization)
  if (contains(name, "attn_qkv.weight") || contains(name, "attn_v.weight")) return Role::AttnV;
  if (contains(name, "attn_k.weight")) return Role::AttnK;
  if (contains(name, "attn_q.weight")) return Role::AttnQ;
  if (contains(name, "attn_output.weight")) return Role::AttnOut;
  if (contains(name, "ffn_up")) return Role::FfnUp;
  if (contains(name, "ffn_gate")) return Role::FfnGate;
  if (contains(name, "ffn_down")) return Role::FfnDown;
  return Role::Other;
}

// Dimensions up to the last one above 1 (ggml_n_dims).
size_t n_dims(const std::vector<int64_t>& ne) {
  size_t n = 1;
  for (size_t i = 0; i < ne.size(); ++i)
    if (ne[i] > 1) n = i + 1;
  return n;
}

// Whether llama.cpp quantizes the tensor at all: 2-D and 3-D weights, but not norms, the expert
// router or learned positions (the names of sinkscope's architectures among its exclusions), nor
// sink-kv's learned key and value (f32 by definition: model/model.h).
bool quantizable(const GgufTensorInfo& t) {
  const std::string& n = t.name;
  return n_dims(t.ne) >= 2 && n.size() >= 6 && n.compare(n.size() - 6, 6, "weight") == 0 &&
         !contains(n, "_norm.weight") && !contains(n, "ffn_gate_inp.weight") &&
         !contains(n, "attn_sink_k.weight") && !contains(n, "attn_sink_v.weight") &&
         n != "position_embd.weight";
}

int layer_of(const std::string& name) {
  int layer = -1;
  std::sscanf(name.c_str(), "blk.%d.", &layer);
  return layer;
}

// The layers of the _M mixes that get more bits: the first and last eighth, and every third
// layer in between.
bool use_more_bits(int i, int n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

size_t block_of(DType t) {
  return dtype_info(static_cast<uint32_t>(t))->block_elems;
}

bool is_k_quant(DType t) {
  return t == DType::Q2_K || t == DType::Q3_K || t == DType::Q4_K || t == DType::Q5_K ||
         t == DType::Q6_K;
}

// The fallback for rows a K-quant's 256 do not divide; F16 when the fallback's 32 do not
// either.
DType fallback(DType t, int64_t cols) {
  DType f = t == DType::Q4_K   ? DType::Q5_0
            : t == DType::Q5_K ? DType::Q5_1
            : t == DType::Q6_K ? DType::Q8_0
                               : DType::Q4_0;  // Q2_K, Q3_K
  return cols % static_cast<int64_t>(block_of(f)) == 0 ? f : DType::F16;
}

}  // namespace

std::vector<PlannedTensor> quantize_plan(const FileType& ft,
                                         const std::vector<GgufTensorInfo>& tensors,
                                         const ModelConfig& c, const std::string& path) {
  const std::string f = ft.name;
  const bool tied = std::none_of(tensors.begin(), tensors.end(),
                                 [](const GgufTensorInfo& t) { return t.name == "output.weight"; });
  const int n_attn_v =
      static_cast<int>(std::count_if(tensors.begin(), tensors.end(),
                                     [](const auto& t) { return role_of(t.name) == Role::AttnV; }));
  const int gqa = c.n_kv_heads > 0 ? c.n_heads / c.n_kv_heads : 0;
  // llama.cpp's LLM_TYPE_70B (80-layer llama with grouped KV heads, 80-layer qwen2)
  const bool is_70b =
      c.n_layers == 80 && ((c.arch == "llama" && c.n_heads != c.n_kv_heads) || c.arch == "qwen2");

  // llama.cpp walks the tensors by layer (those outside layers first), then by name, counting
  // attn_v and ffn_down tensors as it goes; the count stands for the layer.
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });
  int i_attn_v = 0, i_ffn_down = 0;

  std::vector<PlannedTensor> plan(tensors.size());
  for (size_t i : order) {
    const GgufTensorInfo& t = tensors[i];
    plan[i] = {t.name, t.type, t.type};
    if (!quantizable(t)) continue;  // kept as it is
    DType q = ft.base;
    if (!is_k_quant(q) && q != DType::Q4_0 && q != DType::Q5_0 && q != DType::Q8_0) {
      plan[i] = {t.name, q, q};  // F16, BF16: no per-tensor rules
      continue;
    }
    const Role role = role_of(t.name);
    const int64_t cols = t.ne[0];
    if (role == Role::Output || (tied && role == Role::TokenEmbd)) {
      // the classifier (or the embedding that is also the classifier)
      if (cols % static_cast<int64_t>(block_of(q)) != 0)
        q = DType::Q8_0;
      else if (q != DType::Q8_0)
        q = DType::Q6_K;
    } else if (role == Role::AttnV) {
      if (f == "Q2_K")
        q = gqa >= 4 ? DType::Q4_K : DType::Q3_K;
      else if ((f == "Q4_K_M" || f == "Q5_K_M") && use_more_bits(i_attn_v, n_attn_v))
        q = DType::Q6_K;
      else if (f == "Q4_K_S" && i_attn_v < 4)
        q = DType::Q5_K;
      if (is_70b && (q == DType::Q3_K || q == DType::Q4_K)) q = DType::Q5_K;
      if (c.n_experts == 8) q = DType::Q8_0;
      ++i_attn_v;
    } else if (role == Role::AttnK) {
      if (c.n_experts == 8) q = DType::Q8_0;
    } else if (role == Role::FfnDown) {
      // the layer: the count, or for experts the name's (they need not come in order)
      const int layer = c.n_experts > 1 ? layer_of(t.name) : i_ffn_down, n = c.n_layers;
      if (f == "Q2_K")
        q = DType::Q3_K;
      else if ((f == "Q4_K_M" || f == "Q5_K_M") && use_more_bits(layer, n))
        q = DType::Q6_K;
      else if (f == "Q4_K_S" && layer < n / 8)
        q = DType::Q5_K;
      ++i_ffn_down;
    } else if (role == Role::AttnOut) {
      if (c.n_experts == 8) {
        if (f == "Q2_K" || f == "Q4_K_S" || f == "Q4_K_M") q = DType::Q5_K;
      } else if (f == "Q2_K") {
        q = DType::Q3_K;
      }
    }
    const DType wanted = q;
    if (cols % static_cast<int64_t>(block_of(q)) != 0) {
      require(is_k_quant(q), path,
              "tensor " + t.name + " has rows of " + std::to_string(cols) +
                  " values, not a multiple of the 32 that " + dtype_name(q) +
                  " needs (llama.cpp has no fallback for it either): use a K-quant, F16 or BF16");
      q = fallback(q, cols);
    }
    plan[i] = {t.name, q, wanted};
  }
  return plan;
}

}  // namespace ss
