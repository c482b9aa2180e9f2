#pragma once
// Options shared by the subcommands, and small helpers for them.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/text_file.h"
#include "model/model.h"
#include "model/model_export.h"
#include "runtime/head_mask.h"
#include "runtime/streaming.h"
#include "tokenizer/tokenizer.h"

namespace ss::cli {

struct CommonArgs {
  std::string model;
  std::string tokenizer;
  int threads = 0;
  bool quiet = false;
  std::string ablate;        // heads to zero: "L:H,..." or a JSON file
  std::string ablate_sinks;  // heads whose learned sink logit becomes −∞: "L:H,...", a file, "all"
  bool bf16_activations = false;
  bool int8_activations = false;
};

// -m/--model, --tokenizer, --threads, --quiet. With default_model, --model may be left out and
// means the bundled models/sinkscope-tiny.gguf.
void add_common(CLI::App* cmd, CommonArgs& a, bool with_tokenizer = true,
                bool default_model = false);
// Where the bundled default model is looked for.
std::string default_model_path();
// --ablate L:H,...|FILE.json
void add_ablate(CLI::App* cmd, CommonArgs& a);
// --bf16-activations and --int8-activations, for commands that run the model.
void add_activation_modes(CLI::App* cmd, CommonArgs& a);
// load_model(a.model) with the options above applied, on every rank of the cluster (an error on
// any rank is every rank's, base/cluster.h).
Model load_cli_model(const CommonArgs& a);
// The one-line warning for bytes of a file that were not UTF-8 (replaced by U+FFFD); none for 0.
void warn_invalid_utf8(const std::string& path, size_t bytes);
// read_text(path) with that warning.
TextFile read_cli_text(const std::string& path);

// Token ids made on the root alone (it reads and tokenizes the inputs) and sent to every rank.
std::vector<int> root_ids(const std::function<std::vector<int>()>& make);
// The head mask --ablate asks for (all heads kept when it is empty).
HeadMask ablation_mask(const CommonArgs& a, const ModelConfig& c);

// Checks a --cache policy against the model: --positions (when given) needs rotary positions
// (InputError), and a cache keeping more tokens than the trained context gets a warning.
void check_cache_policy(const CachePolicy& p, const ModelConfig& c, bool positions_given);

// --pipeline and --pipeline-split (sinkscope-mpi: layers over ranks, docs/cluster.md).
void add_pipeline(CLI::App* cmd, bool& pipeline, std::string& split);
// A token's text for labels: printable and valid UTF-8 (control bytes and bytes outside a
// well-formed character as \n, \xNN, ...); a token without text (BOS) by its id.
std::string token_label(const Tokenizer& tok, int id);
// "llama, 4 layers × 8 heads (4 KV heads), dim 256".
std::string model_description(const ModelConfig& c);

// --calib-ctx and --calib-chunks: the calibration windows of criteria and dormant scores.
void add_calibration_windows(CLI::App* cmd, int& ctx, int& chunks);

// Range checks for numeric options, with a one-line message ("--ctx: must be at least 0, not -5").
// The tokenizer.* keys of an exported file: a GGUF's own, kept as they are (BPE merges and all),
// else those of the SentencePiece vocabulary `tokenizer` names.
GgufMetadata export_tokenizer(const std::string& model, const std::string& tokenizer);

CLI::Validator at_least(double lo);
CLI::Validator between(double lo, double hi);

// The command line as typed, for run.json (set by main).
void set_command_line(int argc, char** argv);
const std::string& command_line();

// What run.json records of the machine: the SIMD variant in use and the CPU's features, e.g.
// {"variant": "avx2", "cpu_features": "avx avx2 fma f16c"}.
nlohmann::json simd_info();

// What every run.json holds: the command line, the version, simd_info() and the number of MPI
// ranks; each command adds its own fields (analyze, prune, train).
nlohmann::json run_info();
// Each rank's seconds, in rank order, on the root (every rank must call it; empty elsewhere).
nlohmann::json rank_wall_times(double seconds);

// Each file adds one subcommand with its callback.
void add_analyze(CLI::App& root);
void add_info(CLI::App& root);
void add_generate(CLI::App& root);
void add_forward(CLI::App& root);
void add_perplexity(CLI::App& root);
void add_compare(CLI::App& root);
void add_stream(CLI::App& root);
void add_convert(CLI::App& root);
void add_quantize(CLI::App& root);
void add_eval(CLI::App& root);
void add_prune(CLI::App& root);
void add_export(CLI::App& root);
void add_train(CLI::App& root);
void add_trajectory(CLI::App& root);
void add_tokenizer(CLI::App& root);
void add_tokenize(CLI::App& root);
void add_synth(CLI::App& root);
void add_quant_study(CLI::App& root);
void add_view(CLI::App& root);
void add_mixing(CLI::App& root);

}  // namespace ss::cli
