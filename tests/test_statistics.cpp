// The statistics registry (analysis/statistics.h): consistent with SPEC.md and with itself, and
// docs/statistics.md generated from it.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "analysis/head_stats.h"
#include "analysis/statistics.h"
#include "base/error.h"
#include "prune/criteria.h"
#include "prune/dormant_rule.h"
#include "test_util.h"

namespace ss {
namespace {

using test::slurp;

TEST(Statistics, EveryNameIsInSpecAndEveryRowIsWhole) {
  const std::string spec = slurp(test::shared("SPEC.md"));
  ASSERT_FALSE(spec.empty());
  std::set<std::string_view> names;
  for (const Statistic& s : statistics()) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name << " twice";
    std::string quoted = "`", heading = "## ";  // (appends: GCC 12 warns on `"x" + string`)
    quoted.append(s.name).append("`");
    heading.append(s.section);
    EXPECT_NE(spec.find(quoted), std::string::npos) << s.name;
    EXPECT_NE(spec.find(heading), std::string::npos) << s.name;
    EXPECT_FALSE(s.caption.empty()) << s.name;
    EXPECT_FALSE(s.unit.empty()) << s.name;
    // Finished directly, or the layer normalisation of an earlier row that is.
    if (s.layer_normalised.empty()) {
      EXPECT_NE(s.finish, nullptr) << s.name;
    } else {
      EXPECT_EQ(s.finish, nullptr) << s.name;
      const Statistic* from = find_statistic(s.layer_normalised);
      ASSERT_NE(from, nullptr) << s.name;
      EXPECT_NE(from->finish, nullptr) << s.name;
      EXPECT_TRUE(names.count(from->name)) << s.name << " before " << from->name;
    }
  }
  EXPECT_EQ(find_statistic("no_such_statistic"), nullptr);
}

// SPEC.md §Dormant heads: 14 scores; awft and awft_ln flag high values, the others low ones.
TEST(Statistics, DormantScoresAndDirectionsFollowSpec) {
  const std::vector<std::string> expected = {
      "awft",        "awft_ln",        "ahon",           "ahon_ln",   "entropy",
      "entropy_ln",  "value_first",    "value_first_ln", "value_avg", "value_avg_ln",
      "last_output", "last_output_ln", "contrib",        "contrib_ln"};
  EXPECT_EQ(dormant_score_names(), expected);
  for (const auto& n : expected) {
    EXPECT_TRUE(is_dormant_score(n)) << n;
    EXPECT_EQ(dormant_when_high(n), n == "awft" || n == "awft_ln") << n;
    EXPECT_TRUE(is_valid_criterion("dormant:" + n)) << n;
  }
  EXPECT_FALSE(is_dormant_score("bos_sink_score"));
  EXPECT_FALSE(is_valid_criterion("dormant:bos_sink_score"));
  try {
    dormant_score("ahon_lnn", "--dormant-score");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--dormant-score"), std::string::npos) << what;
    EXPECT_NE(what.find("ahon_ln"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

// heads.csv's columns keep their order (statistics first, dormant scores after).
TEST(Statistics, HeadStatNamesAreTheRegistryInOrder) {
  const auto& names = head_stat_names();
  ASSERT_EQ(names.size(), statistics().size());
  EXPECT_EQ(names.front(), "bos_sink_score");
  EXPECT_EQ(names[3], "top_key");
  EXPECT_EQ(names[11], "learned_sink_mass");
  EXPECT_EQ(names[13], "awft");
  EXPECT_EQ(names.back(), "contrib_ln");
  EXPECT_EQ(find_statistic("top_key")->aggregate, Aggregate::Mode);
}

TEST(Statistics, DocsPageIsGeneratedFromTheRegistry) {
  const std::string doc = slurp(std::string(SINKSCOPE_SOURCE_DIR) + "/docs/statistics.md");
  EXPECT_EQ(doc, statistics_markdown())
      << "regenerate: build/release/sinkscope info --statistics > docs/statistics.md";
}

}  // namespace
}  // namespace ss
