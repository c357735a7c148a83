#include "loopback_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <system_error>
#include <utility>

namespace nethttp::cli {

namespace {

/// A request head larger than this closes the connection.
constexpr std::size_t kMaxHeadBytes = std::size_t{64} << 10;
constexpr std::size_t kReadChunkBytes = std::size_t{16} << 10;
constexpr int kMaxEvents = 256;
/// Deep enough that a client opening thousands of connections before the
/// loop accepts any (the benchmarks) is not refused.
constexpr int kBacklog = 4096;
/// Mark the listeners and the stop descriptor in epoll's user data;
/// connections carry their fd alone.
constexpr std::uint64_t kListenerTag = std::uint64_t{1} << 32;
constexpr std::uint64_t kStopTag = std::uint64_t{1} << 33;

[[noreturn]] void fail(const char* call) {
  throw std::system_error(errno, std::generic_category(), call);
}

/// A non-blocking socket listening on 127.0.0.1 at a port the kernel
/// chooses; its port in `port`.
int listen_loopback(std::uint16_t& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, kBacklog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    errno = err;
    fail("listening on 127.0.0.1");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

void add_to_epoll(int epoll_fd, int fd, std::uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: what is left is reported again
  ev.data.u64 = tag | static_cast<std::uint32_t>(fd);
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl");
}

std::string response_head(std::size_t body_size, bool closing) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_size) + "\r\n" +
         (closing ? "Connection: close\r\n" : "") + "\r\n";
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

/// Whether `head` (a request head, CRLF lines) asks for the connection to
/// close: HTTP/1.0, or a Connection field naming "close". Allocates nothing:
/// the benchmarks call it once per request.
bool wants_close(std::string_view head) {
  std::size_t line_end = head.find("\r\n");
  if (head.substr(0, line_end).ends_with("HTTP/1.0")) return true;
  while (line_end != std::string_view::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, line_end - start);
    if (!starts_with_ignoring_case(line, "connection:")) continue;
    for (std::size_t at = 0; at + 5 <= line.size(); ++at) {
      if (starts_with_ignoring_case(line.substr(at), "close")) return true;
    }
  }
  return false;
}

}  // namespace

/// One accepted connection: what arrived, and the response being written.
struct LoopbackServer::Conn {
  int fd = -1;
  std::string in;                  ///< bytes received and not yet answered
  std::string_view head;           ///< the head of the response being written
  std::size_t head_off = 0;        ///< bytes of `head` written
  std::size_t body_left = 0;       ///< bytes of the body still to write
  bool writing = false;            ///< a response is being written
  bool close_after = false;        ///< close once this response is written
  bool peer_closed = false;        ///< the client closed its side
  bool watched_for_write = false;  ///< epoll reports writable, not readable
};

LoopbackServer::LoopbackServer(std::string body, std::size_t ports)
    : body_(std::move(body)),
      keep_alive_head_(response_head(body_.size(), false)),
      closing_head_(response_head(body_.size(), true)) {
  try {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) fail("epoll_create1");
    listeners_.reserve(ports);
    ports_.reserve(ports);
    for (std::size_t i = 0; i < ports; ++i) {
      std::uint16_t port = 0;
      listeners_.push_back(listen_loopback(port));
      ports_.push_back(port);
      add_to_epoll(epoll_fd_, listeners_.back(), kListenerTag);
    }
  } catch (...) {
    // The destructor does not run when a constructor throws.
    for (const int fd : listeners_) close(fd);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    throw;
  }
}

LoopbackServer::~LoopbackServer() {
  stop();
  for (const int fd : listeners_) close(fd);
  close(epoll_fd_);
}

void LoopbackServer::start() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) fail("eventfd");
  add_to_epoll(epoll_fd_, wake_fd_, kStopTag);
  thread_ = std::thread([this] { serve(); });
}

void LoopbackServer::stop() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    // A failed write cannot happen with a counter this far from overflow.
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);  // also after a start() that failed half-way
  wake_fd_ = -1;
}

void LoopbackServer::serve_forever() {
  serve();
  std::_Exit(1);  // epoll_wait failed: nothing more can be served
}

std::string LoopbackServer::url() const {
  return "http://127.0.0.1:" + std::to_string(ports_.front()) + "/";
}

void LoopbackServer::serve() {
  std::array<epoll_event, kMaxEvents> events{};
  bool stopping = false;
  while (!stopping) {
    const int n = epoll_wait(epoll_fd_, events.data(), kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t data = events[static_cast<std::size_t>(i)].data.u64;
      const int fd = static_cast<int>(static_cast<std::uint32_t>(data));
      if ((data & kStopTag) != 0) {
        stopping = true;
      } else if ((data & kListenerTag) != 0) {
        accept_all(fd);
      } else if (const auto it = conns_.find(fd); it != conns_.end() && !on_ready(*it->second)) {
        close_conn(fd);
      }
    }
  }
  while (!conns_.empty()) close_conn(conns_.begin()->first);
}

void LoopbackServer::accept_all(int listener) {
  for (;;) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: all taken; anything else (EMFILE): try again on the next wake-up
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<std::uint32_t>(fd);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    conns_.emplace(fd, std::move(conn));
    ++accepted_;
    ++open_;
  }
}

bool LoopbackServer::on_ready(Conn& c) {
  // While a response waits for room the event means writable (or an error,
  // which the write then meets); otherwise readable: one read, as the event
  // comes back while anything is left.
  if (!c.writing) {
    std::array<char, kReadChunkBytes> buf;  // not zeroed: recv fills what is used, once per request
    const ssize_t n = recv(c.fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      c.in.append(buf.data(), static_cast<std::size_t>(n));
      if (c.in.size() > kMaxHeadBytes && c.in.find("\r\n\r\n") == std::string::npos) return false;
    } else if (n == 0) {
      c.peer_closed = true;
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return false;  // ECONNRESET: the client closed with our response unread
    }
  }
  return answer(c);
}

bool LoopbackServer::answer(Conn& c) {
  for (;;) {
    while (c.writing && (c.head_off < c.head.size() || c.body_left > 0)) {
      // sendmsg only reads what an iovec points to; iovec has no const.
      std::array<iovec, 2> iov{};
      iov[0].iov_base = const_cast<char*>(c.head.data() + c.head_off);
      iov[0].iov_len = c.head.size() - c.head_off;
      iov[1].iov_base = const_cast<char*>(body_.data() + (body_.size() - c.body_left));
      iov[1].iov_len = c.body_left;
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = iov.size();
      const ssize_t n = sendmsg(c.fd, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
        watch(c, /*for_write=*/true);
        return true;
      }
      auto sent = static_cast<std::size_t>(n);
      const std::size_t from_head = std::min(sent, c.head.size() - c.head_off);
      c.head_off += from_head;
      c.body_left -= sent - from_head;
    }
    if (c.writing) {
      c.writing = false;
      if (c.close_after) return false;
    }
    const std::size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.peer_closed) return false;
      watch(c, /*for_write=*/false);
      return true;
    }
    const std::string_view head = std::string_view(c.in).substr(0, end + 4);
    c.close_after = wants_close(head);
    c.head = c.close_after ? closing_head_ : keep_alive_head_;
    c.head_off = 0;
    c.body_left = head.starts_with("HEAD ") ? 0 : body_.size();
    c.writing = true;
    c.in.erase(0, end + 4);
  }
}

void LoopbackServer::watch(Conn& c, bool for_write) {
  if (c.watched_for_write == for_write) return;
  epoll_event ev{};
  ev.events = for_write ? EPOLLOUT : EPOLLIN;
  ev.data.u64 = static_cast<std::uint32_t>(c.fd);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.watched_for_write = for_write;
}

void LoopbackServer::close_conn(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  conns_.erase(fd);
  --open_;
}

}  // namespace nethttp::cli
