#include "net/socket_io.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace nethttp::net {
namespace {

Error io_error(const char* what, int err) {
  return Error(ErrorKind::io, std::string(what) + ": " + std::strerror(err), err);
}

}  // namespace

Result<std::size_t> send_now(int fd, std::span<const char> data) {
  for (;;) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return io_error("send", errno);
  }
}

Result<std::size_t> recv_some(int fd, std::span<char> buf) {
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    return io_error("recv", errno);
  }
}

Result<std::optional<std::size_t>> try_recv(int fd, std::span<char> buf) {
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n >= 0) return std::optional<std::size_t>(static_cast<std::size_t>(n));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::optional<std::size_t>();
    return io_error("recv", errno);
  }
}

int poll_timeout_ms(std::optional<Clock::time_point> deadline) {
  if (!deadline || *deadline == Clock::time_point::max()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 1 << 30));
}

Result<bool> wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (n >= 0) return n > 0;
    if (errno != EINTR) return io_error("poll", errno);
  }
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
  for (;;) {
    const int n = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("poll", errno);
    }
    Readiness r;
    if (n == 0) return r;
    r.readable = (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    r.writable = (p.revents & POLLOUT) != 0;
    return r;
  }
}

IdleProbe probe_idle(int fd) noexcept {
  char byte = 0;
  for (;;) {
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return IdleProbe::unsolicited;
    if (n == 0) return IdleProbe::closed;
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? IdleProbe::quiet : IdleProbe::closed;
  }
}

void interrupt(int fd) noexcept {
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace nethttp::net
