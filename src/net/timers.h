// One background thread that runs short callbacks at given times.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "base/thread_annotations.h"
#include "net/socket_io.h"

namespace nethttp::net {

/// Runs callbacks at their time on one thread shared by the process: I/O
/// deadlines (which interrupt a socket) and pool upkeep (which closes idle
/// connections). Callbacks must be short and must not block.
class Timers {
 public:
  using Id = std::uint64_t;

  /// The process-wide instance, started on first use and never stopped.
  static Timers& shared();

  /// Runs `fn` at `when` (at once if it is past). Returns an id for cancel().
  Id schedule(Clock::time_point when, std::function<void()> fn);
  /// Makes sure the callback does not run: when cancel() returns, it has
  /// either been removed or finished running (unless called from the callback).
  void cancel(Id id);

 private:
  Timers();
  void run();

  Mutex mu_;
  std::condition_variable_any wake_;
  std::condition_variable_any ran_;
  std::map<std::pair<Clock::time_point, Id>, std::function<void()>> queue_ GUARDED_BY(mu_);
  std::unordered_map<Id, Clock::time_point> when_ GUARDED_BY(mu_);
  Id next_id_ GUARDED_BY(mu_) = 1;
  Id running_ GUARDED_BY(mu_) = 0;  ///< the callback running now, or 0
  std::thread::id thread_id_;       ///< of the timer thread (detached: it runs until the process ends)
};

}  // namespace nethttp::net
