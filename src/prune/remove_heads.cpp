#include "prune/remove_heads.h"

#include <cstring>
#include <optional>
#include <set>

#include "base/error.h"
#include "model/arch.h"
#include "model/synth.h"
#include "ops/dequant.h"

namespace ss {

std::string HeadRemovalProblem::message() const {
  return reason + "; use " + (remedy.empty() ? "" : remedy + " or ") + "--zero-only";
}

namespace {

// Each layer's kept query heads (in order) and the KV heads they use, or the problem.
struct KeptLayer {
  std::vector<int> q, kv;
};
HeadRemovalProblem kept_layers(const ModelConfig& c, const std::vector<std::pair<int, int>>& heads,
                               std::vector<KeptLayer>* kept) {
  const ArchSpec& arch = arch_of(c);
  if (!heads.empty() && arch.qk_norm_whole)
    return {c.arch +
                " normalises q and k over the whole projection, so removing a head would "
                "change the others",
            ""};
  if (!heads.empty() && arch.gguf_query_width_is_dim)
    return {"llama.cpp sizes " + c.arch + "'s query projection by the embedding length, so a " +
                c.arch + " GGUF cannot have fewer heads",
            ""};
  const std::set<std::pair<int, int>> removed(heads.begin(), heads.end());
  for (int l = 0; l < c.n_layers; ++l) {
    const int H = c.heads(l), G = c.kv_group(l), K = c.kv_heads(l);
    std::vector<int> lost(K, 0);  // query heads removed from each KV group
    int total = 0;
    for (int h = 0; h < H; ++h)
      if (removed.count({l, h})) ++lost[h / G], ++total;
    const std::string L = std::to_string(l);
    if (total == H)
      return {"layer " + L + " would lose all its " + std::to_string(H) + " heads",
              "--drop-layers " + L};
    bool whole = true, even = true;
    for (int g = 0; g < K; ++g) {
      whole = whole && (lost[g] == 0 || lost[g] == G);
      even = even && lost[g] == lost[0];
    }
    if (!whole && !even) {
      int g1 = 1;
      while (lost[g1] == lost[0]) ++g1;
      return {"layer " + L + " removes part of a KV group (" + std::to_string(G) +
                  " query heads share each KV head; group 0 loses " + std::to_string(lost[0]) +
                  ", group " + std::to_string(g1) + " " + std::to_string(lost[g1]) +
                  "): a GQA model keeps whole groups or the same number of heads in each",
              "--scope group, --scope per-group"};
    }
    if (!kept) continue;
    KeptLayer& k = kept->emplace_back();
    for (int h = 0; h < H; ++h)
      if (!removed.count({l, h})) {
        k.q.push_back(h);
        if (k.kv.empty() || k.kv.back() != h / G) k.kv.push_back(h / G);
      }
  }
  return {};
}

}  // namespace

HeadRemovalProblem head_removal_problem(const ModelConfig& c,
                                        const std::vector<std::pair<int, int>>& heads) {
  return kept_layers(c, heads, nullptr);
}

bool removal_keeps_one_head_count(const ModelConfig& c,
                                  const std::vector<std::pair<int, int>>& heads) {
  std::vector<KeptLayer> kept;
  if (kept_layers(c, heads, &kept)) return false;
  for (const KeptLayer& k : kept)
    if (k.q.size() != kept[0].q.size() || k.kv.size() != kept[0].kv.size()) return false;
  return true;
}

std::string readers_note(const ModelConfig& c) {
  if (c.uniform_heads()) return "one head count for every layer: sinkscope and llama.cpp read it";
  return "per-layer head counts (arrays in attention.head_count and head_count_kv): sinkscope "
         "reads it; llama.cpp reads such arrays but sizes a " +
         c.arch +
         " layer's tensors by layer 0's count, so it refuses the file; for any reader use "
         "--zero-only";
}

namespace {

// The rows `keep` of a matrix (any dtype: rows are stored apart) or the values of a 1-D f32 bias.
Tensor keep_rows(Model& m, const Tensor& t, const std::vector<int>& keep) {
  if (t.ne.size() == 1) {
    std::vector<float> v;
    for (int i : keep) v.push_back(t.f32()[i]);
    return add_owned_f32(m, t.name, {static_cast<int64_t>(v.size())}, v);
  }
  Tensor out = t;
  out.ne = {t.cols(), static_cast<int64_t>(keep.size())};
  auto& buf = m.owned.emplace_back(t.row_bytes() * keep.size());
  for (size_t i = 0; i < keep.size(); ++i)
    std::memcpy(buf.data() + i * t.row_bytes(), t.row(keep[i]), t.row_bytes());
  out.data = buf.data();
  return out;
}

// The columns `keep` of every row of a matrix: in its own dtype where that is exact (F32, F16,
// BF16, or a block type whose blocks `keep` takes whole: whole heads of head_dim a multiple of
// the block, as Q8_0's 32 in a head of 64), else as F32.
Tensor keep_cols(Model& m, const Tensor& t, const std::vector<int>& keep) {
  const size_t cols = static_cast<size_t>(t.cols()), n = keep.size();
  Tensor out = t;
  out.ne = {static_cast<int64_t>(n), t.rows()};
  const std::optional<DTypeInfo> info = dtype_info(static_cast<uint32_t>(t.type));
  const size_t be = info ? info->block_elems : 0;
  bool whole_blocks = be > 1 && n % be == 0;
  for (size_t i = 0; whole_blocks && i < n; i += be)
    for (size_t k = 0; whole_blocks && k < be; ++k)
      whole_blocks =
          keep[i] % static_cast<int>(be) == 0 && keep[i + k] == keep[i] + static_cast<int>(k);
  if (whole_blocks) {
    const size_t out_row = dtype_row_bytes(t.type, n);
    auto& buf = m.owned.emplace_back(out_row * static_cast<size_t>(t.rows()));
    for (int64_t r = 0; r < t.rows(); ++r) {
      const uint8_t* src = t.row(r);
      uint8_t* dst = buf.data() + static_cast<size_t>(r) * out_row;
      for (size_t i = 0; i < n; i += be)
        std::memcpy(dst + i / be * info->block_bytes, src + keep[i] / be * info->block_bytes,
                    info->block_bytes);
    }
    out.data = buf.data();
    return out;
  }
  const DType type = t.type == DType::F16 || t.type == DType::BF16 ? t.type : DType::F32;
  std::vector<float> row(cols), kept(n);
  out.type = type;
  const size_t out_row = dtype_row_bytes(type, n);
  auto& buf = m.owned.emplace_back(out_row * static_cast<size_t>(t.rows()));
  for (int64_t r = 0; r < t.rows(); ++r) {
    dequantize_row(t.type, t.row(r), row.data(), cols);
    for (size_t i = 0; i < n; ++i) kept[i] = row[keep[i]];
    quantize_row(type, kept.data(), buf.data() + static_cast<size_t>(r) * out_row, n);
  }
  out.data = buf.data();
  return out;
}

// The rows (or values) of each head in `heads`, head_dim at a time.
std::vector<int> head_rows(const std::vector<int>& heads, int head_dim) {
  std::vector<int> rows;
  for (int h : heads)
    for (int d = 0; d < head_dim; ++d) rows.push_back(h * head_dim + d);
  return rows;
}

}  // namespace

Model remove_heads(const Model& model, const std::vector<std::pair<int, int>>& heads,
                   const std::string& what) {
  const ModelConfig& c = model.config;
  std::vector<KeptLayer> kept;
  if (HeadRemovalProblem p = kept_layers(c, heads, &kept)) throw InputError(what, p.message());
  Model m = clone_model(model);
  if (heads.empty()) return m;
  const int hd = c.head_dim;
  std::vector<int> q_heads, kv_heads;
  for (int l = 0; l < c.n_layers; ++l) {
    const std::vector<int>&kept_q = kept[l].q, &kept_kv = kept[l].kv;
    q_heads.push_back(static_cast<int>(kept_q.size()));
    kv_heads.push_back(static_cast<int>(kept_kv.size()));
    LayerWeights& w = m.layers[l];
    const std::vector<int> q_rows = head_rows(kept_q, hd), kv_rows = head_rows(kept_kv, hd);
    w.wq = keep_rows(m, w.wq, q_rows);
    w.wk = keep_rows(m, w.wk, kv_rows);
    w.wv = keep_rows(m, w.wv, kv_rows);
    if (w.bq.data) w.bq = keep_rows(m, w.bq, q_rows);
    if (w.bk.data) w.bk = keep_rows(m, w.bk, kv_rows);
    if (w.bv.data) w.bv = keep_rows(m, w.bv, kv_rows);
    w.wo = keep_cols(m, w.wo, q_rows);
    if (w.attn_sinks.data) w.attn_sinks = keep_rows(m, w.attn_sinks, kept_q);
    // sink-kv: one key and value row per KV head.
    if (w.attn_sink_k.data) w.attn_sink_k = keep_rows(m, w.attn_sink_k, kept_kv);
    if (w.attn_sink_v.data) w.attn_sink_v = keep_rows(m, w.attn_sink_v, kept_kv);
  }
  // One count for every layer where they agree, else per-layer counts.
  m.config.set_layer_heads(std::move(q_heads), std::move(kv_heads));
  validate_model(m);
  return m;
}

}  // namespace ss
