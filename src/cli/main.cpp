// sinkscope: the command-line front end. Each subcommand lives in its own file. Built a second
// time with SINKSCOPE_WITH_MPI as sinkscope-mpi, whose ranks run one command together
// (base/cluster.h, docs/cluster.md).
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "base/cluster.h"
#include "base/error.h"
#include "cli/common.h"
#include "ops/simd/isa.h"
#ifdef SINKSCOPE_WITH_MPI
#include "mpi/mpi_cluster.h"
#endif

namespace {
// Errors seen by every rank alike (bad options, ClusterError) are printed by the root alone.
bool speaks() {
  return ss::cluster().root();
}

// An error only this rank saw: the other ranks may be waiting for it, so end them all.
// Returns in a single process.
void end_all_ranks(int code);
// Prints an error message (format: "sinkscope: ...%s...\n"), naming the rank in a cluster.
void report(const char* format, const char* what);
}  // namespace

int main(int argc, char** argv) {
#ifdef SINKSCOPE_WITH_MPI
  static ss::mpi::Session mpi(argc, argv);
  if (std::string e = mpi.check_same_command(argc, argv); !e.empty()) {
    if (speaks()) std::fprintf(stderr, "sinkscope: %s\n", e.c_str());
    return 2;
  }
  // Commands that share their work over ranks; any other runs on the root alone.
  static const std::set<std::string> shared{"analyze", "perplexity", "eval",
                                            "prune",   "compare",    "stream"};
  if (ss::cluster().size() > 1 && (argc < 2 || !shared.count(argv[1]))) {
    if (!speaks()) return 0;
    ss::set_cluster(std::make_unique<ss::Cluster>());
  }
#endif
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
  ss::cli::add_mixing(app);
  try {
    ss::active_isa();  // a bad SINKSCOPE_ISA is a one-line error before any work
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return speaks() ? app.exit(e) : 0;
  } catch (const CLI::CallForAllHelp& e) {
    return speaks() ? app.exit(e) : 0;
  } catch (const CLI::CallForVersion& e) {
    return speaks() ? app.exit(e) : 0;
  } catch (const CLI::ParseError& e) {
    if (speaks()) std::fprintf(stderr, "sinkscope: %s (see --help)\n", e.what());
    return 2;
  } catch (const ss::ClusterError& e) {
    if (speaks()) std::fprintf(stderr, "sinkscope: %s\n", e.what());
    return 2;
  } catch (const ss::InputError& e) {
    report("sinkscope: %s\n", e.what());
    end_all_ranks(2);
    return 2;
  } catch (const std::exception& e) {
    report("sinkscope: internal error: %s\n", e.what());
    end_all_ranks(1);
    return 1;
  }
  return 0;
}

namespace {
void end_all_ranks(int code) {
#ifdef SINKSCOPE_WITH_MPI
  if (ss::cluster().size() > 1) ss::mpi::Session::abort_all(code);
#endif
  (void)code;
}

// An error this rank alone may have seen is printed at once by the root; another rank waits a
// moment first, so that an error every rank saw (a bad option value) is printed once, by the
// root, whose abort ends the others before they print.
void report(const char* format, const char* what) {
  if (!speaks()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  if (!speaks())
    std::fprintf(stderr, ("sinkscope: rank %d: " + std::string(format + 11)).c_str(),
                 ss::cluster().rank(), what);
  else
    std::fprintf(stderr, format, what);
}
}  // namespace
