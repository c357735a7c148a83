#include "epoll_server.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace nethttp::bench {
namespace {

constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
/// Deep enough that a client opening thousands of connections before the
/// child accepts any is not refused.
constexpr int kBacklog = 4096;
/// Marks a listener in epoll's user data; connections carry their fd alone.
constexpr std::uint64_t kListenerTag = std::uint64_t{1} << 32;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

/// A socket listening on 127.0.0.1 at a port the kernel chooses; its port.
int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, kBacklog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    fail("listening on 127.0.0.1");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

void close_all(const std::vector<int>& fds) {
  for (const int fd : fds) ::close(fd);
}

}  // namespace

std::size_t raise_open_file_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<std::size_t>(limit.rlim_cur);
}

EpollServer::EpollServer(std::size_t ports) {
  std::vector<int> listeners;
  listeners.reserve(ports);
  ports_.reserve(ports);
  try {
    for (std::size_t i = 0; i < ports; ++i) {
      std::uint16_t port = 0;
      listeners.push_back(listen_loopback(port));
      ports_.push_back(port);
    }
  } catch (...) {
    close_all(listeners);
    throw;
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    const int err = errno;
    close_all(listeners);
    errno = err;
    fail("fork");
  }
  if (pid_ == 0) {
    // A client that dies without running destructors must not leave the
    // server behind; the check covers a parent gone before the prctl.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) std::_Exit(0);
    serve(listeners);
  }
  // The child has its own copies; the parent only connects.
  close_all(listeners);
}

EpollServer::~EpollServer() {
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void EpollServer::serve(const std::vector<int>& listeners) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) std::_Exit(1);
  for (const int fd : listeners) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag | static_cast<std::uint32_t>(fd);
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) std::_Exit(1);
  }
  std::vector<epoll_event> events(256);
  char buf[4096];
  for (;;) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t data = events[static_cast<std::size_t>(i)].data.u64;
      const int fd = static_cast<int>(static_cast<std::uint32_t>(data));
      if ((data & kListenerTag) != 0) {
        const int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        epoll_event cev{};
        cev.events = EPOLLIN;
        cev.data.u64 = static_cast<std::uint32_t>(c);
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      // Requests are small and arrive whole: one read, one answer.
      const ssize_t got = ::read(fd, buf, sizeof buf);
      if (got <= 0) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        continue;
      }
      if (::write(fd, kResponse.data(), kResponse.size()) < 0) continue;
    }
  }
}

}  // namespace nethttp::bench
