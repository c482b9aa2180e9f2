#pragma once
// Memory for the large arrays `Model.run` returns (patterns, hook caches, logits), kept for reuse
// once an array dies. A fresh block of tens of MiB comes from the kernel as new pages, each
// faulted in and zeroed on first write: for a 2048 x 2048 pattern that cost several times the
// copy itself (bench/README.md, issue 18). A loop of runs that drops each result before the next
// then writes into memory it already has. Blocks are 2 MiB-aligned and marked for transparent
// huge pages, so even a first use faults once per 2 MiB instead of once per 4 KiB.
#include <pybind11/numpy.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace sinkscope_python {

class ArrayPool {
 public:
  static constexpr size_t kMinBytes = size_t{1} << 20;      // smaller arrays: numpy's allocator
  static constexpr size_t kAlign = size_t{2} << 20;         // one huge page
  static constexpr size_t kMaxIdleBytes = size_t{1} << 30;  // idle memory kept, at most

  // The process's pool. Never destroyed: arrays may outlive the module's teardown.
  static ArrayPool& instance() {
    static ArrayPool* pool = new ArrayPool;
    return *pool;
  }

  // An uninitialised C-ordered float32 array of `shape`. The caller holds the GIL.
  pybind11::array_t<float> floats(const std::vector<pybind11::ssize_t>& shape) {
    size_t count = 1;
    for (pybind11::ssize_t s : shape) count *= static_cast<size_t>(s);
    const size_t bytes = count * sizeof(float);
    if (bytes < kMinBytes) return pybind11::array_t<float>(shape);
    auto* block = new Block{this, nullptr, 0};
    take(bytes, *block);
    pybind11::capsule owner(block, [](void* p) {
      auto* b = static_cast<Block*>(p);
      b->pool->give_back(*b);
      delete b;
    });
    return pybind11::array_t<float>(shape, static_cast<float*>(block->data), owner);
  }

  size_t idle_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return idle_bytes_;
  }

 private:
  struct Block {
    ArrayPool* pool;
    void* data;
    size_t bytes;  // the block's size, a multiple of kAlign
  };

  // The smallest idle block that fits without wasting more than half of it, else a new one.
  void take(size_t bytes, Block& b) {
    const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = idle_.lower_bound(rounded);
      if (it != idle_.end() && it->first <= 2 * rounded) {
        b.data = it->second;
        b.bytes = it->first;
        idle_bytes_ -= it->first;
        idle_.erase(it);
        return;
      }
    }
    b.data = std::aligned_alloc(kAlign, rounded);
    if (!b.data) throw std::bad_alloc();
    b.bytes = rounded;
    madvise(b.data, rounded, MADV_HUGEPAGE);  // a hint: without THP the block works as it is
  }

  // Keeps the block for the next array unless that would hold more than kMaxIdleBytes idle;
  // then the largest idle blocks go first.
  void give_back(const Block& b) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.emplace(b.bytes, b.data);
    idle_bytes_ += b.bytes;
    while (idle_bytes_ > kMaxIdleBytes) {
      auto largest = std::prev(idle_.end());
      idle_bytes_ -= largest->first;
      std::free(largest->second);
      idle_.erase(largest);
    }
  }

  std::mutex mu_;
  std::multimap<size_t, void*> idle_;  // by size
  size_t idle_bytes_ = 0;
};

}  // namespace sinkscope_python
