// A round trip on a thread of its own, for tests where requests wait.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "nethttp/transport.h"
#include "support/wait.h"

namespace nethttp::testing {

/// Starts `transport.round_trip(request)` on a new thread at once. The
/// response then belongs to whoever calls result() (which joins). Give
/// waiting requests a deadline so a failing test ends instead of hanging.
class AsyncRoundTrip {
 public:
  AsyncRoundTrip(Transport& transport, std::shared_ptr<const Request> request)
      : thread_([this, &transport, request = std::move(request)] {
          result_.emplace(transport.round_trip(request));
          finished_.open();
        }) {}
  ~AsyncRoundTrip() { join(); }
  AsyncRoundTrip(const AsyncRoundTrip&) = delete;
  AsyncRoundTrip& operator=(const AsyncRoundTrip&) = delete;

  /// Whether round_trip() has returned.
  [[nodiscard]] bool finished() const { return finished_.is_open(); }
  /// Waits (bounded) for round_trip() to return; false if it did not.
  [[nodiscard]] bool wait(std::chrono::milliseconds timeout = kWait) { return finished_.wait(timeout); }
  /// The outcome; joins the thread (call after wait() or finished()).
  Result<Response>& result() {
    join();
    return *result_;
  }

 private:
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  std::optional<Result<Response>> result_;  ///< written by the thread, read after join()
  Gate finished_;
  std::thread thread_;  ///< last: it uses the members above
};

/// A deadline far enough never to pass in a passing test; it ends a failing
/// one whose request would otherwise wait forever.
inline void with_safety_deadline(Request& r) {
  r.deadline = std::chrono::steady_clock::now() + kSafetyDeadline;
}

}  // namespace nethttp::testing
