// Deadlines and cancellation for blocking socket I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <stop_token>

#include "net/socket_io.h"
#include "net/timers.h"

namespace nethttp::net {

/// While it lives, interrupts the socket `fd` (see interrupt()) when
/// `deadline` passes or `cancel` is requested, so a thread blocked in recv()
/// or poll() on it wakes at once. Afterwards fired() tells why; the socket
/// is then unusable. Costs nothing when there is neither a deadline nor a
/// stop source. Not movable: the callbacks hold its address.
class IoWatch {
 public:
  enum class Fired : std::uint8_t { none, deadline, canceled };

  IoWatch(int fd, std::optional<Clock::time_point> deadline, std::stop_token cancel);
  /// disarm().
  ~IoWatch();
  IoWatch(const IoWatch&) = delete;
  IoWatch& operator=(const IoWatch&) = delete;

  /// Unregisters; when it returns, no callback is running or will run, so
  /// fired() is final. Idempotent.
  void disarm() noexcept;
  [[nodiscard]] Fired fired() const noexcept { return fired_.load(std::memory_order_acquire); }

 private:
  struct OnStop {
    IoWatch* watch;
    void operator()() const noexcept { watch->fire(Fired::canceled); }
  };
  void fire(Fired why) noexcept;

  int fd_;
  std::atomic<Fired> fired_{Fired::none};
  Timers::Id timer_ = 0;
  std::optional<std::stop_callback<OnStop>> on_stop_;
};

}  // namespace nethttp::net
