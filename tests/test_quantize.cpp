// sinkscope quantize: the per-tensor table of docs/quantize.md (llama.cpp's rules), files that
// reload with exactly the reference quantizer's weights, and the metadata and tokenizer kept.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/quantize_plan.h"
#include "model/synth.h"
#include "ops/dequant.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

using test::kDefaultModel;

// A llama with rows of 256 and 512 values (every K-quant fits), `layers` layers, 2 KV heads for
// 8 query heads (GQA 4).
Model wide_model(int layers, bool tied) {
  ModelConfig c = synth_shape("llama", "small");
  c.n_layers = layers;
  c.n_kv_heads = 2;
  c.vocab_size = 512;
  apply_arch(c);
  return make_random_model(c, 3, DType::F32, tied);
}

// The type the table of docs/quantize.md gives a tensor, from its name and layer.
using Table = std::function<DType(const std::string& name, int layer)>;

int layer_of(const std::string& name) {
  int layer = -1;
  std::sscanf(name.c_str(), "blk.%d.", &layer);
  return layer;
}

void expect_table(const Model& m, const char* type, const Table& table) {
  const auto tensors = model_gguf_tensors(m);
  const auto plan = quantize_plan(*find_file_type(type), tensors, m.config, "model");
  ASSERT_EQ(plan.size(), tensors.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    const std::string& name = tensors[i].name;
    const DType want = tensors[i].ne.size() == 1 ? DType::F32 : table(name, layer_of(name));
    EXPECT_EQ(dtype_name(plan[i].type), dtype_name(want)) << type << " " << name;
  }
}

bool has(const std::string& name, const char* part) {
  return name.find(part) != std::string::npos;
}

// The default model: rows of 128 (dim) and 352 (FFN), 6 layers, no GQA, tied embedding. No
// K-quant block fits, so every K-quant choice shows its legacy fallback.
TEST(QuantizePlan, DefaultModelTableShowsTheFallbacks) {
  const Model m = load_model(kDefaultModel);
  ASSERT_EQ(m.config.dim, 128);
  ASSERT_EQ(m.config.hidden_dim, 352);
  ASSERT_EQ(m.config.n_layers, 6);
  ASSERT_TRUE(m.tied_output);
  // Q4_K_M and Q5_K_M give attn_v and ffn_down of layers 2 and 5 Q6_K (first and last eighth:
  // none and layer 5; every third from the first eighth: 2 and 5), here Q8_0 by fallback.
  auto more_bits = [](const std::string& n, int l) {
    return (has(n, "attn_v") || has(n, "ffn_down")) && (l == 2 || l == 5);
  };
  expect_table(m, "Q4_K_M", [&](const std::string& n, int l) {
    if (n == "token_embd.weight" || more_bits(n, l)) return DType::Q8_0;  // Q6_K -> Q8_0
    return DType::Q5_0;                                                   // Q4_K -> Q5_0
  });
  expect_table(m, "q5_k_m", [&](const std::string& n, int l) {
    if (n == "token_embd.weight" || more_bits(n, l)) return DType::Q8_0;
    return DType::Q5_1;  // Q5_K -> Q5_1
  });
  // Q4_K_S: attn_v of the first four layers Q5_K; ffn_down of the first eighth (none) Q5_K.
  expect_table(m, "Q4_K_S", [&](const std::string& n, int l) {
    if (n == "token_embd.weight") return DType::Q8_0;
    if (has(n, "attn_v") && l < 4) return DType::Q5_1;  // Q5_K -> Q5_1
    return DType::Q5_0;
  });
  // Q2_K: attn_v Q3_K (GQA below 4), ffn_down and attn_output Q3_K; Q2_K and Q3_K -> Q4_0.
  expect_table(m, "Q2_K", [&](const std::string& n, int) {
    return n == "token_embd.weight" ? DType::Q8_0 : DType::Q4_0;
  });
  expect_table(m, "Q6_K", [&](const std::string&, int) { return DType::Q8_0; });
  // Legacy types: the classifier is Q6_K (-> Q8_0 here), the rest the type itself.
  expect_table(m, "Q4_0", [&](const std::string& n, int) {
    return n == "token_embd.weight" ? DType::Q8_0 : DType::Q4_0;
  });
  expect_table(m, "Q5_0", [&](const std::string& n, int) {
    return n == "token_embd.weight" ? DType::Q8_0 : DType::Q5_0;
  });
  expect_table(m, "Q8_0", [&](const std::string&, int) { return DType::Q8_0; });
  expect_table(m, "F16", [&](const std::string&, int) { return DType::F16; });
  expect_table(m, "BF16", [&](const std::string&, int) { return DType::BF16; });
}

// Rows of 256 and 512: the K-quant table itself. 8 layers: the _M mixes' layers with more bits
// are 0 (first eighth), 7 (last eighth), 3 and 6 (every third after the first eighth).
TEST(QuantizePlan, WideModelTableHasTheMixRules) {
  const Model untied = wide_model(8, false);
  auto more_bits = [](int l) { return l == 0 || l == 3 || l == 6 || l == 7; };
  for (const char* type : {"Q4_K_M", "Q5_K_M"}) {
    const DType base = std::string(type) == "Q4_K_M" ? DType::Q4_K : DType::Q5_K;
    expect_table(untied, type, [&](const std::string& n, int l) {
      if (n == "output.weight") return DType::Q6_K;
      if ((has(n, "attn_v") || has(n, "ffn_down")) && more_bits(l)) return DType::Q6_K;
      return base;  // token_embd too: it is not the classifier here
    });
  }
  expect_table(untied, "Q4_K_S", [&](const std::string& n, int l) {
    if (n == "output.weight") return DType::Q6_K;
    if (has(n, "attn_v") && l < 4) return DType::Q5_K;
    if (has(n, "ffn_down") && l < 1) return DType::Q5_K;
    return DType::Q4_K;
  });
  // Q2_K with GQA 4: attn_v Q4_K; ffn_down and attn_output Q3_K.
  expect_table(untied, "Q2_K", [&](const std::string& n, int) {
    if (n == "output.weight") return DType::Q6_K;
    if (has(n, "attn_v")) return DType::Q4_K;
    if (has(n, "ffn_down") || has(n, "attn_output")) return DType::Q3_K;
    return DType::Q2_K;
  });
  expect_table(untied, "Q4_0", [&](const std::string& n, int) {
    return n == "output.weight" ? DType::Q6_K : DType::Q4_0;
  });
  expect_table(untied, "Q8_0", [&](const std::string&, int) { return DType::Q8_0; });
  // Tied: the embedding is the classifier and takes its Q6_K.
  const Model tied = wide_model(8, true);
  expect_table(tied, "Q4_K_M", [&](const std::string& n, int l) {
    if (n == "token_embd.weight") return DType::Q6_K;
    if ((has(n, "attn_v") || has(n, "ffn_down")) && more_bits(l)) return DType::Q6_K;
    return DType::Q4_K;
  });
}

GgufTensorInfo matrix(const std::string& name, int64_t cols, int64_t rows) {
  return {name, {cols, rows}, DType::F32, true};
}

// Rows that 32 does not divide: a K-quant falls back to F16 (its legacy fallback does not fit
// either); a legacy type has no fallback in llama.cpp, and quantize refuses as it does.
TEST(QuantizePlan, RowsNotAMultipleOf32) {
  ModelConfig c;
  c.n_layers = 1;
  c.n_heads = c.n_kv_heads = 1;
  const std::vector<GgufTensorInfo> tensors = {matrix("token_embd.weight", 48, 10),
                                               {"output_norm.weight", {48}, DType::F32, false},
                                               matrix("output.weight", 64, 10),
                                               matrix("blk.0.attn_q.weight", 48, 48)};
  const auto plan = quantize_plan(*find_file_type("Q4_K_M"), tensors, c, "m.gguf");
  EXPECT_EQ(plan[0].type, DType::F16);
  EXPECT_EQ(plan[0].wanted, DType::Q4_K);
  EXPECT_EQ(plan[1].type, DType::F32);
  EXPECT_EQ(plan[2].type, DType::Q8_0);  // output of 64: not 256, so Q8_0 at once
  EXPECT_EQ(plan[3].type, DType::F16);
  try {
    quantize_plan(*find_file_type("Q4_0"), tensors, c, "m.gguf");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("m.gguf: tensor token_embd.weight has rows of 48"),
              std::string::npos)
        << e.what();
  }
}

// Eight experts (Mixtral's rule): attn_v and attn_k Q8_0, attn_output Q5_K in Q4_K_M; the layer
// of an expert stack comes from its name; the router stays as it is.
TEST(QuantizePlan, EightExpertRules) {
  ModelConfig c;
  c.n_layers = 8;
  c.n_heads = 8;
  c.n_kv_heads = 8;
  c.n_experts = 8;
  std::vector<GgufTensorInfo> tensors;
  for (int l = 7; l >= 0; --l) {  // any order: layers come from the names
    const std::string b = "blk." + std::to_string(l) + ".";
    tensors.push_back(matrix(b + "attn_v.weight", 256, 256));
    tensors.push_back(matrix(b + "attn_k.weight", 256, 256));
    tensors.push_back(matrix(b + "attn_output.weight", 256, 256));
    tensors.push_back(matrix(b + "ffn_gate_inp.weight", 256, 8));
    tensors.push_back({b + "ffn_down_exps.weight", {512, 256, 8}, DType::F32, true});
  }
  const auto plan = quantize_plan(*find_file_type("Q4_K_M"), tensors, c, "m");
  for (size_t i = 0; i < plan.size(); ++i) {
    const std::string& n = plan[i].name;
    const int l = layer_of(n);
    const DType want = has(n, "attn_v") || has(n, "attn_k")     ? DType::Q8_0
                       : has(n, "attn_output")                  ? DType::Q5_K
                       : has(n, "ffn_gate_inp")                 ? DType::F32
                       : (l == 0 || l == 3 || l == 6 || l == 7) ? DType::Q6_K
                                                                : DType::Q4_K;
    EXPECT_EQ(dtype_name(plan[i].type), dtype_name(want)) << n;
  }
}

TEST(QuantizePlan, FileTypesCarryLlamaCppIds) {
  EXPECT_EQ(find_file_type("q4_k_m")->llama_ftype, 15u);
  EXPECT_EQ(find_file_type("Q8_0")->llama_ftype, 7u);
  EXPECT_EQ(find_file_type("BF16")->llama_ftype, 32u);
  EXPECT_EQ(find_file_type("Q3_K_L"), nullptr);
}

// A synth llama with rows of 256 and 512 (sinkscope synth --shape small).
std::string wide_file() {
  return test::synth_model("llama", "--shape small", 7);
}

std::string quantize(const std::string& src, const std::string& type) {
  const std::string out = test::temp_dir() + "/" + type + ".gguf";
  auto r = test::run_cli("quantize --quiet -m " + src + " -o " + out + " --type " + type);
  EXPECT_EQ(r.code, 0) << r.err;
  return out;
}

// Every tensor of the quantized file, dequantized, is bit for bit quantize_row + dequantize_row
// of the source's weights; its type is the plan's; sinkscope loads the file.
void expect_reference_weights(const std::string& src, const std::string& type) {
  SCOPED_TRACE(src + " " + type);
  const std::string out = quantize(src, type);
  const Model source = load_model(src);
  const auto plan =
      quantize_plan(*find_file_type(type), model_gguf_tensors(source), source.config, src);
  std::map<std::string, DType> planned;
  for (const auto& p : plan) planned[p.name] = p.type;
  EXPECT_NO_THROW(load_model(out));
  const GgufFile a(src), b(out);
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const GgufTensor& q : b.tensors()) {
    const GgufTensor* s = a.find_tensor(q.name);
    ASSERT_NE(s, nullptr) << q.name;
    ASSERT_EQ(q.ne, s->ne) << q.name;
    EXPECT_EQ(q.type, planned.at(q.name)) << q.name;
    const size_t cols = q.ne[0], rows = q.n_elements() / cols;
    std::vector<float> x(cols), want(cols), got(cols);
    std::vector<uint8_t> bytes(dtype_row_bytes(q.type, cols));
    for (size_t r = 0; r < rows; ++r) {
      dequantize_row(s->type, s->data + r * dtype_row_bytes(s->type, cols), x.data(), cols);
      quantize_row(q.type, x.data(), bytes.data(), cols);
      dequantize_row(q.type, bytes.data(), want.data(), cols);
      dequantize_row(q.type, q.data + r * bytes.size(), got.data(), cols);
      ASSERT_EQ(std::memcmp(want.data(), got.data(), cols * sizeof(float)), 0)
          << q.name << " row " << r;
    }
  }
}

TEST(Cli, QuantizedFileReloadsWithTheReferenceQuantizersWeights) {
  for (const FileType& ft : file_types()) {
    expect_reference_weights(kDefaultModel, ft.name);
    expect_reference_weights(wide_file(), ft.name);
  }
  // Fused tensors (phi3's attn_qkv and gate+up ffn_up) take one type for all their parts.
  for (const char* type : {"Q4_K_M", "Q2_K"})
    expect_reference_weights(test::synth_model("phi3", "--shape small", 7), type);
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.i != b.i || a.u != b.u || a.b != b.b || a.s != b.s ||
      a.arr.size() != b.arr.size())
    return false;
  if (!(a.f == b.f || (a.f != a.f && b.f != b.f))) return false;  // NaN equals NaN here
  for (size_t i = 0; i < a.arr.size(); ++i)
    if (!same_value(a.arr[i], b.arr[i])) return false;
  return true;
}

// Every key of the input is kept as it is (an extra one such as a pruned head set included),
// general.file_type is llama.cpp's id, and both files tokenize alike.
TEST(Cli, QuantizeKeepsMetadataAndTokenizer) {
  // The default model with an extra key, as `export` adds for a pruned head set.
  const Model m = load_model(kDefaultModel);
  const std::string src = test::temp_dir() + "/extra.gguf";
  const GgufFile tiny(kDefaultModel);
  GgufMetadata extra;
  for (const auto& [key, value] : tiny.metadata())
    if (key.rfind("tokenizer.", 0) != 0) extra.emplace_back(key, value);
  extra.emplace_back("sinkscope.pruned_heads", GgufValue::of_i32s({0, 1, 2, 3}));
  write_model_gguf(m, tokenizer_metadata(tiny), src, DType::F32, "", extra);

  const std::string out = quantize(src, "Q4_K_M");
  const GgufFile a(src), b(out);
  for (const auto& [key, value] : a.metadata()) {
    if (key == "general.file_type" || key == "general.quantization_version") continue;
    const GgufValue* v = b.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_TRUE(same_value(value, *v)) << key;
  }
  EXPECT_EQ(b.get_int("general.file_type", -1), 15);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_EQ(b.get_int("general.quantization_version", -1), 2);

  const std::string text = "Once upon a time, the prince said: \"Well, Prince, so Genoa...\"";
  const auto ids_a = load_text_tokenizer(src, "")->encode(text, true);
  const auto ids_b = load_text_tokenizer(out, "")->encode(text, true);
  EXPECT_GT(ids_a.size(), 10u);
  EXPECT_EQ(ids_a, ids_b);
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == s.size() - 1;
}

TEST(Cli, QuantizeUnsupportedTypeListsTheSupportedOnes) {
  const std::string out = test::temp_dir() + "/x.gguf";
  auto r = test::run_cli("quantize -m " + kDefaultModel + " -o " + out + " --type Q3_K_L");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("unsupported type 'Q3_K_L'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Q8_0, Q4_0, Q5_0, Q4_K_S, Q4_K_M, Q5_K_M, Q6_K, Q2_K, F16, BF16"),
            std::string::npos)
      << r.err;
}

TEST(Cli, QuantizeRefusesAQuantizedModel) {
  const std::string q8 = quantize(kDefaultModel, "Q8_0");
  const std::string out = test::temp_dir() + "/again.gguf";
  auto r = test::run_cli("quantize -m " + q8 + " -o " + out + " --type Q4_0");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find(q8 + ": tensor token_embd.weight is already Q8_0: quantize from an F32, "
                            "F16 or BF16 model"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ss
