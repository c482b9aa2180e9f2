// The test binary's main: GoogleTest, plus the SIMD variant check. ctest runs the golden tests once
// per variant with SINKSCOPE_ISA set (tests/CMakeLists.txt); a variant this CPU cannot run skips
// them (exit 77), and a misspelt variant, or a filter that selects no test, fails.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ops/simd/isa.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (const char* env = std::getenv("SINKSCOPE_ISA"); env && *env) {
    bool known = false;
    for (ss::Isa isa : ss::kAllIsas) {
      if (std::string_view(env) != ss::isa_name(isa)) continue;
      known = true;
      if (!ss::isa_supported(isa)) {
        std::printf("SINKSCOPE_ISA=%s: this CPU cannot run it (features: %s); skipped\n", env,
                    ss::cpu_feature_list().c_str());
        return 77;
      }
    }
    if (!known) {
      std::printf("SINKSCOPE_ISA=%s is not a variant\n", env);
      return 1;
    }
  }
  const int rc = RUN_ALL_TESTS();
  if (rc == 0 && ::testing::UnitTest::GetInstance()->test_to_run_count() == 0 &&
      !::testing::GTEST_FLAG(list_tests)) {
    std::printf("no test matched the filter\n");
    return 1;
  }
  return rc;
}
