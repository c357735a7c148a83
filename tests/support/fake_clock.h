// A clock for the Transport (TransportOptions::clock) moved only by the test.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "nethttp/transport.h"

namespace nethttp::testing {

/// The pool's clock, moved only by the test.
class FakeClock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const {
    return base_ + std::chrono::nanoseconds(offset_ns_.load());
  }
  void advance(std::chrono::nanoseconds d) { offset_ns_ += d.count(); }

  /// A ClockFunc reading `clock` (shared: the pool may outlive the test's scope).
  static ClockFunc func(const std::shared_ptr<FakeClock>& clock) {
    return [clock] { return clock->now(); };
  }

 private:
  const std::chrono::steady_clock::time_point base_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> offset_ns_{0};
};

}  // namespace nethttp::testing
