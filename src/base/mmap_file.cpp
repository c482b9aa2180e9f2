#include "base/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.h"

namespace ss {
namespace {

// SINKSCOPE_NO_MMAP=1: read files into anonymous memory instead of mapping them. Benchmarks
// that compare two models use it: how the kernel places a mapped file's page-cache pages moved
// decode speed by 20% between two identical files on a VM (bench/README.md).
bool no_mmap_requested() {
  const char* v = std::getenv("SINKSCOPE_NO_MMAP");
  return v && *v && std::strcmp(v, "0") != 0;
}

const uint8_t* map_file(int fd, const std::string& path, size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) throw InputError(path, std::string("cannot map: ") + std::strerror(errno));
  return static_cast<const uint8_t*>(p);
}

// Anonymous pages (huge pages where the kernel allows), read-only once filled; munmap frees them
// as it does a mapping.
const uint8_t* read_into_anonymous_memory(int fd, const std::string& path, size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw InputError(path,
                     std::string("cannot allocate memory to read it: ") + std::strerror(errno));
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);  // a hint: refused where huge pages are off
#endif
  auto* bytes = static_cast<uint8_t*>(p);
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::pread(fd, bytes + done, size - done, static_cast<off_t>(done));
    if (n <= 0) {
      const std::string why = n == 0 ? "file shrank while being read" : std::strerror(errno);
      ::munmap(p, size);
      throw InputError(path, "cannot read: " + why);
    }
    done += static_cast<size_t>(n);
  }
  ::mprotect(p, size, PROT_READ);
  return bytes;
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(path, "not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    try {
      data_ = no_mmap_requested() ? read_into_anonymous_memory(fd, path, size_)
                                  : map_file(fd, path, size_);
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace ss
