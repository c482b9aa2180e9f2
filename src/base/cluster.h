#pragma once
// The processes one command runs on: this process alone, or the ranks of an MPI job
// (sinkscope-mpi, src/mpi/). Work spread over ranks is folded on rank 0 in a fixed order, so a
// result does not depend on how many ranks made it (docs/cluster.md).
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/error.h"

namespace ss {

class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  // Ranks on this machine, which share its cores.
  virtual int local_size() const { return 1; }
  bool root() const { return rank() == 0; }

  // The root's bytes, on every rank.
  virtual void broadcast(std::string& bytes) const {}
  // Every rank's bytes in rank order, on the root; empty elsewhere.
  virtual std::vector<std::string> gather(std::string bytes) const;
  // Point to point, for pipelines of layers.
  virtual void send(int to, const void* data, size_t n) const;
  virtual void recv(int from, void* data, size_t n) const;
  virtual void barrier() const {}

  // A check every rank makes at the same point. When any rank has an error, every rank throws
  // ClusterError with the message of the lowest such rank ("rank R: ..." from other ranks).
  void agree(const std::string& error) const;

 protected:
  // Whether any rank's flag is set, on every rank.
  virtual bool any(bool flag) const { return flag; }
};

// An error every rank throws together (Cluster::agree): the root prints it, the others end
// quietly.
class ClusterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The process's cluster: a single process unless sinkscope-mpi installed an MPI one. Library
// code shares work only with the cluster it is given; the command line passes this one.
const Cluster& cluster();
// This process alone.
const Cluster& single_process();
void set_cluster(std::unique_ptr<Cluster> c);

// Runs work(i) for every i in [0, n), index i on rank i % size, and calls fold(i, bytes) with
// each result on the root, in index order. Indices go in rounds of one per rank, so the root
// folds (and shows progress) as the job goes. On other ranks fold is never called.
void distribute(const Cluster& c, size_t n, const std::function<std::string(size_t)>& work,
                const std::function<void(size_t, std::string_view)>& fold);

// Runs f on the root only and agrees on its InputError; then every rank has the root's bytes.
std::string on_root(const Cluster& c, const std::function<std::string()>& f);

// Runs f on every rank and agrees on any InputError before anyone goes on.
template <class F>
auto on_every_rank(const Cluster& c, F f) -> decltype(f()) {
  std::string error;
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      c.agree("");
      return;
    } else {
      auto r = f();
      c.agree("");
      return r;
    }
  } catch (const ClusterError&) {
    throw;
  } catch (const InputError& e) {
    error = e.what();
  }
  c.agree(error);
  throw std::logic_error("on_every_rank: agree did not throw");
}

}  // namespace ss
