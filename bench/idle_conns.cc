// What an idle pooled connection costs in user memory: opens N connections
// to an epoll server (in a child process, so each side has its own file
// descriptor limit), reads every body to its end so all of them go idle, and
// reports heap bytes per idle connection (mallinfo2) and RSS.
//
//   nethttp_idle_conns [N=10000]
#include <malloc.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "nethttp/client.h"

namespace {

/// Answers every request on every connection with a 2-byte body, in a child
/// process, until killed.
class EpollServer {
 public:
  EpollServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 4096);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    pid_ = ::fork();
    if (pid_ == 0) {
      run();
      std::_Exit(0);
    }
    ::close(listen_fd_);
  }
  ~EpollServer() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  EpollServer(const EpollServer&) = delete;
  EpollServer& operator=(const EpollServer&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  [[noreturn]] void run() const {
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
    std::vector<epoll_event> events(256);
    char buf[4096];
    static constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (;;) {
      const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == listen_fd_) {
          const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (c < 0) continue;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
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

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 10000;
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < static_cast<rlim_t>(count + 64)) {
    std::fprintf(stderr, "need %d file descriptors, have %lu\n", count + 64,
                 static_cast<unsigned long>(limit.rlim_cur));
    return 1;
  }

  EpollServer server;
  nethttp::TransportOptions options;
  options.max_idle_conns = count;
  options.max_idle_conns_per_host = count;
  auto transport = std::make_shared<nethttp::Transport>(options);
  nethttp::Client client(transport);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

  // Warm up the allocator and the pool's own structures with one request.
  if (auto r = client.get(url); !r || !r->body.read_all()) return 1;
  const std::size_t heap_before = mallinfo2().uordblks;
  const long rss_before = rss_kib();

  // Hold every response unread so each request needs a new connection...
  std::vector<nethttp::Response> held;
  held.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    nethttp::Result<nethttp::Response> r = client.get(url);
    if (!r) {
      std::fprintf(stderr, "request %d: %s\n", i, r.error().message().c_str());
      return 1;
    }
    held.push_back(std::move(*r));
  }
  // ...then read them all to the end: every connection goes idle.
  for (nethttp::Response& r : held) {
    if (!r.body.read_all()) return 1;
  }
  held.clear();
  held.shrink_to_fit();
  malloc_trim(0);

  const nethttp::TransportStats stats = transport->stats();
  const std::size_t heap_after = mallinfo2().uordblks;
  const long rss_after = rss_kib();
  const double per_conn = static_cast<double>(heap_after - heap_before) / static_cast<double>(stats.idle);
  std::printf("idle connections: %zu (dials %llu)\n", stats.idle,
              static_cast<unsigned long long>(stats.dials));
  std::printf("heap in use: %zu -> %zu bytes: %.0f bytes per idle connection\n", heap_before, heap_after,
              per_conn);
  std::printf("RSS: %ld -> %ld KiB (%.2f KiB per idle connection, kernel socket memory not included)\n",
              rss_before, rss_after,
              static_cast<double>(rss_after - rss_before) / static_cast<double>(stats.idle));
  return 0;
}
