// An oracle for tests/llama_parity.sh: llama.cpp's next-token loss on given token ids, so that
// sinkscope's forward pass can be set beside an implementation nobody here wrote. Built only when
// -DSINKSCOPE_LLAMA_CPP=<llama.cpp source dir>;<its build dir> names a build (never in CI).
//
//   llama_oracle MODEL.gguf IDS.txt [f16|f32]
//
// IDS.txt holds whitespace-separated token ids. Prints one JSON object: {"n": ids, "nll": [...]}
// with nll[t] = −log p(ids[t+1] | ids[0..t]) in double from llama.cpp's f32 logits. The last
// argument is the KV cache type (llama.cpp's default f16, or f32 for exact arithmetic).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: llama_oracle MODEL.gguf IDS.txt [f16|f32]\n");
    return 2;
  }
  const bool f32_cache = argc > 3 && std::strcmp(argv[3], "f32") == 0;
  std::vector<llama_token> ids;
  std::ifstream in(argv[2]);
  for (long v; in >> v;) ids.push_back(static_cast<llama_token>(v));
  if (ids.size() < 2) {
    std::fprintf(stderr, "%s: fewer than two token ids\n", argv[2]);
    return 2;
  }
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) {
    std::fprintf(stderr, "%s: llama.cpp could not load it\n", argv[1]);
    return 2;
  }
  const int n = static_cast<int>(ids.size());
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(n);
  cp.n_threads = cp.n_threads_batch = 2;
  if (f32_cache) {
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    // The CPU's flash attention rounds K and V to f16 whatever the cache type (the f16 and f32
    // runs gave the same bits with it on), so exact arithmetic needs it off.
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  }
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) {
    std::fprintf(stderr, "%s: no llama.cpp context\n", argv[1]);
    return 2;
  }
  llama_batch batch = llama_batch_init(n, 0, 1);
  for (int i = 0; i < n; ++i) {
    batch.token[i] = ids[i];
    batch.pos[i] = i;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = n;
  if (llama_decode(ctx, batch) != 0) {
    std::fprintf(stderr, "%s: llama_decode failed\n", argv[1]);
    return 2;
  }
  const int V = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::printf("{\"n\": %d, \"nll\": [", n);
  for (int t = 0; t + 1 < n; ++t) {
    const float* l = llama_get_logits_ith(ctx, t);
    double mx = l[0], sum = 0;
    for (int v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(l[v]));
    for (int v = 0; v < V; ++v) sum += std::exp(static_cast<double>(l[v]) - mx);
    std::printf("%s%.17g", t ? ", " : "", std::log(sum) + mx - l[ids[t + 1]]);
  }
  std::printf("]}\n");
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
