// StreamingLLM caches (runtime/streaming.h): policies parsed and refused, a sink cache that never
// fills equal to the dense one bit for bit, decode equal to prefill, re-computation equal to fresh
// windows, and (on a one-layer model, whose keys and values depend on their token alone) a
// streamed step equal to encoding the cache's tokens from scratch at the same positions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "model/load_model.h"
#include "runtime/streaming.h"
#include "test_fixtures.h"
#include "test_util.h"

using namespace ss;

namespace {

std::vector<int> text_ids(int n) {
  return test::prompt_ids(n);
}

// -log p(next | ids) from a fresh runtime running ids at positions pos0...
double fresh_nll(const Model& m, const std::vector<int>& ids, int pos0, int next) {
  ThreadPool pool(2);
  Runtime rt(m, pool, pos0 + static_cast<int>(ids.size()));
  if (pos0 > 0) rt.set_position_offset(pos0);
  const std::vector<float> logits = rt.forward(ids, 0, Logits::Last);
  return token_nll(logits, next);
}

}  // namespace

TEST(Streaming, PoliciesParseAndBadOnesAreOneLineErrors) {
  EXPECT_EQ(CachePolicy::parse("dense").name(), "dense");
  const CachePolicy s = CachePolicy::parse("sink:4+window:252");
  EXPECT_EQ(s.kind, CachePolicy::Kind::SinkWindow);
  EXPECT_EQ(s.sinks, 4);
  EXPECT_EQ(s.window, 252);
  EXPECT_EQ(s.name(), "sink:4+window:252");
  EXPECT_EQ(s.capacity(100), 100);
  EXPECT_EQ(s.capacity(1000), 256);
  EXPECT_EQ(CachePolicy::parse("window:16").name(), "window:16");
  EXPECT_EQ(CachePolicy::parse("recompute:8").capacity(100), 8);
  for (const std::string bad :
       {"window:0", "window:-3", "sink:0+window:4", "sink:4+window:0", "sink:4",
        "window:", "window:12x", "lru:4", "", "recompute:1e3", "sink:4+window:99999999999"}) {
    try {
      CachePolicy::parse(bad, "--policy");
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind("--policy: '" + bad + "'", 0), 0u) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos);
    }
  }
}

TEST(Streaming, SinkCacheThatNeverFillsIsDenseAndDecodeIsPrefill) {
  for (const std::string arch : {"llama", "gpt2", "gpt-oss"}) {
    SCOPED_TRACE(arch);
    const Model m = load_model(test::synth_model(arch, "", 7));
    const std::vector<int> ids = text_ids(24);
    ThreadPool pool(2);
    const StreamResult dense =
        stream_nll(m, pool, ids, CachePolicy::parse("dense"), StreamPositions::Cache);
    const StreamResult sink =
        stream_nll(m, pool, ids, CachePolicy::parse("sink:4+window:20"), StreamPositions::Cache);
    ASSERT_EQ(dense.nll.size(), ids.size() - 1);
    EXPECT_EQ(sink.nll, dense.nll);
    Runtime rt(m, pool, 24);
    const std::vector<double> prefill = rt.forward_nll(ids, 0);
    for (size_t t = 0; t < prefill.size(); ++t) EXPECT_NEAR(dense.nll[t], prefill[t], 1e-5) << t;
  }
}

TEST(Streaming, RecomputeIsFreshWindows) {
  const Model m = load_model(test::synth_model("qwen3", "", 7));
  const std::vector<int> ids = text_ids(30);
  ThreadPool pool(2);
  const StreamResult r =
      stream_nll(m, pool, ids, CachePolicy::parse("recompute:8"), StreamPositions::Cache);
  for (int t : {3, 7, 8, 20, 28}) {
    const int from = std::max(0, t + 1 - 8);
    const std::vector<int> window(ids.begin() + from, ids.begin() + t + 1);
    EXPECT_EQ(r.nll[static_cast<size_t>(t)], fresh_nll(m, window, 0, ids[t + 1])) << t;
  }
  // With the first K tokens kept in front of the last W.
  const StreamResult s =
      stream_nll(m, pool, ids, CachePolicy::parse("sink:2+recompute:6"), StreamPositions::Cache);
  EXPECT_EQ(CachePolicy::parse("sink:2+recompute:6").name(), "sink:2+recompute:6");
  for (int t : {3, 7, 8, 20, 28}) {
    std::vector<int> window(ids.begin(), ids.begin() + t + 1);
    if (t + 1 > 8) {
      window.assign(ids.begin(), ids.begin() + 2);
      window.insert(window.end(), ids.begin() + t + 1 - 6, ids.begin() + t + 1);
    }
    EXPECT_EQ(s.nll[static_cast<size_t>(t)], fresh_nll(m, window, 0, ids[t + 1])) << t;
  }
}

// With one layer a token's key and value do not depend on what came before, so a cache of
// sinks and a window holds what encoding those tokens afresh would: at positions 0.. within the
// cache (StreamingLLM), or at their text positions.
TEST(Streaming, EvictedCacheEqualsEncodingItsTokensAfresh) {
  for (const std::string arch : {"llama", "gpt-oss"}) {
    SCOPED_TRACE(arch);
    Model m = load_model(test::synth_model(arch, "", 7));
    m.layers.resize(1);
    m.config.n_layers = 1;
    const std::vector<int> ids = text_ids(40);
    ThreadPool pool(2);
    const int K = 2, W = 5;
    const StreamResult cache =
        stream_nll(m, pool, ids, CachePolicy::parse("sink:2+window:5"), StreamPositions::Cache);
    const StreamResult original =
        stream_nll(m, pool, ids, CachePolicy::parse("sink:2+window:5"), StreamPositions::Original);
    const StreamResult window =
        stream_nll(m, pool, ids, CachePolicy::parse("window:5"), StreamPositions::Original);
    for (int t : {K + W, K + W + 1, 20, 38}) {
      std::vector<int> kept(ids.begin(), ids.begin() + K);
      kept.insert(kept.end(), ids.begin() + t + 1 - W, ids.begin() + t + 1);
      EXPECT_NEAR(cache.nll[static_cast<size_t>(t)], fresh_nll(m, kept, 0, ids[t + 1]), 1e-5) << t;
      // Original positions: the window's keys sit at their text positions, behind the sinks;
      // with one layer only the query's position and the keys' matter, so a fresh run of the
      // window alone at its text positions differs from the sink cache but equals window:W.
      const std::vector<int> last(ids.begin() + t + 1 - W, ids.begin() + t + 1);
      EXPECT_NEAR(window.nll[static_cast<size_t>(t)], fresh_nll(m, last, t + 1 - W, ids[t + 1]),
                  1e-5)
          << t;
      EXPECT_NE(original.nll[static_cast<size_t>(t)], cache.nll[static_cast<size_t>(t)]) << t;
    }
    // Bounded memory: the cache is K + W slots however long the text.
    EXPECT_EQ(cache.cache_bytes,
              2u * static_cast<size_t>(K + W) * m.config.kv_dim() * sizeof(float));
  }
}

TEST(Streaming, StreamCommandWritesItsFilesAndRefusesBadInput) {
  const std::string model = test::synth_model("llama", "", 7);
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  const std::string out = test::temp_dir() + "/stream";
  auto r = test::run_cli("stream -m " + model + " -f " + text +
                         " --policy dense --policy window:8 --policy sink:2+window:6"
                         " --policy recompute:8 --tokens 40 --threads 1 --quiet -o " +
                         out);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream csv(out + "/stream.csv");
  std::string line;
  int rows = 0;
  std::getline(csv, line);
  EXPECT_EQ(line, "policy,position,nll,running_ppl");
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 4 * 39);
  const auto j = nlohmann::json::parse(std::ifstream(out + "/stream.json"));
  ASSERT_EQ(j["policies"].size(), 4u);
  EXPECT_EQ(j["policies"][2]["policy"], "sink:2+window:6");
  EXPECT_EQ(j["policies"][2]["tokens_scored"], 39);
  EXPECT_EQ(j["policies"][2]["cache_bytes"], j["policies"][1]["cache_bytes"]);
  EXPECT_TRUE(std::filesystem::exists(out + "/report.html"));

  r = test::run_cli("stream -m " + model + " -f " + text + " --policy window:0 -o " + out);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--policy: 'window:0' needs a positive window W"), std::string::npos)
      << r.err;
  r = test::run_cli("stream -m " + test::synth_model("gpt2", "", 7) + " -f " + text +
                    " --policy window:8 --positions cache -o " + out);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--positions: gpt2 models have no rotary positions"), std::string::npos)
      << r.err;
}

TEST(Streaming, PerplexityWithACacheEqualsStreamsLoss) {
  const std::string model = test::synth_model("llama", "", 7);
  const std::string text = test::temp_dir() + "/short.txt";
  std::ofstream(text) << "One day a little girl named Lily found a needle in her room. She knew it "
                         "was difficult to play with it because it was sharp.";
  const std::string out = test::temp_dir() + "/stream-ppl";
  auto s = test::run_cli("stream -m " + model + " -f " + text +
                         " --policy sink:2+window:6 --threads 1 --quiet -o " + out);
  ASSERT_EQ(s.code, 0) << s.err;
  const auto streamed = nlohmann::json::parse(std::ifstream(out + "/stream.json"))["policies"][0];
  auto r = test::run_cli("perplexity -m " + model + " -f " + text +
                         " --cache sink:2+window:6 --threads 1 --quiet --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["cache"], "sink:2+window:6");
  EXPECT_EQ(j["tokens_scored"], streamed["tokens_scored"]);
  EXPECT_EQ(j["nll_mean"].get<double>(), streamed["nll_mean"].get<double>());
  EXPECT_TRUE(j["ctx"].is_null());
  EXPECT_FALSE(j["bits_per_byte"].is_null());  // every token is scored
  // A cache never full is the dense model, token by token: within the usual decode tolerance.
  auto dense = test::run_cli("perplexity -m " + model + " -f " + text + " --threads 1 --json");
  auto big = test::run_cli("perplexity -m " + model + " -f " + text +
                           " --cache sink:4+window:200 --threads 1 --quiet --json");
  ASSERT_EQ(dense.code, 0) << dense.err;
  ASSERT_EQ(big.code, 0) << big.err;
  EXPECT_NEAR(nlohmann::json::parse(big.out)["nll_mean"].get<double>(),
              nlohmann::json::parse(dense.out)["nll_mean"].get<double>(), 1e-5);
  r = test::run_cli("perplexity -m " + model + " -f " + text + " --cache window:8 --ctx 16");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--ctx: not with --cache window:8"), std::string::npos) << r.err;
  r = test::run_cli("perplexity -m " + model + " -f " + text + " --positions original");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--positions: only with --cache"), std::string::npos) << r.err;
}

TEST(Streaming, GenerateWithASinkCacheRunsPastTheContext) {
  const std::string model = test::synth_model("qwen3", "", 7);
  // A cache that never fills generates what the dense one does.
  auto dense = test::run_cli("generate -m " + model + " -p 'a b c' -n 12 --threads 1");
  auto sink = test::run_cli("generate -m " + model +
                            " -p 'a b c' -n 12 --threads 1 --cache sink:4+window:60");
  ASSERT_EQ(dense.code, 0) << dense.err;
  ASSERT_EQ(sink.code, 0) << sink.err;
  EXPECT_EQ(sink.out, dense.out);
  // Far past the model's context with a small cache.
  const int ctx = load_model(model).config.max_seq_len;
  auto r = test::run_cli("generate -m " + model + " -p 'a' --temp 1 -n " + std::to_string(3 * ctx) +
                         " --threads 1 --cache sink:2+window:14");
  EXPECT_EQ(r.code, 0) << r.err;
  // Far more text than 16 tokens of this vocabulary make: the cache evicted and went on.
  EXPECT_GT(r.out.size(), 400u) << r.out;
  r = test::run_cli("generate -m " + model + " -p 'a' -n 4 --cache recompute:8");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--cache: recompute:W is an evaluation baseline"), std::string::npos)
      << r.err;
}

// Wall time per block of 1000 steps, the flat-cost bench's input (bench/stream_flat.sh).
TEST(Streaming, TimesEveryWholeBlockOfSteps) {
  const Model m = load_model(test::synth_model("llama", "", 7));
  const std::vector<int> ids = text_ids(2100);
  ThreadPool pool(1);
  const StreamResult r =
      stream_nll(m, pool, ids, CachePolicy::parse("sink:2+window:6"), StreamPositions::Cache);
  ASSERT_EQ(r.nll.size(), 2099u);
  ASSERT_EQ(r.block_seconds.size(), 2u);  // steps 0..999 and 1000..1999; the last 99 are no block
  for (double s : r.block_seconds) EXPECT_GT(s, 0);
  EXPECT_LE(r.block_seconds[0] + r.block_seconds[1], r.seconds);
}

// A run continued from any saved state gives the uninterrupted run's nll bit for bit, and its
// timing adds up the work of both parts; a state that does not fit is refused.
TEST(Streaming, ContinuesFromASavedStateBitForBit) {
  const Model m = load_model(test::synth_model("llama", "", 7));
  const std::vector<int> ids = text_ids(40);
  ThreadPool pool(2);
  for (const std::string name :
       {"dense", "window:8", "sink:2+window:6", "recompute:8", "sink:2+recompute:6"}) {
    for (const StreamPositions positions : {StreamPositions::Cache, StreamPositions::Original}) {
      SCOPED_TRACE(name);
      const CachePolicy policy = CachePolicy::parse(name);
      std::vector<std::string> states;
      StreamCheckpoints save_every_7;
      save_every_7.due = [](int t) { return (t + 1) % 7 == 0; };
      save_every_7.save = [&](std::string&& s) { states.push_back(std::move(s)); };
      const StreamResult whole = stream_nll(m, pool, ids, policy, positions);
      const StreamResult saving =
          stream_nll(m, pool, ids, policy, positions, nullptr, nullptr, &save_every_7);
      EXPECT_EQ(saving.nll, whole.nll);
      ASSERT_EQ(states.size(), 5u);  // after steps 6, 13, 20, 27, 34 of 0..38
      for (const std::string& state : states) {
        StreamCheckpoints resume;
        resume.resume = state;
        size_t first = ids.size();
        const StreamResult continued = stream_nll(
            m, pool, ids, policy, positions, nullptr, [&](size_t t) { first = std::min(first, t); },
            &resume);
        EXPECT_EQ(continued.nll, whole.nll);
        EXPECT_GT(first, 0u);  // the saved steps were not run again
        EXPECT_GT(continued.seconds, 0);
      }
      // Cut short, or for another policy or text: refused.
      StreamCheckpoints cut;
      cut.resume = states[2].substr(0, states[2].size() - 3);
      EXPECT_THROW(stream_nll(m, pool, ids, policy, positions, nullptr, nullptr, &cut),
                   BadStreamState);
      StreamCheckpoints other;
      other.resume = states[2];
      EXPECT_THROW(stream_nll(m, pool, text_ids(41), policy, positions, nullptr, nullptr, &other),
                   BadStreamState);
      EXPECT_THROW(stream_nll(m, pool, ids, CachePolicy::parse("window:9"), positions, nullptr,
                              nullptr, &other),
                   BadStreamState);
    }
  }
}
