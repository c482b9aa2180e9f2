#pragma once
// What `sinkscope stream` writes: stream.csv (per policy and position, the token's nll and the
// running perplexity), stream.json (per policy: tokens, perplexity, tokens/s, seconds per 1000
// tokens, cache bytes) and report.html (StreamingLLM's figure: log-perplexity against position
// per policy).
#include <string>
#include <vector>

namespace ss {

struct StreamRun {
  std::string policy;
  std::vector<double> nll;  // nll[t]: of text token t + 1
  double seconds = 0;
  std::vector<double> block_seconds;  // StreamResult::block_seconds
  size_t cache_bytes = 0;
};

// Writes the three files into dir (created if needed), each atomically. model_ctx is the
// model's training context, marked in the figure.
void write_stream_files(const std::string& dir, const std::vector<StreamRun>& runs, int model_ctx,
                        const std::string& model_name, const std::string& text_name);

}  // namespace ss
