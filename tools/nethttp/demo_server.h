// The HTTP/1.1 server `nethttp demo` runs inside its own process: it answers
// every request with the same body and counts the connections it accepted.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

namespace nethttp::cli {

/// A minimal keep-alive HTTP/1.1 server on 127.0.0.1 for the demo: one
/// thread runs an epoll loop over the listening socket and every accepted
/// connection (non-blocking, TCP_NODELAY). Each request head (requests carry
/// no body) gets "200 OK" with a body of `body_size` bytes and a
/// Content-Length; HEAD gets the head alone. A connection stays open until
/// the client closes it or sends "Connection: close", or until stop().
///
/// Not a general server: no request bodies, no pipelining beyond answering
/// queued heads in order, no limits beyond a 64 KiB request head.
class DemoServer {
 public:
  explicit DemoServer(std::size_t body_size);
  /// stop().
  ~DemoServer();
  DemoServer(const DemoServer&) = delete;
  DemoServer& operator=(const DemoServer&) = delete;

  /// Listens on 127.0.0.1 with a port the kernel picks and starts the
  /// thread. Returns an error message (naming the failed call), or nothing.
  [[nodiscard]] std::optional<std::string> start();
  /// Closes the listening socket and every connection, and joins the
  /// thread. Idempotent.
  void stop();

  /// "http://127.0.0.1:PORT/" once started.
  [[nodiscard]] std::string url() const;
  /// Connections accepted since start().
  [[nodiscard]] std::uint64_t accepted() const noexcept { return accepted_.load(); }
  /// Connections open now (accepted and not yet closed by the server).
  [[nodiscard]] std::size_t open_connections() const noexcept { return open_.load(); }
  /// Responses written in full since start().
  [[nodiscard]] std::uint64_t responses() const noexcept { return responses_.load(); }

 private:
  struct Conn;
  void run();
  void accept_all();
  /// Reads what arrived, writes what is due; false once `c` should close.
  bool pump(Conn& c);
  void close_conn(int fd);

  std::string body_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  ///< an eventfd that stop() signals
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> responses_{0};
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;  ///< by fd; the thread's alone
  std::thread thread_;
};

}  // namespace nethttp::cli
