#include "net/socket_io.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "net/fiber_scheduler.h"

namespace nethttp::net {
namespace {

Error io_error(const char* what, int err) {
  return Error(ErrorKind::io, std::string(what) + ": " + std::strerror(err), err);
}

// Calls that never wait go to the kernel directly: glibc's send() and recv()
// are cancellation points and switch asynchronous cancellation on and off
// around every call (about 15 ns each), which only matters for a call that
// can block.
ssize_t send_nowait(int fd, const void* data, std::size_t size, int flags) {
  return ::syscall(SYS_sendto, fd, data, size, flags | MSG_DONTWAIT, nullptr, nullptr);
}
ssize_t recv_nowait(int fd, void* buf, std::size_t size, int flags) {
  return ::syscall(SYS_recvfrom, fd, buf, size, flags | MSG_DONTWAIT, nullptr, nullptr);
}

}  // namespace

Result<std::size_t> send_now(int fd, std::span<const char> data) {
  for (;;) {
    const ssize_t n = send_nowait(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return io_error("send", errno);
  }
}

Result<std::size_t> recv_some(int fd, std::span<char> buf) {
  if (FiberScheduler* fibers = FiberScheduler::current()) {
    for (;;) {
      // Known empty (the pool's probe just found nothing): no recv() that
      // would only say EAGAIN.
      if (!fibers->known_empty(fd)) {
        Result<std::optional<std::size_t>> n = try_recv(fd, buf);
        if (!n || *n) return n ? **n : Result<std::size_t>(std::move(n).error());
      }
      if (Result<bool> woken = fibers->wait_fd(fd, EPOLLIN, std::nullopt); !woken)
        return std::move(woken).error();
    }
  }
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    return io_error("recv", errno);
  }
}

Result<std::optional<std::size_t>> try_recv(int fd, std::span<char> buf) {
  for (;;) {
    const ssize_t n = recv_nowait(fd, buf.data(), buf.size(), 0);
    // (A short read does not make the socket known empty: the end of the
    // stream may be there already, and no new report would announce it.)
    if (n >= 0) return std::optional<std::size_t>(static_cast<std::size_t>(n));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (FiberScheduler* fibers = FiberScheduler::current()) fibers->note_empty(fd);
      return std::optional<std::size_t>();
    }
    return io_error("recv", errno);
  }
}

int poll_timeout_ms(std::optional<Clock::time_point> deadline) {
  if (!deadline || *deadline == Clock::time_point::max()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 1 << 30));
}

namespace {

/// poll() on one socket; in a fiber, one that would wait parks the fiber
/// instead (a look without waiting first: the fiber's watch is edge-triggered).
Result<int> poll_one(pollfd& p, std::optional<Clock::time_point> deadline) {
  FiberScheduler* const fibers = FiberScheduler::current();
  for (;;) {
    const int n = ::poll(&p, 1, fibers != nullptr ? 0 : poll_timeout_ms(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("poll", errno);
    }
    if (n > 0 || fibers == nullptr) return n;
    if (deadline && *deadline <= Clock::now()) return 0;
    const std::uint32_t events = ((p.events & POLLIN) != 0 ? std::uint32_t{EPOLLIN} : 0) |
                                 ((p.events & POLLOUT) != 0 ? std::uint32_t{EPOLLOUT} : 0);
    Result<bool> woken = fibers->wait_fd(p.fd, events, deadline);
    if (!woken) return std::move(woken).error();
  }
}

}  // namespace

Result<bool> wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  Result<int> n = poll_one(p, deadline);
  if (!n) return std::move(n).error();
  return *n > 0;
}

Result<void> send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    Result<std::size_t> n = send_now(fd, data);
    if (!n) return std::move(n).error();
    data.remove_prefix(*n);
    if (*n > 0) continue;
    Result<bool> room = wait_for(fd, POLLOUT, deadline);
    if (!room) return std::move(room).error();
    if (!*room) return Error(ErrorKind::timeout, "no room to write before the deadline", ETIMEDOUT);
  }
  return {};
}

Result<Readiness> wait_ready(int fd, bool want_write, std::optional<Clock::time_point> deadline) {
  pollfd p{fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
  Result<int> n = poll_one(p, deadline);
  if (!n) return std::move(n).error();
  Readiness r;
  if (*n == 0) return r;
  r.readable = (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
  r.writable = (p.revents & POLLOUT) != 0;
  return r;
}

IdleProbe probe_idle(int fd) noexcept {
  char byte = 0;
  for (;;) {
    const ssize_t n = recv_nowait(fd, &byte, 1, MSG_PEEK);
    if (n > 0) return IdleProbe::unsolicited;
    if (n == 0) return IdleProbe::closed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IdleProbe::closed;
    if (FiberScheduler* fibers = FiberScheduler::current()) fibers->note_empty(fd);
    return IdleProbe::quiet;
  }
}

void interrupt(int fd) noexcept {
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace nethttp::net
