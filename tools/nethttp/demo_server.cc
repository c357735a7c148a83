#include "demo_server.h"

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
#include <cstring>
#include <string_view>

namespace nethttp::cli {

namespace {

/// A request head larger than this closes the connection.
constexpr std::size_t kMaxHeadBytes = std::size_t{64} << 10;
constexpr std::size_t kReadChunkBytes = std::size_t{16} << 10;
constexpr int kMaxEvents = 64;

std::string errno_message(std::string_view call) {
  return std::string(call) + ": " + std::strerror(errno);
}

/// Whether `head` (a request head, CRLF lines) asks for the connection to
/// close: HTTP/1.0, or a Connection field naming "close".
bool wants_close(std::string_view head) {
  const std::size_t line_end = head.find("\r\n");
  if (head.substr(0, line_end).ends_with("HTTP/1.0")) return true;
  std::string lower(head);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::size_t at = lower.find("\r\nconnection:"); at != std::string::npos;
       at = lower.find("\r\nconnection:", at + 2)) {
    const std::size_t end = lower.find("\r\n", at + 2);
    if (lower.substr(at, end - at).find("close") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

/// One accepted connection: what arrived, and the response being written.
struct DemoServer::Conn {
  int fd = -1;
  std::string in;             ///< bytes received and not yet answered
  std::string head;           ///< the response head being written
  std::size_t head_off = 0;   ///< bytes of `head` written
  std::size_t body_left = 0;  ///< bytes of the body still to write
  bool writing = false;       ///< a response is being written
  bool close_after = false;   ///< close once this response is written
  bool peer_closed = false;   ///< the client closed its side
};

DemoServer::DemoServer(std::size_t body_size) : body_(body_size, 'x') {
  // A recognisable body: "nethttp demo body\n" repeated.
  constexpr std::string_view kPattern = "nethttp demo body\n";
  for (std::size_t i = 0; i < body_.size(); ++i) body_[i] = kPattern[i % kPattern.size()];
}

DemoServer::~DemoServer() {
  stop();
}

std::optional<std::string> DemoServer::start() {
  const auto fail = [this](std::string_view call) {
    std::string message = errno_message(call);
    stop();
    return message;
  };
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("bind 127.0.0.1:0");
  if (listen(listen_fd_, SOMAXCONN) != 0) return fail("listen");
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return fail("getsockname");
  port_ = ntohs(addr.sin_port);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return fail("epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return fail("eventfd");
  for (const int fd : {listen_fd_, wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: accept until EAGAIN each time
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return fail("epoll_ctl");
  }
  thread_ = std::thread([this] { run(); });
  return std::nullopt;
}

void DemoServer::stop() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    // The loop wakes up on the eventfd; a failed write cannot happen with
    // a counter this far from overflow.
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

std::string DemoServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/";
}

void DemoServer::run() {
  std::array<epoll_event, kMaxEvents> events{};
  bool stopping = false;
  while (!stopping) {
    const int n = epoll_wait(epoll_fd_, events.data(), kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == wake_fd_) {
        stopping = true;
      } else if (fd == listen_fd_) {
        accept_all();
      } else if (const auto it = conns_.find(fd); it != conns_.end() && !pump(*it->second)) {
        close_conn(fd);
      }
    }
  }
  while (!conns_.empty()) close_conn(conns_.begin()->first);
}

void DemoServer::accept_all() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: all taken; anything else (EMFILE): try again on the next wake-up
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    conns_.emplace(fd, std::move(conn));
    ++accepted_;
    ++open_;
  }
}

bool DemoServer::pump(Conn& c) {
  // Edge-triggered: read everything there is now.
  std::array<char, kReadChunkBytes> buf{};
  while (!c.peer_closed) {
    const ssize_t n = recv(c.fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      c.in.append(buf.data(), static_cast<std::size_t>(n));
      if (c.in.size() > kMaxHeadBytes && c.in.find("\r\n\r\n") == std::string::npos) return false;
    } else if (n == 0) {
      c.peer_closed = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      return false;  // ECONNRESET: the client closed with our response unread
    }
  }
  for (;;) {
    if (c.writing) {
      while (c.head_off < c.head.size() || c.body_left > 0) {
        std::array<iovec, 2> iov{};
        iov[0].iov_base = c.head.data() + c.head_off;
        iov[0].iov_len = c.head.size() - c.head_off;
        iov[1].iov_base = body_.data() + (body_.size() - c.body_left);
        iov[1].iov_len = c.body_left;
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = iov.size();
        const ssize_t n = sendmsg(c.fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) return true;  // EPOLLOUT will call again
          return false;
        }
        auto sent = static_cast<std::size_t>(n);
        const std::size_t from_head = std::min(sent, c.head.size() - c.head_off);
        c.head_off += from_head;
        sent -= from_head;
        c.body_left -= sent;
      }
      c.writing = false;
      ++responses_;
      if (c.close_after) return false;
    }
    const std::size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return !c.peer_closed;
    const std::string_view head = std::string_view(c.in).substr(0, end + 4);
    const bool is_head = head.starts_with("HEAD ");
    c.close_after = wants_close(head);
    c.head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body_.size()) +
        "\r\n" + (c.close_after ? "Connection: close\r\n" : "") + "\r\n";
    c.head_off = 0;
    c.body_left = is_head ? 0 : body_.size();
    c.writing = true;
    c.in.erase(0, end + 4);
  }
}

void DemoServer::close_conn(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  conns_.erase(fd);
  --open_;
}

}  // namespace nethttp::cli
