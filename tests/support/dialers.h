// Dial hooks (TransportOptions::dial) for tests: one that connects to a
// loopback port and can hold or fail a chosen dial, and one over socketpairs
// where the test plays the server.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nethttp/transport.h"
#include "support/socket_io.h"
#include "support/wait.h"

namespace nethttp::testing {

/// A blocking TCP connection to 127.0.0.1:port, as a dial hook returns it.
inline Result<int> connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error(ErrorKind::connect, "socket", errno);
  const sockaddr_in addr = loopback_address(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return Error(ErrorKind::connect, "connect to 127.0.0.1:" + std::to_string(port), err);
  }
  return fd;
}

/// A dial hook that connects to one port (whatever host was asked for),
/// counts dials, can hold one of them (the N-th, from 1) until the test
/// opens `release`, and can fail one (ErrorKind::connect). Shared with the
/// hook: the dial thread may outlive the test's scope.
class GatedDialer {
 public:
  explicit GatedDialer(std::uint16_t port, int hold_dial = 0, int fail_dial = 0)
      : port_(port), hold_dial_(hold_dial), fail_dial_(fail_dial) {}

  static DialFunc func(const std::shared_ptr<GatedDialer>& dialer) {
    return [dialer](const DialRequest&) { return dialer->dial(); };
  }

  /// Opened when the held dial has started (and is now waiting).
  Gate held;
  /// Lets the held dial go on.
  Gate release;

  [[nodiscard]] int dials_started() const { return started_.load(); }

 private:
  Result<int> dial() {
    const int n = ++started_;
    if (n == hold_dial_) {
      held.open();
      if (!release.wait()) return Error(ErrorKind::connect, "the test never released the held dial");
    }
    if (n == fail_dial_) return Error(ErrorKind::connect, "connection refused by the test");
    return connect_loopback(port_);
  }

  const std::uint16_t port_;
  const int hold_dial_;
  const int fail_dial_;
  std::atomic<int> started_{0};
};

/// The response every dial finds waiting for it.
inline constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// The two ends of a connection made by socketpair_with().
struct SocketPair {
  int client = -1;  ///< for the transport
  int server = -1;  ///< for the test
};

/// A connected socketpair whose server end has already written `response`
/// (the client reads it once it has sent its request).
inline Result<SocketPair> socketpair_with(std::string_view response) {
  int fds[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Error(ErrorKind::connect, "socketpair", errno);
  }
  if (!write_all(fds[1], response)) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Error(ErrorKind::connect, "writing the canned response");
  }
  return SocketPair{fds[0], fds[1]};
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
    Result<SocketPair> pair = socketpair_with(kOk);
    if (!pair) return pair.error();
    const std::lock_guard lock(mu_);
    peers_.push_back(pair->server);
    return pair->client;
  }

  mutable std::mutex mu_;  // guards peers_
  std::vector<int> peers_;
};

}  // namespace nethttp::testing
