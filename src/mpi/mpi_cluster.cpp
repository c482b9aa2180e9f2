#include "mpi/mpi_cluster.h"

#include <mpi.h>
#include <sched.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <thread>

#include "base/cluster.h"
#include "base/sha256.h"
#include "base/thread_pool.h"

namespace ss::mpi {

namespace {

// Messages larger than INT_MAX bytes go in pieces (MPI counts are ints).
constexpr size_t kPiece = size_t{1} << 30;

class MpiCluster : public Cluster {
 public:
  MpiCluster() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void broadcast(std::string& bytes) const override {
    unsigned long long count = bytes.size();
    MPI_Bcast(&count, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    const size_t n = count;
    bytes.resize(n);
    for (size_t at = 0; at < n; at += kPiece)
      MPI_Bcast(bytes.data() + at, static_cast<int>(std::min(kPiece, n - at)), MPI_BYTE, 0,
                MPI_COMM_WORLD);
  }

  std::vector<std::string> gather(std::string bytes) const override {
    // Sizes first, then each rank's bytes to the root in rank order.
    unsigned long long n = bytes.size();
    std::vector<unsigned long long> sizes(root() ? size_ : 0);
    MPI_Gather(&n, 1, MPI_UNSIGNED_LONG_LONG, sizes.data(), 1, MPI_UNSIGNED_LONG_LONG, 0,
               MPI_COMM_WORLD);
    if (!root()) {
      send(0, bytes.data(), bytes.size());
      return {};
    }
    std::vector<std::string> all(size_);
    all[0] = std::move(bytes);
    for (int r = 1; r < size_; ++r) {
      all[r].resize(sizes[r]);
      recv(r, all[r].data(), sizes[r]);
    }
    return all;
  }

  void send(int to, const void* data, size_t n) const override {
    const char* p = static_cast<const char*>(data);
    for (size_t at = 0; at < n; at += kPiece)
      MPI_Send(p + at, static_cast<int>(std::min(kPiece, n - at)), MPI_BYTE, to, 0, MPI_COMM_WORLD);
  }
  void recv(int from, void* data, size_t n) const override {
    char* p = static_cast<char*>(data);
    for (size_t at = 0; at < n; at += kPiece)
      MPI_Recv(p + at, static_cast<int>(std::min(kPiece, n - at)), MPI_BYTE, from, 0,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  void barrier() const override { MPI_Barrier(MPI_COMM_WORLD); }

 protected:
  bool any(bool flag) const override {
    int mine = flag, result = 0;
    MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return result != 0;
  }

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace

Session::Session(int& argc, char**& argv) {
  MPI_Init(&argc, &argv);
  auto c = std::make_unique<MpiCluster>();
  // The cores this rank may run on: mpirun binds each rank to one core by default (with 2 ranks
  // or fewer), else the node's cores are shared by its ranks.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t mask;
  const int allowed = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : cores;
  ThreadPool::set_default_size(allowed < cores ? std::max(1, allowed)
                                               : std::max(1, cores / c->local_size()));
  set_cluster(std::move(c));
}

Session::~Session() {
  set_cluster(std::make_unique<Cluster>());
  MPI_Finalize();
}

std::string Session::check_same_command(int argc, char** argv) const {
  // The binary's own bytes and the arguments, NUL-separated.
  std::string args;
  for (int i = 1; i < argc; ++i) args.append(argv[i]).push_back('\0');
  std::string mine;
  try {
    mine = sha256_file("/proc/self/exe") + " " + sha256_hex(args);
  } catch (const std::exception&) {
    mine = "? " + sha256_hex(args);  // no /proc: the arguments alone
  }
  const Cluster& c = cluster();
  std::vector<std::string> all = c.gather(mine);
  std::string error;
  if (c.root())
    for (int r = 1; r < c.size(); ++r) {
      if (all[r] == all[0]) continue;
      const bool same_binary =
          all[r].substr(0, all[r].find(' ')) == all[0].substr(0, all[0].find(' '));
      error = "rank " + std::to_string(r) + " runs " +
              (same_binary ? "other options" : "another sinkscope-mpi binary") +
              " than rank 0; every rank must run the same binary with the same command line";
      break;
    }
  c.broadcast(error);
  return error;
}

void Session::abort_all(int code) {
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return
}

}  // namespace ss::mpi
