// A minimal keep-alive HTTP server for the end-to-end benchmarks: an epoll
// loop in a child process, so its sockets, CPU time and file descriptor
// limit are not the client's.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nethttp::bench {

/// Raises this process's soft limit on open files to its hard limit (a
/// server forked afterwards inherits it) and returns the limit now in force.
std::size_t raise_open_file_limit();

/// Listens on `ports` loopback ports (127.0.0.1, each chosen by the kernel)
/// and answers every request on every connection with a 2-byte body
/// ("HTTP/1.1 200 OK", Content-Length: 2, "ok"), keeping the connection
/// open, until destroyed. Fork it before the process starts any thread.
class EpollServer {
 public:
  /// Listens on every port before returning, so clients may connect at once.
  /// Throws std::system_error when a socket cannot be made or the child
  /// cannot be started.
  explicit EpollServer(std::size_t ports = 1);
  /// Kills the child and waits for it.
  ~EpollServer();
  EpollServer(const EpollServer&) = delete;
  EpollServer& operator=(const EpollServer&) = delete;

  /// The listening ports, in creation order.
  [[nodiscard]] const std::vector<std::uint16_t>& ports() const { return ports_; }

 private:
  /// The child's loop; never returns.
  [[noreturn]] static void serve(const std::vector<int>& listeners);

  std::vector<std::uint16_t> ports_;
  pid_t pid_ = -1;
};

}  // namespace nethttp::bench
