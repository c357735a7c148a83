#include "net/fiber_scheduler.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "nethttp/fibers.h"

#if defined(__SANITIZE_ADDRESS__)
#define NETHTTP_ASAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETHTTP_ASAN_FIBERS 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define NETHTTP_TSAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NETHTTP_TSAN_FIBERS 1
#endif
#endif

#if defined(NETHTTP_ASAN_FIBERS)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(NETHTTP_TSAN_FIBERS)
#include <sanitizer/tsan_interface.h>
#endif

namespace nethttp::net {
namespace ctx = boost::context;

namespace {

/// The scheduler whose fiber runs on this thread (null in its loop).
thread_local FiberScheduler* tl_running = nullptr;
/// The scheduler whose run() is active on this thread.
thread_local FiberScheduler* tl_loop = nullptr;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "nethttp fibers: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

/// A stack allocator that tells where the stack is (the sanitizers need it).
struct RecordingStack {
  ctx::protected_fixedsize_stack inner;
  ctx::stack_context* where;
  ctx::stack_context allocate() {
    *where = inner.allocate();
#if defined(NETHTTP_ASAN_FIBERS)
    // The mapping may reuse a dead fiber's, whose frames never returned
    // (a fiber's entry does not): their red zones would still be marked.
    __asan_unpoison_memory_region(static_cast<char*>(where->sp) - where->size, where->size);
#endif
    return *where;
  }
  void deallocate(ctx::stack_context& sc) noexcept {
    inner.deallocate(sc);
  }
};

}  // namespace

struct FiberScheduler::Fiber {
  ctx::fiber context;       ///< the fiber's own, while it is suspended
  ctx::fiber loop_context;  ///< the loop's, while the fiber runs
  std::function<void()> fn;
  ctx::stack_context stack;
  std::uint64_t serial = 0;  ///< of the current park; 0 while not parked
  bool timed_out = false;
  bool live = false;
  int fd = -1;  ///< the socket it is parked on, if any
  std::uint32_t slot = 0;
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;
};

FiberScheduler::FiberScheduler(std::size_t stack_size)
    : stack_size_(stack_size),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wakeup_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_.valid()) die("epoll_create1");
  if (!wakeup_.valid()) die("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakeup_.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &ev) != 0) die("epoll_ctl");
}

FiberScheduler::~FiberScheduler() = default;

FiberScheduler* FiberScheduler::current() noexcept {
  return tl_running;
}

std::uint32_t FiberScheduler::new_slot() {
  if (!free_slots_.empty()) {
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  fibers_.emplace_back();
  fibers_.back().slot = static_cast<std::uint32_t>(fibers_.size() - 1);
  return fibers_.back().slot;
}

void FiberScheduler::spawn(std::function<void()> fn) {
  Fiber& f = fibers_[new_slot()];
  f.fn = std::move(fn);
  f.live = true;
  ++live_;
  // A fiber is ready at most once at a time: room for all of them now means
  // no allocation when they wake. (Only ready_: batch_ may be being run.)
  ready_.reserve(fibers_.size());
  ready_.push_back(f.slot);
}

void FiberScheduler::resume(Fiber& f) {
  if (!f.context) {
    // First run: the stack is made now, so a fiber never run costs none.
    f.context =
        ctx::fiber(std::allocator_arg, RecordingStack{ctx::protected_fixedsize_stack(stack_size_), &f.stack},
                   [this, &f](ctx::fiber&& loop) {
#if defined(NETHTTP_ASAN_FIBERS)
                     __sanitizer_finish_switch_fiber(nullptr, &loop_stack_bottom_, &loop_stack_size_);
#endif
                     f.loop_context = std::move(loop);
                     try {
                       f.fn();
                     } catch (const ctx::detail::forced_unwind&) {
                       throw;
                     } catch (...) {
                       std::fprintf(stderr, "nethttp fibers: an exception escaped a fiber\n");
                       std::terminate();
                     }
                     f.fn = nullptr;
                     f.live = false;
#if defined(NETHTTP_ASAN_FIBERS)
                     // nullptr: this fiber's fake stack goes with it.
                     __sanitizer_start_switch_fiber(nullptr, loop_stack_bottom_, loop_stack_size_);
#endif
#if defined(NETHTTP_TSAN_FIBERS)
                     __tsan_switch_to_fiber(loop_tsan_fiber_, 0);
#endif
                     return std::move(f.loop_context);
                   });
#if defined(NETHTTP_TSAN_FIBERS)
    f.tsan_fiber = __tsan_create_fiber(0);
#endif
  }
  tl_running = this;
  running_ = &f;
#if defined(NETHTTP_ASAN_FIBERS)
  void* loop_fake_stack = nullptr;
  // The stack is allocated on the first resume, inside the fiber's constructor above.
  __sanitizer_start_switch_fiber(&loop_fake_stack, static_cast<char*>(f.stack.sp) - f.stack.size,
                                 f.stack.size);
#endif
#if defined(NETHTTP_TSAN_FIBERS)
  __tsan_switch_to_fiber(f.tsan_fiber, 0);
#endif
  f.context = std::move(f.context).resume();
#if defined(NETHTTP_ASAN_FIBERS)
  __sanitizer_finish_switch_fiber(loop_fake_stack, nullptr, nullptr);
#endif
  running_ = nullptr;
  tl_running = nullptr;
  if (!f.live) {
    // Returned: its stack is gone with its context; the slot may be reused.
#if defined(NETHTTP_TSAN_FIBERS)
    __tsan_destroy_fiber(f.tsan_fiber);
    f.tsan_fiber = nullptr;
#endif
    --live_;
    free_slots_.push_back(f.slot);
  }
}

void FiberScheduler::suspend(Fiber& f) {
#if defined(NETHTTP_ASAN_FIBERS)
  __sanitizer_start_switch_fiber(&f.asan_fake_stack, loop_stack_bottom_, loop_stack_size_);
#endif
#if defined(NETHTTP_TSAN_FIBERS)
  __tsan_switch_to_fiber(loop_tsan_fiber_, 0);
#endif
  f.loop_context = std::move(f.loop_context).resume();
#if defined(NETHTTP_ASAN_FIBERS)
  __sanitizer_finish_switch_fiber(f.asan_fake_stack, &loop_stack_bottom_, &loop_stack_size_);
#endif
}

void FiberScheduler::run() {
  FiberScheduler* const outer = tl_loop;
  tl_loop = this;
#if defined(NETHTTP_TSAN_FIBERS)
  loop_tsan_fiber_ = __tsan_get_current_fiber();
#endif
  while (live_ > 0) {
    while (!ready_.empty()) {
      // Those made ready meanwhile run in the next batch, in order; the
      // swap hands ready_ the spare buffer, as roomy as itself.
      batch_.reserve(ready_.capacity());
      batch_.swap(ready_);
      for (const std::uint32_t slot : batch_) resume(fibers_[slot]);
      batch_.clear();
    }
    if (live_ == 0) break;
    poll_events();
    fire_timers();
  }
  tl_loop = outer;
}

void FiberScheduler::poll_events() {
  const int timeout = timers_.empty() ? -1 : poll_timeout_ms(timers_.top().when);
  std::array<epoll_event, 128> events{};
  const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
  if (n < 0) {
    if (errno == EINTR) return;
    die("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const epoll_event& event = events[static_cast<std::size_t>(i)];
    const int fd = event.data.fd;
    if (fd == wakeup_.get()) {
      std::uint64_t count = 0;
      (void)!::read(fd, &count, sizeof count);
      {
        const LockGuard guard(remote_mu_);
        remote_batch_.swap(remote_wakes_);
      }
      for (const auto& [slot, serial] : remote_batch_) make_ready(slot, serial, /*timed_out=*/false);
      remote_batch_.clear();
      continue;
    }
    if (static_cast<std::size_t>(fd) >= fds_.size()) continue;
    FdWatch& watch = fds_[static_cast<std::size_t>(fd)];
    if ((event.events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) watch.known_empty = false;
    // An edge the waiter does not care about (room to write while it
    // waits to read) leaves it parked.
    if (watch.waiter == kNoWaiter || (event.events & (watch.events | EPOLLERR | EPOLLHUP)) == 0) continue;
    make_ready(watch.waiter, fibers_[watch.waiter].serial, /*timed_out=*/false);
  }
}

void FiberScheduler::fire_timers() {
  const Clock::time_point now = Clock::now();
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    make_ready(t.slot, t.serial, /*timed_out=*/true);
  }
}

void FiberScheduler::make_ready(std::uint32_t slot, std::uint64_t serial, bool timed_out) {
  Fiber& f = fibers_[slot];
  if (f.serial == 0 || f.serial != serial) return;  // stale: already resumed
  f.serial = 0;
  f.timed_out = timed_out;
  if (f.fd >= 0) {
    fds_[static_cast<std::size_t>(f.fd)].waiter = kNoWaiter;
    f.fd = -1;
  }
  ready_.push_back(slot);
}

FiberScheduler::FdWatch* FiberScheduler::watch_of(int fd) noexcept {
  const std::optional<std::uint32_t> generation = fd_generation(fd);
  const auto index = static_cast<std::size_t>(fd);
  if (!generation || index >= fds_.size() || fds_[index].watched != std::uint64_t{*generation} + 1) {
    return nullptr;
  }
  return &fds_[index];
}

Result<bool> FiberScheduler::wait_fd(int fd, std::uint32_t events,
                                     std::optional<Clock::time_point> deadline) {
  Fiber& f = *running_;
  FdWatch* watch = watch_of(fd);
  if (watch == nullptr) {
    // Watched both ways, edge-triggered, from the first wait until the
    // socket closes (closing removes it from the epoll set).
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST) {
      return Error(ErrorKind::io, std::string("epoll_ctl: ") + std::strerror(errno), errno);
    }
    const auto index = static_cast<std::size_t>(fd);
    if (index >= fds_.size()) fds_.resize(index + 1);
    watch = &fds_[index];
    *watch = FdWatch{};
    // Numbers beyond the generation table are never trusted: added again each time.
    if (const std::optional<std::uint32_t> generation = fd_generation(fd))
      watch->watched = std::uint64_t{*generation} + 1;
  }
  (void)prepare_park();
  watch->waiter = f.slot;
  watch->events = (events & EPOLLIN) != 0 ? events | EPOLLRDHUP : events;
  f.fd = fd;
  return park(deadline);
}

void FiberScheduler::note_empty(int fd) noexcept {
  if (FdWatch* watch = watch_of(fd)) watch->known_empty = true;
}

bool FiberScheduler::known_empty(int fd) noexcept {
  const FdWatch* watch = watch_of(fd);
  return watch != nullptr && watch->known_empty;
}

FiberScheduler::Ticket FiberScheduler::prepare_park() noexcept {
  Fiber& f = *running_;
  f.serial = ++next_serial_;
  f.timed_out = false;
  return Ticket{this, f.slot, f.serial};
}

bool FiberScheduler::park(std::optional<Clock::time_point> deadline) {
  Fiber& f = *running_;
  // max(): no deadline (a timer for it would only sit in the queue).
  if (deadline && *deadline != Clock::time_point::max()) timers_.push(Timer{*deadline, f.slot, f.serial});
  suspend(f);
  // Resumed: whoever woke it ended the park (make_ready()).
  return !f.timed_out;
}

void FiberScheduler::wake(const Ticket& ticket) {
  ticket.scheduler->wake_local_or_remote(ticket.slot, ticket.serial);
}

void FiberScheduler::wake_local_or_remote(std::uint32_t slot, std::uint64_t serial) {
  if (tl_loop == this) {
    make_ready(slot, serial, /*timed_out=*/false);
    return;
  }
  {
    const LockGuard guard(remote_mu_);
    remote_wakes_.emplace_back(slot, serial);
  }
  const std::uint64_t one = 1;
  (void)!::write(wakeup_.get(), &one, sizeof one);
}

bool Signal::wait_until(UniqueLock& lock, std::optional<Clock::time_point> deadline) {
  FiberScheduler* const scheduler = FiberScheduler::current();
  if (scheduler == nullptr) {
    if (!deadline) {
      cv_.wait(lock);
      return true;
    }
    return cv_.wait_until(lock, *deadline) == std::cv_status::no_timeout;
  }
  parked_ = scheduler->prepare_park();
  lock.unlock();
  const bool woken = scheduler->park(deadline);
  lock.lock();
  parked_.reset();
  return woken;
}

void Signal::notify() noexcept {
  if (parked_) {
    FiberScheduler::wake(*parked_);
    parked_.reset();
    return;
  }
  cv_.notify_all();
}

}  // namespace nethttp::net

namespace nethttp {

struct FiberGroup::Impl {
  explicit Impl(std::size_t stack_size) : scheduler(stack_size) {}
  net::FiberScheduler scheduler;
};

FiberGroup::FiberGroup(Options options) : impl_(std::make_unique<Impl>(options.stack_size)) {}
FiberGroup::~FiberGroup() = default;

void FiberGroup::spawn(std::function<void()> fn) {
  impl_->scheduler.spawn(std::move(fn));
}

void FiberGroup::run() {
  impl_->scheduler.run();
}

}  // namespace nethttp
