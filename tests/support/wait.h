// Bounded waits for a state another thread brings about. Nothing here sleeps
// to let a state happen: wait_for() polls a predicate until it holds (or a
// generous timeout says the state never came).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace nethttp::testing {

/// How long a wait for a state may take before the state is declared never
/// to come: long enough for a loaded machine under TSan; waits end as soon
/// as the state holds, so only a hang (a bug) reaches it.
inline constexpr std::chrono::milliseconds kWait = std::chrono::seconds(10);

/// A deadline put on requests that a bug could leave blocked forever, so
/// that such a bug fails the test instead of hanging the program.
inline constexpr std::chrono::milliseconds kSafetyDeadline = std::chrono::seconds(10);

/// Polls `done` until it holds or `timeout` passes; returns its last value.
/// The way to wait for another thread's progress (never sleep-then-assert).
template <class Predicate>
bool wait_for(Predicate&& done, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// A one-shot signal between threads.
class Gate {
 public:
  /// Notifies under the lock: a waiter that sees the gate open may destroy
  /// it, and must not do so while the opener is still notifying.
  void open() {
    const std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  /// True once open; false if `timeout` passed first.
  bool wait(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  [[nodiscard]] bool is_open() const {
    const std::lock_guard lock(mu_);
    return open_;
  }

 private:
  mutable std::mutex mu_;  // guards open_
  std::condition_variable cv_;
  bool open_ = false;
};

}  // namespace nethttp::testing
