// MappedFile maps a file, or with SINKSCOPE_NO_MMAP=1 reads it into anonymous memory: the same
// bytes either way, and the same model.
#include <gtest/gtest.h>

#include <cstdlib>

#include "base/error.h"
#include "base/mmap_file.h"
#include "base/thread_pool.h"
#include "model/load_model.h"
#include "runtime/runtime.h"
#include "test_util.h"

namespace ss {
namespace {

// Sets SINKSCOPE_NO_MMAP for one scope.
struct NoMmap {
  NoMmap() { setenv("SINKSCOPE_NO_MMAP", "1", 1); }
  ~NoMmap() { unsetenv("SINKSCOPE_NO_MMAP"); }
};

std::vector<uint8_t> bytes_of(const MappedFile& f) {
  return {f.bytes().begin(), f.bytes().end()};
}

TEST(MappedFile, ReadIntoMemoryHasTheMappedBytes) {
  const std::string path = test::temp_dir() + "/bytes.bin";
  std::string content(3 * 4096 + 17, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 3);
  test::spit(path, content);
  const std::vector<uint8_t> want(content.begin(), content.end());
  EXPECT_EQ(bytes_of(MappedFile(path)), want);
  NoMmap no_mmap;
  EXPECT_EQ(bytes_of(MappedFile(path)), want);
  const std::string empty = test::temp_dir() + "/empty.bin";
  test::spit(empty, "");
  EXPECT_EQ(MappedFile(empty).size(), 0u);
  EXPECT_THROW(MappedFile(test::temp_dir() + "/missing.bin"), InputError);
}

TEST(MappedFile, DefaultModelGivesTheSameLogitsReadIntoMemory) {
  const std::vector<int> ids = {1, 200, 17, 900, 5, 33};
  auto logits = [&] {
    const Model m = load_model(test::kDefaultModel);
    ThreadPool pool(2);
    Runtime rt(m, pool);
    return rt.forward(ids, 0, Logits::All);
  };
  const std::vector<float> mapped = logits();
  NoMmap no_mmap;
  EXPECT_EQ(logits(), mapped);
}

}  // namespace
}  // namespace ss
