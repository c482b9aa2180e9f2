// sinkscope: the command-line front end. Each subcommand lives in its own file.
#include <cstdio>
#include <exception>

#include "base/error.h"
#include "cli/common.h"
#include "ops/simd/isa.h"

int main(int argc, char** argv) {
  CLI::App app{"sinkscope " SINKSCOPE_VERSION
               ": attention-sink analysis, head ablation and evaluation for language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SINKSCOPE_VERSION);
  ss::cli::set_command_line(argc, argv);
  ss::cli::add_info(app);
  ss::cli::add_analyze(app);
  ss::cli::add_generate(app);
  ss::cli::add_forward(app);
  ss::cli::add_perplexity(app);
  ss::cli::add_compare(app);
  ss::cli::add_stream(app);
  ss::cli::add_convert(app);
  ss::cli::add_quantize(app);
  ss::cli::add_eval(app);
  ss::cli::add_prune(app);
  ss::cli::add_export(app);
  ss::cli::add_train(app);
  ss::cli::add_trajectory(app);
  ss::cli::add_tokenizer(app);
  ss::cli::add_tokenize(app);
  ss::cli::add_synth(app);
  ss::cli::add_quant_study(app);
  ss::cli::add_view(app);
  try {
    ss::active_isa();  // a bad SINKSCOPE_ISA is a one-line error before any work
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sinkscope: %s (see --help)\n", e.what());
    return 2;
  } catch (const ss::InputError& e) {
    std::fprintf(stderr, "sinkscope: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sinkscope: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
