// The HTTP server of the end-to-end benchmarks: `nethttp demo`'s loopback
// server (tools/nethttp/loopback_server.h) in a child process, so that its
// sockets, CPU time and file descriptor limit are not the client's.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nethttp::bench {

/// Listens on `ports` loopback ports (127.0.0.1, each chosen by the kernel)
/// and answers every request on every connection with a 2-byte body
/// ("HTTP/1.1 200 OK", Content-Length: 2, "ok"), keeping the connection
/// open, until destroyed. Fork it before the process starts any thread.
class ServerProcess {
 public:
  /// Listens on every port before returning, so clients may connect at once.
  /// Throws std::system_error when a socket cannot be made or the child
  /// cannot be started.
  explicit ServerProcess(std::size_t ports = 1);
  /// Kills the child and waits for it.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// The listening ports, in creation order.
  [[nodiscard]] const std::vector<std::uint16_t>& ports() const { return ports_; }

 private:
  std::vector<std::uint16_t> ports_;
  pid_t pid_ = -1;
};

}  // namespace nethttp::bench
