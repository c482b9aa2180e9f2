// sinkscope synth: a random-weight model of any supported architecture, written as GGUF, so
// every architecture can be tested end to end without downloading weights.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "base/error.h"
#include "cli/common.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/attention_kind.h"
#include "model/llama3_rope.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "ops/dequant.h"
#include "tokenizer/vocab.h"

namespace ss::cli {

namespace {

struct SynthArgs {
  std::string arch, shape = "tiny", vocab, out, dtype = "f32", llama3_rope, attention = "softmax";
  uint64_t seed = 0;
  int sliding_window = -1;   // -1: the shape's
  int longrope_context = 0;  // 0: the shape's
  bool sequential_residual = false;
  std::optional<float> softcap, attn_softcap;  // unset: the shape's
  bool quiet = false;
};

DType parse_weight_type(const std::string& s) {
  std::string names;
  for (uint32_t id = 0; id < 64; ++id) {
    auto info = dtype_info(id);
    if (!info || !can_dequantize(static_cast<DType>(id))) continue;
    std::string name = info->name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (name == s) return static_cast<DType>(id);
    names += (names.empty() ? "" : ", ") + name;
  }
  throw InputError("--dtype", "unknown type '" + s + "' (" + names + ")");
}

Llama3RopeScaling parse_llama3_rope(const std::string& s) {
  Llama3RopeScaling r;
  std::istringstream in(s);
  char c1 = 0, c2 = 0, c3 = 0;
  in >> r.factor >> c1 >> r.low_freq_factor >> c2 >> r.high_freq_factor >> c3 >> r.original_context;
  if (!in || c1 != ',' || c2 != ',' || c3 != ',' || !in.eof() || r.factor <= 0 ||
      r.high_freq_factor <= r.low_freq_factor || r.low_freq_factor <= 0 || r.original_context <= 0)
    throw InputError("--llama3-rope", "expected FACTOR,LOW,HIGH,ORIGINAL_CONTEXT, e.g. 8,1,4,8192");
  return r;
}

}  // namespace

void add_synth(CLI::App& root) {
  auto a = std::make_shared<SynthArgs>();
  CLI::App* cmd = root.add_subcommand(
      "synth", "Write a model with random weights of a given architecture as GGUF (for tests)");
  cmd->add_option("--arch", a->arch, "Architecture: " + supported_archs())->required();
  cmd->add_option("--shape", a->shape,
                  "tiny, small or 280m (16 layers of dim 1024, FFN 4096: about 240M parameters)")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the weights")->capture_default_str();
  cmd->add_option("--vocab", a->vocab,
                  "Tokenizer to embed: a GGUF file (its tokenizer.* keys are copied) or a "
                  "llama2.c tokenizer .bin; the vocabulary size follows it")
      ->required();
  cmd->add_option("--dtype", a->dtype,
                  "Type of the weight matrices (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, ...)")
      ->capture_default_str();
  cmd->add_option("--llama3-rope", a->llama3_rope,
                  "Llama-3 rope scaling FACTOR,LOW,HIGH,ORIGINAL_CONTEXT (llama) "
                  "(stored as rope_freqs.weight, e.g. 8,1,4,8192)");
  cmd->add_option("--sliding-window", a->sliding_window,
                  "Window of the sliding layers, for architectures that have them (0: none; "
                  "default: the shape's)")
      ->check(between(-1, 1 << 30));
  cmd->add_option("--softcap", a->softcap,
                  "Final logit soft-capping (0: none; default: the shape's, 0 but for gemma2)")
      ->check(at_least(0));
  cmd->add_option("--attn-softcap", a->attn_softcap,
                  "Attention logit soft-capping (0: none; default: the shape's, 0 but for gemma2)")
      ->check(at_least(0));
  cmd->add_option("--longrope-context", a->longrope_context,
                  "Original context of longrope scaling (phi3): longer inputs take the long "
                  "factors (default: the shape's, 256 tiny, 512 small)")
      ->check(between(2, 1 << 24));
  cmd->add_flag("--sequential-residual", a->sequential_residual,
                "FFN after attention rather than beside it (gptneox's use_parallel_residual "
                "false)");
  cmd->add_option("--attention", a->attention,
                  "Attention variant: " + attention_kind_names() +
                      " (random sink logits, or a random sink key and value per KV head)")
      ->capture_default_str();
  cmd->add_option("-o,--out", a->out, "Output GGUF file")->required();
  cmd->add_flag("-q,--quiet", a->quiet, "No progress messages");
  cmd->callback([a] {
    if (!find_arch(a->arch))
      throw InputError("--arch",
                       "unknown architecture '" + a->arch + "' (" + supported_archs() + ")");
    const ArchSpec& spec = *find_arch(a->arch);
    ModelConfig c = synth_shape(a->arch, a->shape);
    if (a->sliding_window >= 0) {
      require(spec.sliding, "--sliding-window", a->arch + " has no sliding-window layers");
      c.sliding_window = a->sliding_window;
    }
    c.attention = attention_kind_option(a->attention, "--attention");
    require(c.attention == AttentionKind::Softmax || !spec.attn_sinks, "--attention",
            a->arch + " has learned sink logits of its own");
    if (a->softcap) c.final_logit_softcap = *a->softcap;
    if (a->attn_softcap) c.attn_logit_softcap = *a->attn_softcap;
    if (a->longrope_context > 0) {
      require(c.rope_orig_ctx > 0, "--longrope-context", a->arch + " has no longrope scaling");
      // transformers' default attention factor for this extension.
      const double s = static_cast<double>(c.max_seq_len) / a->longrope_context;
      c.rope_orig_ctx = a->longrope_context;
      c.rope_attn_factor =
          s <= 1 ? 1.0f
                 : static_cast<float>(std::sqrt(1 + std::log(s) / std::log(c.rope_orig_ctx)));
    }
    if (a->sequential_residual) {
      require(c.parallel_residual, "--sequential-residual", a->arch + " has no parallel residual");
      c.parallel_residual = false;
    }
    const DType type = parse_weight_type(a->dtype);
    const size_t block = dtype_info(static_cast<uint32_t>(type))->block_elems;
    for (int cols : {c.dim, c.q_dim(), c.hidden_dim})
      require(cols % static_cast<int>(block) == 0, "--dtype",
              a->dtype + " needs rows that are a multiple of " + std::to_string(block) +
                  " values; use a larger --shape");

    GgufMetadata tokenizer;
    if (is_gguf_file(a->vocab)) {
      GgufFile g(a->vocab);
      tokenizer = tokenizer_metadata(g);
      c.vocab_size = static_cast<int>(g.get_string_array("tokenizer.ggml.tokens").size());
    } else {
      Vocab v = load_llama2c_vocab(a->vocab);
      c.vocab_size = static_cast<int>(v.size());
      tokenizer = vocab_metadata(v);
    }
    require(c.vocab_size > 0, a->vocab, "no tokenizer.ggml.tokens");
    apply_arch(c);

    Model m = make_random_model(c, a->seed, DType::F32, spec.synth_tied);
    if (!a->llama3_rope.empty()) {
      require(spec.llama3_rope, "--llama3-rope", a->arch + " has no Llama-3 rope scaling");
      std::vector<float> div =
          llama3_rope_divisors(c.head_dim, c.rope_theta, parse_llama3_rope(a->llama3_rope));
      m.rope_freqs = add_owned_f32(m, "rope_freqs.weight", {c.head_dim / 2}, div);
    }
    // The name leaves the architecture out: llama.cpp sets token attributes by matching it in
    // general.name (Phi-3's "</s>", "<|endoftext|>"), tokens a test vocabulary lacks.
    write_model_gguf(m, tokenizer, a->out, type,
                     "sinkscope random weights, " + a->shape + ", seed " + std::to_string(a->seed));
    if (!a->quiet) std::fprintf(stderr, "wrote %s\n", a->out.c_str());
  });
}

}  // namespace ss::cli
