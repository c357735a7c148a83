// A dial hook over socketpairs: the test plays the server on the other end.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "nethttp/transport.h"

namespace nethttp::testing {

/// The response every dial finds waiting for it.
inline constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Writes all of `bytes` to a blocking socket; false if the peer is gone.
inline bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// A dial hook that makes a socketpair per dial: the transport gets one
/// end, the test the other ("the server"), with one response already
/// written into it (the client reads it once it has sent its request). The
/// test then acts on an idle connection's server end at a moment it chooses.
class SocketPairDialer {
 public:
  ~SocketPairDialer() {
    for (const int fd : peers_) {
      if (fd >= 0) ::close(fd);
    }
  }

  static DialFunc func(const std::shared_ptr<SocketPairDialer>& dialer) {
    return [dialer](const DialRequest&) { return dialer->dial(); };
  }

  /// The server end of the n-th dial (from 0), or -1.
  [[nodiscard]] int peer(std::size_t n) const {
    const std::lock_guard lock(mu_);
    return n < peers_.size() ? peers_[n] : -1;
  }
  [[nodiscard]] std::size_t dials() const {
    const std::lock_guard lock(mu_);
    return peers_.size();
  }
  void close_peer(std::size_t n) {
    const std::lock_guard lock(mu_);
    ::close(peers_.at(n));
    peers_.at(n) = -1;
  }

 private:
  Result<int> dial() {
    int fds[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return Error(ErrorKind::connect, "socketpair", errno);
    }
    if (!write_all(fds[1], kOk)) {
      ::close(fds[0]);
      ::close(fds[1]);
      return Error(ErrorKind::connect, "writing the canned response");
    }
    const std::lock_guard lock(mu_);
    peers_.push_back(fds[1]);
    return fds[0];
  }

  mutable std::mutex mu_;  // guards peers_
  std::vector<int> peers_;
};

}  // namespace nethttp::testing
