#include "base/cluster.h"

namespace ss {

namespace {
std::unique_ptr<Cluster>& installed() {
  static std::unique_ptr<Cluster> c = std::make_unique<Cluster>();
  return c;
}
}  // namespace

const Cluster& cluster() {
  return *installed();
}
const Cluster& single_process() {
  static const Cluster one;
  return one;
}
void set_cluster(std::unique_ptr<Cluster> c) {
  installed() = std::move(c);
}

std::vector<std::string> Cluster::gather(std::string bytes) const {
  return {std::move(bytes)};
}

void Cluster::send(int, const void*, size_t) const {
  throw std::logic_error("Cluster::send: a single process has no other rank");
}
void Cluster::recv(int, void*, size_t) const {
  throw std::logic_error("Cluster::recv: a single process has no other rank");
}

void Cluster::agree(const std::string& error) const {
  if (size() == 1) {
    if (!error.empty()) throw ClusterError(error);
    return;
  }
  if (!any(!error.empty())) return;
  // The lowest failing rank's message, from gathered flags and one broadcast.
  std::vector<std::string> all = gather(error);
  std::string message;
  if (root())
    for (size_t r = 0; r < all.size(); ++r)
      if (!all[r].empty()) {
        message = r == 0 ? all[r] : "rank " + std::to_string(r) + ": " + all[r];
        break;
      }
  broadcast(message);
  throw ClusterError(message);
}

void distribute(const Cluster& c, size_t n, const std::function<std::string(size_t)>& work,
                const std::function<void(size_t, std::string_view)>& fold) {
  const size_t ranks = static_cast<size_t>(c.size()), me = static_cast<size_t>(c.rank());
  if (ranks == 1) {
    for (size_t i = 0; i < n; ++i) fold(i, work(i));
    return;
  }
  for (size_t first = 0; first < n; first += ranks) {
    std::string mine;
    std::string error;
    if (first + me < n) {
      try {
        mine = work(first + me);
      } catch (const InputError& e) {
        error = e.what();
      }
    }
    c.agree(error);
    std::vector<std::string> all = c.gather(std::move(mine));
    if (c.root())
      for (size_t r = 0; r < ranks && first + r < n; ++r) fold(first + r, all[r]);
  }
}

std::string on_root(const Cluster& c, const std::function<std::string()>& f) {
  std::string bytes, error;
  if (c.root()) {
    try {
      bytes = f();
    } catch (const InputError& e) {
      error = e.what();
    }
  }
  c.agree(error);
  c.broadcast(bytes);
  return bytes;
}

}  // namespace ss
