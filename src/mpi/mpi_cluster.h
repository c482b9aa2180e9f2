#pragma once
// sinkscope-mpi's cluster: the ranks of MPI_COMM_WORLD (Debian's OpenMPI). Only the sinkscope-mpi
// executable links this file; the library and the plain sinkscope binary know MPI only through
// base/cluster.h.

#include <string>

namespace ss::mpi {

// MPI_Init, then installs the cluster (set_cluster) and sets the default thread count: the cores
// the rank is bound to, or, unbound, the node's cores divided by its ranks. Ends MPI when
// destroyed.
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Every rank must run the same binary with the same command line: a hash of both is compared
  // at start-up. Returns the one-line error when they differ (the same on every rank), else "".
  std::string check_same_command(int argc, char** argv) const;
  // Ends every rank at once after an error only some ranks saw.
  [[noreturn]] static void abort_all(int code);
};

}  // namespace ss::mpi
