// The scheduler behind FiberGroup, and the one wake-up the pool's waiters
// use whether they are threads or fibers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "base/thread_annotations.h"
#include "net/fd.h"
#include "net/socket_io.h"
#include "nethttp/error.h"

namespace nethttp::net {

/// Runs fibers on one thread over one epoll set. A fiber that would block
/// in socket_io parks instead (wait_fd()); the loop resumes it when its
/// socket is ready, its deadline passes or another thread wakes it.
class FiberScheduler {
 public:
  explicit FiberScheduler(std::size_t stack_size);
  ~FiberScheduler();
  FiberScheduler(const FiberScheduler&) = delete;
  FiberScheduler& operator=(const FiberScheduler&) = delete;

  void spawn(std::function<void()> fn);
  /// Runs until every fiber has returned.
  void run();

  /// The scheduler whose fiber is running on this thread, or null (a plain
  /// thread, or the scheduler's own loop).
  [[nodiscard]] static FiberScheduler* current() noexcept;

  /// Parks the running fiber until `fd` reports one of `events` (EPOLLIN,
  /// EPOLLOUT; an error or a hang-up counts) or `deadline` passes: false
  /// then. The socket is watched edge-triggered, so call it only after the
  /// operation found nothing to do (EAGAIN, or poll() saying not ready);
  /// it may also return true spuriously. Errors: io (epoll_ctl).
  [[nodiscard]] Result<bool> wait_fd(int fd, std::uint32_t events, std::optional<Clock::time_point> deadline);
  /// A read of `fd` found nothing (EAGAIN: not even the end of the
  /// stream). Until its watch next reports it readable, a read may park at
  /// once (wait_fd()) without trying: whatever arrives after this produces
  /// that report.
  void note_empty(int fd) noexcept;
  /// Whether `fd` is known to hold nothing to read (see note_empty()).
  [[nodiscard]] bool known_empty(int fd) noexcept;

  /// Identifies one park of one fiber, for waking it from anywhere; stale
  /// tickets (the fiber already resumed) are ignored.
  struct Ticket {
    FiberScheduler* scheduler = nullptr;
    std::uint32_t slot = 0;
    std::uint64_t serial = 0;
  };
  /// Makes the running fiber's next park wakeable through the ticket.
  [[nodiscard]] Ticket prepare_park() noexcept;
  /// Parks the running fiber after prepare_park() until wake() or
  /// `deadline`: false then.
  bool park(std::optional<Clock::time_point> deadline);
  /// Resumes the fiber parked under `ticket`, if it still is; from any thread.
  static void wake(const Ticket& ticket);

 private:
  struct Fiber;
  /// What the scheduler knows of one descriptor number.
  struct FdWatch {
    /// 1 + the fd's generation when its epoll watch was set up; 0: none.
    std::uint64_t watched = 0;
    std::uint32_t waiter = kNoWaiter;  ///< the slot parked on it
    std::uint32_t events = 0;          ///< what the waiter waits for
    bool known_empty = false;          ///< see note_empty()
  };
  static constexpr std::uint32_t kNoWaiter = ~std::uint32_t{0};
  struct Timer {
    Clock::time_point when;
    std::uint32_t slot;
    std::uint64_t serial;
    bool operator>(const Timer& other) const noexcept { return when > other.when; }
  };

  void resume(Fiber& fiber);
  /// Switches from the running fiber back to the loop until resumed.
  void suspend(Fiber& fiber);
  /// Makes the fiber in `slot` runnable if it is still parked as `serial`.
  void make_ready(std::uint32_t slot, std::uint64_t serial, bool timed_out);
  void wake_local_or_remote(std::uint32_t slot, std::uint64_t serial);
  /// Waits for socket reports, wake-ups from other threads or the next timer.
  void poll_events();
  void fire_timers();
  [[nodiscard]] std::uint32_t new_slot();

  std::size_t stack_size_;
  Fd epoll_;
  Fd wakeup_;  ///< an eventfd other threads write to after queueing wakes
  /// Every fiber ever spawned keeps its slot (reused once it ended), so a
  /// stale ticket never points at freed memory.
  std::deque<Fiber> fibers_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> ready_;  ///< runnable, in order
  std::vector<std::uint32_t> batch_;  ///< the ones being run
  std::size_t live_ = 0;
  std::uint64_t next_serial_ = 0;
  Fiber* running_ = nullptr;
  /// The current watch of each fd number (index: fd), if it is the same socket.
  [[nodiscard]] FdWatch* watch_of(int fd) noexcept;
  std::vector<FdWatch> fds_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  Mutex remote_mu_;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> remote_wakes_ GUARDED_BY(remote_mu_);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> remote_batch_;  ///< taken from remote_wakes_
  /// Where the loop runs, for the sanitizers' fiber switches (unused without them).
  [[maybe_unused]] const void* loop_stack_bottom_ = nullptr;
  [[maybe_unused]] std::size_t loop_stack_size_ = 0;
  [[maybe_unused]] void* loop_tsan_fiber_ = nullptr;
};

/// One waiter's wake-up, for a thread or a fiber alike: the pool's
/// per-waiter signal. wait_until() and notify() are called with the same
/// mutex held (the one `lock` holds).
class Signal {
 public:
  /// Waits, releasing the lock meanwhile, until notify() or `deadline`
  /// (nullopt: none); false on timeout. May return early: callers re-check
  /// their condition.
  /// (Opaque to clang's lock analysis, as a condition variable's wait is.)
  bool wait_until(UniqueLock& lock, std::optional<Clock::time_point> deadline) NO_THREAD_SAFETY_ANALYSIS;
  void notify() noexcept;

 private:
  std::condition_variable_any cv_;
  std::optional<FiberScheduler::Ticket> parked_;  ///< a fiber waiting, if any
};

}  // namespace nethttp::net
