#include "net/fd.h"

#include <unistd.h>

namespace nethttp::net {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    // close() is not retried on EINTR: on Linux the descriptor is released anyway.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace nethttp::net
