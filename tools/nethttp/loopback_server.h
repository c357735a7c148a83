// The keep-alive HTTP/1.1 server on 127.0.0.1 that answers every request with
// one fixed body. `nethttp demo` runs it on a thread of its own process; the
// end-to-end benchmarks run it in a forked child (bench/server_process.h), so
// that its sockets, CPU time and open-file limit are not the client's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace nethttp::cli {

/// Listens on one or more ports of 127.0.0.1 (each chosen by the kernel) and
/// answers each request head on every accepted connection with "200 OK", a
/// Content-Length and the body given (HEAD: the head alone), from one epoll
/// loop. A connection stays open until the client closes it or asks for its
/// end (HTTP/1.0, or "Connection: close").
///
/// Not a general server: requests must carry no body, pipelined heads are
/// answered in order, and a head over 64 KiB closes its connection.
///
/// The loop runs on one thread, started by start() or serve_forever();
/// accepted() and open_connections() may be read from any thread.
class LoopbackServer {
 public:
  /// Listens on `ports` ports before returning, so that clients may connect
  /// at once. Throws std::system_error naming the call that failed.
  explicit LoopbackServer(std::string body, std::size_t ports = 1);
  /// stop(), then closes the listening sockets.
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  /// Serves on a thread of its own until stop(). Throws std::system_error
  /// when the thread's wake-up descriptor cannot be made.
  void start();
  /// Wakes the thread of start(), which closes every connection, and joins
  /// it. Idempotent; does nothing without start().
  void stop();
  /// Serves on the calling thread until the process ends: the loop of a
  /// forked child, which is killed rather than stopped.
  [[noreturn]] void serve_forever();

  /// The listening ports, in creation order.
  [[nodiscard]] const std::vector<std::uint16_t>& ports() const noexcept { return ports_; }
  /// "http://127.0.0.1:PORT/" of the first port.
  [[nodiscard]] std::string url() const;
  /// Connections accepted so far.
  [[nodiscard]] std::uint64_t accepted() const noexcept { return accepted_.load(); }
  /// Connections open now (accepted and not yet closed by the server).
  [[nodiscard]] std::size_t open_connections() const noexcept { return open_.load(); }

 private:
  struct Conn;
  /// The loop: serves until stop() (with start()) or until epoll_wait
  /// fails, then closes every connection.
  void serve();
  void accept_all(int listener);
  /// Reads once, then answers; false once `c` should close.
  bool on_ready(Conn& c);
  /// Writes the response due and answers every complete head after it, until
  /// the socket is full or no head is left; false once `c` should close.
  bool answer(Conn& c);
  /// Has epoll report `c` writable (while a response waits for room) or
  /// readable (otherwise), never both: a client that stops reading is not
  /// read from either, and a closed client's EOF cannot spin the loop.
  void watch(Conn& c, bool for_write);
  void close_conn(int fd);

  const std::string body_;
  const std::string keep_alive_head_;  ///< the response head
  const std::string closing_head_;     ///< the same with "Connection: close"
  std::vector<int> listeners_;
  std::vector<std::uint16_t> ports_;  ///< of listeners_, index by index
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  ///< an eventfd stop() signals; -1 without start()
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::size_t> open_{0};
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;  ///< by fd; the loop's alone
  std::thread thread_;                                    ///< of start()
};

}  // namespace nethttp::cli
