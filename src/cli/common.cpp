#include "cli/common.h"

#include <cstdio>
#include <filesystem>

#include "base/cluster.h"
#include "base/error.h"
#include "base/utf8.h"
#include "base/wire.h"
#include "model/arch.h"
#include "model/attention_kind.h"
#include "model/load_model.h"
#include "ops/simd/isa.h"

namespace ss::cli {

static std::string g_command_line;

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i ? " " : "") + std::string(argv[i]);
}

const std::string& command_line() {
  return g_command_line;
}

namespace {
std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

GgufMetadata export_tokenizer(const std::string& model, const std::string& tokenizer) {
  if (tokenizer.empty() && is_gguf_file(model)) {
    GgufFile g(model);
    if (g.has("tokenizer.ggml.tokens")) return tokenizer_metadata(g);
  }
  return vocab_metadata(load_tokenizer(model, tokenizer).vocab());
}

CLI::Validator at_least(double lo) {
  return CLI::Validator(
      [lo](std::string& in) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(in, v)) return "not a number: " + in;
        return v >= lo ? "" : "must be at least " + number_text(lo) + ", not " + in;
      },
      ">= " + number_text(lo));
}

CLI::Validator between(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& in) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(in, v)) return "not a number: " + in;
        return v >= lo && v <= hi
                   ? ""
                   : "must be in [" + number_text(lo) + ", " + number_text(hi) + "], not " + in;
      },
      "in [" + number_text(lo) + ", " + number_text(hi) + "]");
}

void add_calibration_windows(CLI::App* cmd, int& ctx, int& chunks) {
  cmd->add_option("--calib-ctx", ctx, "Calibration window length")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--calib-chunks", chunks, "Calibration windows")
      ->capture_default_str()
      ->check(at_least(1));
}

nlohmann::json simd_info() {
  return {{"variant", isa_name(active_isa())}, {"cpu_features", cpu_feature_list()}};
}

nlohmann::json run_info() {
  return {{"command", command_line()},
          {"sinkscope_version", SINKSCOPE_VERSION},
          {"simd", simd_info()},
          {"ranks", cluster().size()}};
}

void check_cache_policy(const CachePolicy& p, const ModelConfig& c, bool positions_given) {
  if (positions_given && c.positional != PositionKind::Rope)
    throw InputError("--positions", std::string("the model has no rotary positions to choose (") +
                                        kPositionalKey + " " + position_kind_name(c.positional) +
                                        ")");
  if (positions_given && c.rotated_dims() == 0)
    throw InputError("--positions", c.arch + " models have no rotary positions to choose");
  if (p.sinks + p.window > c.max_seq_len && cluster().root())
    std::fprintf(stderr,
                 "sinkscope: warning: %s keeps %d tokens, beyond the model's trained context of "
                 "%d\n",
                 p.name().c_str(), p.sinks + p.window, c.max_seq_len);
}

void add_pipeline(CLI::App* cmd, bool& pipeline, std::string& split) {
  cmd->add_flag(
      "--pipeline", pipeline,
      "Under sinkscope-mpi: each rank holds a contiguous range of layers and windows pass "
      "from rank to rank (for models larger than one machine's memory)");
  cmd->add_option("--pipeline-split", split,
                  "With --pipeline: the layers of each rank, e.g. 0:8,8:16 (default: balance the "
                  "weight bytes)")
      ->needs("--pipeline");
}

nlohmann::json rank_wall_times(double seconds) {
  WireWriter w;
  w.put<double>(seconds);
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& bytes : cluster().gather(w.take()))
    out.push_back(WireReader(bytes).get<double>());
  return out;
}

// A token's text for labels: printable and valid UTF-8 (control bytes and bytes outside a
// well-formed character as \n, \xNN, ...); a token without text (BOS) by its id.
std::string token_label(const Tokenizer& tok, int id) {
  if (id == tok.bos_id()) return "<bos>";
  const std::string s = tok.decode_token(-1, id);
  if (s.empty()) return "<" + std::to_string(id) + ">";
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const size_t len = p[i] < 0x80 ? 1 : utf8_char_len(p + i, s.size() - i);
    if (len > 1) {
      out.append(s, i, len);
      i += len;
      continue;
    }
    const unsigned char c = p[i++];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string model_description(const ModelConfig& c) {
  return c.arch + ", " + std::to_string(c.n_layers) + " layers × " + std::to_string(c.n_heads) +
         " heads (" + std::to_string(c.n_kv_heads) + " KV heads), dim " + std::to_string(c.dim);
}

std::string default_model_path() {
  // The committed default model: next to the working directory when run from a checkout, else in
  // the source tree this binary was built from.
  const char* rel = "models/sinkscope-tiny.gguf";
  if (std::filesystem::exists(rel)) return rel;
  return std::string(SINKSCOPE_SOURCE_DIR) + "/" + rel;
}

void add_common(CLI::App* cmd, CommonArgs& a, bool with_tokenizer, bool default_model) {
  if (default_model) {
    a.model = default_model_path();
    cmd->add_option("-m,--model", a.model,
                    "Model file: GGUF, or a llama2.c checkpoint (.bin); default: the bundled "
                    "sinkscope-tiny model")
        ->capture_default_str();
  } else {
    cmd->add_option("-m,--model", a.model, "Model file: GGUF, or a llama2.c checkpoint (.bin)")
        ->required();
  }
  if (with_tokenizer)
    cmd->add_option("--tokenizer", a.tokenizer,
                    "Tokenizer file (llama2.c tokenizer .bin or GGUF); default: the model's GGUF "
                    "metadata");
  cmd->add_option("--threads", a.threads, "Worker threads (0: all cores)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_flag("--quiet", a.quiet, "No progress output on stderr");
}

void add_ablate(CLI::App* cmd, CommonArgs& a) {
  cmd->add_option("--ablate", a.ablate,
                  "Zero these heads: L:H,L:H,... (0-based) or a JSON file of [layer, head] pairs");
  cmd->add_option("--ablate-sinks", a.ablate_sinks,
                  "Remove the learned sink logit (set it to -inf) of these heads: L:H,... or a "
                  "JSON file, or all (models with learned sinks, e.g. gpt-oss)");
}

void add_activation_modes(CLI::App* cmd, CommonArgs& a) {
  cmd->add_flag(
      "--bf16-activations", a.bf16_activations,
      "BF16 weights: round activations to BF16 and use the CPU's BF16 dot products, as "
      "llama.cpp does (with AVX512-BF16 about 1.6x faster prefill and 1.1x faster decode; "
      "results then carry BF16 rounding instead of exact f32 arithmetic)");
  cmd->add_flag("--int8-activations", a.int8_activations,
                "Q4_K and Q8_0 weights: quantize activations to 8 bits (as llama.cpp: Q8_K, per "
                "256, for Q4_K; Q8_0, per 32, for Q8_0) and use integer dot products (faster "
                "decode; results then carry that quantization instead of exact f32 arithmetic; "
                "other weight types stay exact)");
}

Model load_cli_model(const CommonArgs& a) {
  // Every rank maps the model; one that cannot (a path missing on its node) ends them all.
  return on_every_rank(cluster(), [&] {
    Model m = load_model(a.model);
    m.bf16_activations = a.bf16_activations;
    m.int8_activations = a.int8_activations;
    return m;
  });
}

void warn_invalid_utf8(const std::string& path, size_t bytes) {
  if (bytes)
    std::fprintf(stderr, "sinkscope: warning: %s: %zu bytes of invalid UTF-8 replaced by U+FFFD\n",
                 path.c_str(), bytes);
}

TextFile read_cli_text(const std::string& path) {
  TextFile f = read_text(path);
  warn_invalid_utf8(path, f.invalid_utf8);
  return f;
}

std::vector<int> root_ids(const std::function<std::vector<int>()>& make) {
  const std::string bytes = on_root(cluster(), [&] {
    WireWriter w;
    w.put_vector<int>(make());
    return w.take();
  });
  return WireReader(bytes).get_vector<int>();
}

HeadMask ablation_mask(const CommonArgs& a, const ModelConfig& c) {
  HeadMask mask(c);
  for (auto [l, h] : parse_heads_option(a.ablate, c, "--ablate")) mask.set(l, h, HeadAction::Zero);
  if (a.ablate_sinks.empty()) return mask;
  require(arch_of(c).attn_sinks || has_sink_column(c.attention), "--ablate-sinks",
          c.arch + " has no learned sink logits");
  if (a.ablate_sinks == "all") {
    for (int l = 0; l < c.n_layers; ++l)
      for (int h = 0; h < c.n_heads; ++h) mask.remove_sink(l, h);
  } else {
    for (auto [l, h] : parse_heads_option(a.ablate_sinks, c, "--ablate-sinks"))
      mask.remove_sink(l, h);
  }
  return mask;
}

}  // namespace ss::cli
