// Fibers: many requests in flight on one thread, with the blocking API.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace nethttp {

/// Runs functions as fibers (user-space threads, each with its own stack)
/// on the thread that calls run(). Inside a fiber, every wait nethttp does
/// (a response that has not arrived, a full send buffer, a connection the
/// pool has not got yet) parks the fiber in one epoll loop and runs another,
/// as goroutines share Go's threads: 1,000 requests in flight cost one
/// thread and no context switch per request. Client, Transport and Body are
/// used exactly as from threads; a Client may serve threads and fibers at
/// once.
///
/// Anything else that blocks — a sleep, a user mutex held long, file I/O —
/// stops every fiber of the group while it lasts. Dials (DNS, connect, TLS
/// handshake) run on the pool's dial threads as always, so they do not.
/// A fiber stays on its group's thread; an exception escaping a fiber ends
/// the process (as from a std::thread).
class FiberGroup {
 public:
  /// How the group makes its fibers.
  struct Options {
    /// Each fiber's stack, with a guard page below it. Only the pages a
    /// fiber touches take memory.
    std::size_t stack_size = std::size_t{256} << 10;
  };

  /// A group with the default Options.
  FiberGroup() : FiberGroup(Options{}) {}
  /// A group whose fibers are made as `options` says.
  explicit FiberGroup(Options options);
  /// Fibers spawned but not run are dropped unstarted.
  ~FiberGroup();
  FiberGroup(const FiberGroup&) = delete;
  FiberGroup& operator=(const FiberGroup&) = delete;

  /// Adds a fiber that will run `fn`; from the owning thread only (a
  /// fiber of this group may spawn more).
  void spawn(std::function<void()> fn);
  /// Runs the fibers until every one has returned, including those spawned
  /// meanwhile. Not reentrant: call it from outside the group's fibers.
  void run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nethttp
