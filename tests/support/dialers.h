// Dial hooks (TransportOptions::dial) for tests: one that connects to a
// loopback port and can hold or fail a chosen dial, and one over socketpairs
// where the test plays the server.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
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

/// The test's end of a socketpair, playing the server: it answers the first
/// request (read to the blank line ending its head) with a canned response,
/// from a thread of its own, then stays open for the test to act on. Not
/// written before the request: bytes waiting on a fresh connection are a
/// protocol error to the transport.
class AnsweringPeer {
 public:
  AnsweringPeer(int fd, std::string response) : fd_(fd) {
    answerer_ = std::thread([fd, response = std::move(response)] {
      std::string head;
      std::array<char, 512> buf{};
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) return;  // the client went away, or close() woke us
        head.append(buf.data(), static_cast<std::size_t>(n));
      }
      write_all(fd, response);
    });
  }
  ~AnsweringPeer() { close(); }
  AnsweringPeer(const AnsweringPeer&) = delete;
  AnsweringPeer& operator=(const AnsweringPeer&) = delete;

  /// -1 once closed.
  [[nodiscard]] int fd() const { return fd_; }
  /// Closes the test's end (a shutdown first wakes an answerer still waiting).
  void close() {
    if (fd_ < 0) return;
    ::shutdown(fd_, SHUT_RDWR);
    answerer_.join();
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  std::thread answerer_;
};

/// The two ends of a connection made by socketpair_answering().
struct SocketPair {
  int client = -1;                        ///< for the transport
  std::unique_ptr<AnsweringPeer> server;  ///< the test's end
};

/// A connected socketpair whose server end answers the first request with
/// `response`.
inline Result<SocketPair> socketpair_answering(std::string_view response) {
  int fds[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Error(ErrorKind::connect, "socketpair", errno);
  }
  return SocketPair{fds[0], std::make_unique<AnsweringPeer>(fds[1], std::string(response))};
}

/// A dial hook that makes a socketpair per dial: the transport gets one
/// end, the test the other ("the server"), which answers the first request
/// with kOk. The test then acts on an idle connection's server end at a
/// moment it chooses.
class SocketPairDialer {
 public:
  static DialFunc func(const std::shared_ptr<SocketPairDialer>& dialer) {
    return [dialer](const DialRequest&) { return dialer->dial(); };
  }

  /// The server end of the n-th dial (from 0), or -1.
  [[nodiscard]] int peer(std::size_t n) const {
    const std::lock_guard lock(mu_);
    return n < peers_.size() ? peers_[n]->fd() : -1;
  }
  [[nodiscard]] std::size_t dials() const {
    const std::lock_guard lock(mu_);
    return peers_.size();
  }
  void close_peer(std::size_t n) {
    const std::lock_guard lock(mu_);
    peers_.at(n)->close();
  }

 private:
  Result<int> dial() {
    Result<SocketPair> pair = socketpair_answering(kOk);
    if (!pair) return pair.error();
    const std::lock_guard lock(mu_);
    peers_.push_back(std::move(pair->server));
    return pair->client;
  }

  mutable std::mutex mu_;  // guards peers_
  std::vector<std::unique_ptr<AnsweringPeer>> peers_;
};

}  // namespace nethttp::testing
