// Ports on 127.0.0.1 that do not serve: one that refuses connections, and
// one where connect() neither succeeds nor fails.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nethttp::testing {

/// A port that refuses connections: a socket bound there that does not
/// listen (the kernel answers SYN with RST). Holding the binding keeps other
/// processes from taking the port meanwhile. Throws std::system_error when
/// it cannot bind.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// "http://127.0.0.1:PORT/..."
  [[nodiscard]] std::string url(std::string_view path = "/") const;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// A port where connect() neither succeeds nor fails: the listener's accept
/// queue is full, so the kernel drops further SYNs and a connecting client
/// waits as it would for a host that drops packets. For connect timeouts and
/// for cancelling a connect in progress.
class UnansweredListener {
 public:
  /// Listens with a backlog of 0 and fills the queue with a connection of
  /// its own. Throws std::system_error when it cannot.
  UnansweredListener();
  ~UnansweredListener();
  UnansweredListener(const UnansweredListener&) = delete;
  UnansweredListener& operator=(const UnansweredListener&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  int filler_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace nethttp::testing
