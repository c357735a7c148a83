// A port on 127.0.0.1 where connect() neither succeeds nor fails: the
// listener's accept queue is full, so the kernel drops further SYNs and a
// connecting client waits as it would for a host that drops packets. For
// connect timeouts and for cancelling a connect in progress.
#pragma once

#include <cstdint>

namespace nethttp::testing {

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
