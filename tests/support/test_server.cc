#include "support/test_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>

#include <gtest/gtest.h>

#include "support/socket_io.h"

namespace nethttp::testing {
namespace {

using Clock = std::chrono::steady_clock;

/// How long a connection closed after a response keeps reading what the
/// client still sends, so that closing does not reset the response away
/// (the same reason and figure as Go's closeWriteAndWait).
constexpr std::chrono::milliseconds kCloseDrain{500};
/// How long close_client_connections() waits for the connection threads to
/// close their fds: they wake at once, this only bounds a stuck handler.
constexpr std::chrono::seconds kCloseClientsWait{5};
/// Bytes asked of recv() at a time.
constexpr std::size_t kReadBytes = 16 * 1024;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

/// Comma-separated elements of every field named `name`, trimmed, empty ones dropped.
std::vector<std::string_view> list_values(const FieldList& fields, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : fields) {
    if (!iequals(n, name)) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view element = trim(rest.substr(0, comma));
      if (!element.empty()) out.push_back(element);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

/// Parses "name: value" (RFC 9112 §5.1): no whitespace before the colon, no obs-fold.
bool parse_field_line(std::string_view line, FieldList& out) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view name = line.substr(0, colon);
  if (!is_token(name)) return false;
  const std::string_view value = trim(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), [](char c) { return c == '\0' || c == '\r' || c == '\n'; })) {
    return false;
  }
  out.emplace_back(std::string(name), std::string(value));
  return true;
}

/// Offset just past the empty line ending a head, or npos. Accepts CRLF and
/// bare LF line ends (RFC 9112 §2.2).
std::size_t find_head_end(std::string_view in) {
  for (std::size_t nl = in.find('\n'); nl != std::string_view::npos; nl = in.find('\n', nl + 1)) {
    if (nl + 1 < in.size() && in[nl + 1] == '\n') return nl + 2;
    if (nl + 2 < in.size() && in[nl + 1] == '\r' && in[nl + 2] == '\n') return nl + 3;
  }
  return std::string_view::npos;
}

/// Request line and fields of a complete head (without the final empty line).
bool parse_head(std::string_view head, ServerRequest& request) {
  bool first = true;
  while (!head.empty()) {
    const std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return false;  // bare CR, RFC 9112 §2.2
    if (line.empty()) break;
    if (first) {
      // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
      first = false;
      const std::size_t sp1 = line.find(' ');
      const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos) return false;
      const std::string_view method = line.substr(0, sp1);
      const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      const std::string_view version = line.substr(sp2 + 1);
      if (!is_token(method) || target.empty() || target.find(' ') != std::string_view::npos) return false;
      if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9') {
        return false;
      }
      request.method = method;
      request.target = target;
      request.version_minor = version[7] - '0';
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') return false;  // obs-fold: rejected (RFC 9112 §5.2)
    if (!parse_field_line(line, request.headers)) return false;
  }
  return !first;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string status_line(int status, std::string_view reason) {
  return "HTTP/1.1 " + std::to_string(status) + " " +
         std::string(reason.empty() ? reason_phrase(status) : reason) + "\r\n";
}

std::string chunk_size_line(std::size_t n) {
  std::array<char, 32> buf{};
  const int len = std::snprintf(buf.data(), buf.size(), "%zx\r\n", n);
  return std::string(buf.data(), static_cast<std::size_t>(len));
}

void signal_eventfd(int fd) {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

// ---------------------------------------------------------------- ServerRequest

std::optional<std::string> ServerRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

bool ServerRequest::has_token(std::string_view name, std::string_view token) const {
  const std::vector<std::string_view> values = list_values(headers, name);
  return std::any_of(values.begin(), values.end(), [&](std::string_view v) { return iequals(v, token); });
}

// ---------------------------------------------------------------- ServerSocket

ServerSocket::ServerSocket(int fd, int stop_fd, std::function<void()> on_close)
    : fd_(fd), stop_fd_(stop_fd), on_close_(std::move(on_close)) {}

ServerSocket::~ServerSocket() {
  close();
}

IoStatus ServerSocket::wait_ready(short events, std::optional<Clock::time_point> deadline) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return IoStatus::timed_out;
      timeout_ms = static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), 1 << 30));
    }
    std::array<pollfd, 2> fds{};
    fds[0] = {fd_, events, 0};
    fds[1] = {stop_fd_, POLLIN, 0};
    const int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoStatus::failed;
    }
    if (fds[1].revents != 0) return IoStatus::stopped;
    if (fds[0].revents != 0) return IoStatus::ok;  // ready, or an error the next call reports
  }
}

IoStatus ServerSocket::fill(std::optional<Clock::time_point> deadline) {
  if (fd_ < 0) return IoStatus::failed;
  std::array<char, kReadBytes> buf;
  for (;;) {
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n > 0) {
      in_.append(buf.data(), static_cast<std::size_t>(n));
      return IoStatus::ok;
    }
    if (n == 0) return IoStatus::closed;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return IoStatus::closed;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IoStatus::failed;
    if (const IoStatus s = wait_ready(POLLIN, deadline); s != IoStatus::ok) return s;
  }
}

IoStatus ServerSocket::need(std::size_t n) {
  while (in_.size() < n) {
    const IoStatus s = fill(std::nullopt);
    if (s == IoStatus::closed) return IoStatus::truncated;
    if (s != IoStatus::ok) return s;
  }
  return IoStatus::ok;
}

void ServerSocket::consume(std::size_t n, ServerRequest& request) {
  request.raw.append(in_, 0, n);
  in_.erase(0, n);
}

IoStatus ServerSocket::read_head(ServerRequest& request,
                                 std::optional<std::chrono::milliseconds> idle_timeout) {
  const std::optional<Clock::time_point> idle_deadline =
      idle_timeout ? std::optional(Clock::now() + *idle_timeout) : std::nullopt;
  for (;;) {
    // Empty lines before a request line are ignored (RFC 9112 §2.2).
    std::size_t skip = 0;
    while (skip < in_.size() &&
           (in_[skip] == '\n' || (in_[skip] == '\r' && skip + 1 < in_.size() && in_[skip + 1] == '\n'))) {
      skip += in_[skip] == '\r' ? 2 : 1;
    }
    in_.erase(0, skip);
    const bool nothing_yet = in_.empty() || in_ == "\r";
    const std::size_t end = find_head_end(in_);
    if (end != std::string::npos) {
      if (end > RequestLimits::max_head_bytes) return IoStatus::too_large;
      if (!parse_head(std::string_view(in_).substr(0, end), request)) return IoStatus::malformed;
      consume(end, request);
      return IoStatus::ok;
    }
    if (in_.size() > RequestLimits::max_head_bytes) return IoStatus::too_large;
    const IoStatus s = fill(nothing_yet ? idle_deadline : std::nullopt);
    if (s == IoStatus::closed) return nothing_yet ? IoStatus::closed : IoStatus::truncated;
    if (s != IoStatus::ok) return s;
  }
}

IoStatus ServerSocket::read_crlf_line(std::string& line, std::size_t limit, ServerRequest& request) {
  for (;;) {
    const std::size_t nl = in_.find('\n');
    if (nl != std::string::npos) {
      // Chunk lines end in CRLF exactly: a bare LF is a smuggling vector (RFC 9112 §7.1).
      if (nl == 0 || in_[nl - 1] != '\r' || nl + 1 > limit) return IoStatus::malformed;
      line.assign(in_, 0, nl - 1);
      consume(nl + 1, request);
      return IoStatus::ok;
    }
    if (in_.size() > limit) return IoStatus::malformed;
    if (const IoStatus s = need(in_.size() + 1); s != IoStatus::ok) return s;
  }
}

IoStatus ServerSocket::read_chunked(ServerRequest& request) {
  request.chunked = true;
  std::string line;
  for (;;) {
    // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 §7.1)
    if (const IoStatus s = read_crlf_line(line, RequestLimits::max_chunk_line_bytes, request);
        s != IoStatus::ok) {
      return s;
    }
    std::size_t size = 0;
    std::size_t digits = 0;
    for (; digits < line.size(); ++digits) {
      const char c = lower(line[digits]);
      int v = 0;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else {
        break;
      }
      if (size > RequestLimits::max_body_bytes) return IoStatus::too_large;
      size = size * 16 + static_cast<std::size_t>(v);
    }
    if (digits == 0) return IoStatus::malformed;
    if (digits < line.size() && line[digits] != ';' && line[digits] != ' ' && line[digits] != '\t') {
      return IoStatus::malformed;
    }
    if (size == 0) break;
    if (request.body.size() + size > RequestLimits::max_body_bytes) return IoStatus::too_large;
    if (const IoStatus s = need(size + 2); s != IoStatus::ok) return s;
    if (in_.compare(size, 2, "\r\n") != 0) return IoStatus::malformed;
    request.body.append(in_, 0, size);
    consume(size + 2, request);
  }
  // trailer-section = *( field-line CRLF ) CRLF (RFC 9112 §7.1.2)
  std::size_t trailer_bytes = 0;
  for (;;) {
    if (const IoStatus s = read_crlf_line(line, RequestLimits::max_trailer_bytes, request);
        s != IoStatus::ok) {
      return s;
    }
    if (line.empty()) return IoStatus::ok;
    trailer_bytes += line.size() + 2;
    if (trailer_bytes > RequestLimits::max_trailer_bytes) return IoStatus::too_large;
    if (line.front() == ' ' || line.front() == '\t') return IoStatus::malformed;
    if (!parse_field_line(line, request.trailers)) return IoStatus::malformed;
  }
}

IoStatus ServerSocket::read_body(ServerRequest& request) {
  // RFC 9112 §6.3 for requests: Transfer-Encoding wins over Content-Length
  // (item 3); its final coding must be chunked, else 400 (item 4).
  const std::vector<std::string_view> codings = list_values(request.headers, "Transfer-Encoding");
  if (!codings.empty()) {
    if (!iequals(codings.back(), "chunked")) return IoStatus::malformed;
    return read_chunked(request);
  }
  // Content-Length (item 5): every value decimal and equal.
  std::optional<std::size_t> length;
  for (std::string_view v : list_values(request.headers, "Content-Length")) {
    if (v.size() > 12 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return IoStatus::malformed;
    }
    const std::size_t n = std::stoull(std::string(v));
    if (length && *length != n) return IoStatus::malformed;
    length = n;
  }
  if (!length || *length == 0) return IoStatus::ok;  // item 7: a request without framing has no body
  if (*length > RequestLimits::max_body_bytes) return IoStatus::too_large;
  if (const IoStatus s = need(*length); s != IoStatus::ok) return s;
  request.body.assign(in_, 0, *length);
  consume(*length, request);
  return IoStatus::ok;
}

IoStatus ServerSocket::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    if (fd_ < 0) return IoStatus::failed;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IoStatus::failed;
    if (const IoStatus s = wait_ready(POLLOUT, std::nullopt); s != IoStatus::ok) return s;
  }
  return IoStatus::ok;
}

IoStatus ServerSocket::wait_for_close(std::optional<std::chrono::milliseconds> timeout) {
  const std::optional<Clock::time_point> deadline =
      timeout ? std::optional(Clock::now() + *timeout) : std::nullopt;
  for (;;) {
    in_.clear();
    const IoStatus s = fill(deadline);
    if (s == IoStatus::ok) continue;
    return s == IoStatus::failed ? IoStatus::closed : s;
  }
}

bool ServerSocket::sleep(std::chrono::milliseconds duration) {
  const Clock::time_point deadline = Clock::now() + duration;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return true;
    // Input does not end a sleep; a dead connection (close_client_connections,
    // a reset, or FIN both ways) does: POLLHUP and POLLERR are always reported.
    std::array<pollfd, 2> fds{};
    fds[0] = {fd_, 0, 0};
    fds[1] = {stop_fd_, POLLIN, 0};
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n > 0) return false;
  }
}

void ServerSocket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void ServerSocket::close() {
  if (fd_ < 0) return;
  if (on_close_) on_close_();
  ::close(fd_);
  fd_ = -1;
  in_.clear();
}

void ServerSocket::reset() {
  if (fd_ < 0) return;
  const linger abort_on_close{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  close();
}

void ServerSocket::close_gracefully(std::chrono::milliseconds drain) {
  if (fd_ < 0) return;
  shutdown_write();
  wait_for_close(drain);
  close();
}

// ---------------------------------------------------------------- AcceptLoop

namespace detail {

AcceptLoop::AcceptLoop(OnConnection on_connection, std::string unix_socket_path)
    : on_connection_(std::move(on_connection)), unix_socket_path_(std::move(unix_socket_path)) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) throw_errno("eventfd");
  try {
    tcp_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (tcp_fd_ < 0) throw_errno("socket");
    const int yes = 1;
    ::setsockopt(tcp_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in addr = loopback_address();
    if (::bind(tcp_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw_errno("bind 127.0.0.1:0");
    if (::listen(tcp_fd_, SOMAXCONN) != 0) throw_errno("listen");
    socklen_t len = sizeof addr;
    if (::getsockname(tcp_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
    port_ = ntohs(addr.sin_port);

    if (!unix_socket_path_.empty()) {
      sockaddr_un un{};
      un.sun_family = AF_UNIX;
      if (unix_socket_path_.size() >= sizeof un.sun_path) {
        throw std::system_error(ENAMETOOLONG, std::generic_category(), "unix socket path");
      }
      std::memcpy(un.sun_path, unix_socket_path_.c_str(), unix_socket_path_.size() + 1);
      unix_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (unix_fd_ < 0) throw_errno("socket(AF_UNIX)");
      ::unlink(unix_socket_path_.c_str());
      if (::bind(unix_fd_, reinterpret_cast<const sockaddr*>(&un), sizeof un) != 0) throw_errno("bind unix");
      if (::listen(unix_fd_, SOMAXCONN) != 0) throw_errno("listen unix");
    }
    acceptor_ = std::thread([this] { run_acceptor(); });
  } catch (...) {
    for (int fd : {tcp_fd_, unix_fd_, stop_fd_}) {
      if (fd >= 0) ::close(fd);
    }
    if (unix_fd_ >= 0) ::unlink(unix_socket_path_.c_str());
    throw;
  }
}

AcceptLoop::~AcceptLoop() {
  stop();
}

std::size_t AcceptLoop::connections_accepted() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

std::size_t AcceptLoop::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

bool AcceptLoop::wait_for_connections_accepted(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return accepted_ >= n; });
}

bool AcceptLoop::wait_for_open_connections(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return open_ == n; });
}

void AcceptLoop::close_client_connections() {
  std::unique_lock lock(mu_);
  std::vector<std::size_t> closing;
  for (const Conn& c : conns_) {
    if (c.fd < 0) continue;
    // Under the lock because the fd stays valid only while registered; the
    // call does not block.
    ::shutdown(c.fd, SHUT_RDWR);
    closing.push_back(c.index);
  }
  // A connection reaped meanwhile has closed too.
  changed_.wait_for(lock, kCloseClientsWait, [&] {
    return std::none_of(conns_.begin(), conns_.end(), [&](const Conn& c) {
      return c.fd >= 0 && std::find(closing.begin(), closing.end(), c.index) != closing.end();
    });
  });
}

void AcceptLoop::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  signal_eventfd(stop_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  std::list<Conn> conns;
  {
    std::lock_guard lock(mu_);
    conns.splice(conns.end(), conns_);
  }
  for (Conn& c : conns) {
    if (c.thread.joinable()) c.thread.join();
  }
  for (int* fd : {&tcp_fd_, &unix_fd_, &stop_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (!unix_socket_path_.empty()) ::unlink(unix_socket_path_.c_str());
}

void AcceptLoop::run_acceptor() {
  for (;;) {
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    fds[count++] = {stop_fd_, POLLIN, 0};
    fds[count++] = {tcp_fd_, POLLIN, 0};
    if (unix_fd_ >= 0) fds[count++] = {unix_fd_, POLLIN, 0};
    const int n = ::poll(fds.data(), count, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "test server: poll: " << std::strerror(errno);
      return;
    }
    if (fds[0].revents != 0) return;
    for (nfds_t i = 1; i < count; ++i) {
      if (fds[i].revents != 0) accept_one(fds[i].fd);
    }
    reap_finished();
  }
}

void AcceptLoop::accept_one(int listen_fd) {
  const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;  // EAGAIN, or the client gave up already
  if (listen_fd == tcp_fd_) {
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  }
  std::lock_guard lock(mu_);
  Conn& conn = conns_.emplace_back();
  conn.index = accepted_++;
  conn.fd = fd;
  ++open_;
  conn.thread = std::thread([this, c = &conn] { run_connection(c); });
  changed_.notify_all();
}

void AcceptLoop::run_connection(Conn* conn) {
  int fd = -1;
  std::size_t index = 0;
  {
    std::lock_guard lock(mu_);
    fd = conn->fd;
    index = conn->index;
  }
  {
    ServerSocket socket(fd, stop_fd_, [this, conn] {
      std::lock_guard lock(mu_);
      conn->fd = -1;
      --open_;
      changed_.notify_all();
    });
    try {
      on_connection_(index, socket);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "test server connection " << index << " threw: " << e.what();
    }
  }  // closes the socket
  std::lock_guard lock(mu_);
  conn->finished = true;
}

void AcceptLoop::reap_finished() {
  std::list<Conn> done;
  {
    std::lock_guard lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      auto next = std::next(it);
      if (it->finished) done.splice(done.end(), conns_, it);
      it = next;
    }
  }
  for (Conn& c : done) c.thread.join();
}

// ---------------------------------------------------------------- RequestLog

std::size_t RequestLog::record(ServerRequest request) {
  std::lock_guard lock(mu_);
  requests_.push_back(std::move(request));
  changed_.notify_all();
  return requests_.size() - 1;
}

void RequestLog::update(std::size_t position, ServerRequest request) {
  std::lock_guard lock(mu_);
  requests_.at(position) = std::move(request);
  changed_.notify_all();
}

std::vector<ServerRequest> RequestLog::snapshot() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool RequestLog::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

}  // namespace detail

// ---------------------------------------------------------------- ServerResponse

ServerResponse::ServerResponse(ServerSocket& socket, const ServerRequest& request, bool must_close)
    : socket_(socket), request_(request), close_(must_close) {}

void ServerResponse::set_status(int status, std::string reason) {
  status_ = status;
  reason_ = std::move(reason);
}

void ServerResponse::add_header(std::string name, std::string value) {
  headers_.emplace_back(std::move(name), std::move(value));
}

void ServerResponse::set_header(std::string name, std::string value) {
  std::erase_if(headers_, [&](const auto& f) { return iequals(f.first, name); });
  add_header(std::move(name), std::move(value));
}

void ServerResponse::set_body(std::string body) {
  body_ = std::move(body);
}

void ServerResponse::use_chunked() {
  chunked_ = true;
}

void ServerResponse::add_trailer(std::string name, std::string value) {
  chunked_ = true;
  trailers_.emplace_back(std::move(name), std::move(value));
}

void ServerResponse::close_connection() {
  close_ = true;
}

bool ServerResponse::send_interim(int status, const FieldList& fields) {
  if (head_sent_ || failed_) return false;
  std::string head = status_line(status, {});
  for (const auto& [n, v] : fields) head += n + ": " + v + "\r\n";
  head += "\r\n";
  failed_ = socket_.write_all(head) != IoStatus::ok;
  return !failed_;
}

ServerResponse::Framing ServerResponse::decide_framing(bool streaming) const {
  // RFC 9112 §6.3 item 1: 1xx, 204 and 304 responses have no body.
  if ((status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304) return Framing::none;
  const bool http11 = request_.version_minor >= 1;
  if (chunked_) return http11 ? Framing::chunked : Framing::until_close;
  if (std::any_of(headers_.begin(), headers_.end(),
                  [](const auto& f) { return iequals(f.first, "Content-Length"); })) {
    return Framing::length;  // the handler's own figure, sent as is
  }
  if (!streaming) return Framing::length;
  return http11 ? Framing::chunked : Framing::until_close;
}

bool ServerResponse::send_head(bool streaming) {
  if (head_sent_) return !failed_;
  head_sent_ = true;
  framing_ = decide_framing(streaming);
  for (const auto& f : headers_) {
    if (iequals(f.first, "Connection") && iequals(trim(f.second), "close")) close_ = true;
  }
  if (framing_ == Framing::until_close) close_ = true;
  std::string head = status_line(status_, reason_);
  bool has_length = false;
  bool has_connection = false;
  for (const auto& [n, v] : headers_) {
    head += n + ": " + v + "\r\n";
    if (iequals(n, "Content-Length")) {
      has_length = true;
      declared_length_ = static_cast<std::size_t>(std::strtoull(v.c_str(), nullptr, 10));
    }
    if (iequals(n, "Connection")) has_connection = true;
  }
  if (framing_ == Framing::chunked) head += "Transfer-Encoding: chunked\r\n";
  if (framing_ == Framing::length && !has_length) {
    declared_length_ = body_.size();
    head += "Content-Length: " + std::to_string(body_.size()) + "\r\n";
  }
  if (close_ && !has_connection) head += "Connection: close\r\n";
  head += "\r\n";
  failed_ = socket_.write_all(head) != IoStatus::ok;
  if (!failed_ && !body_.empty()) {
    std::string pending = std::move(body_);
    body_.clear();
    return write(pending);
  }
  return !failed_;
}

bool ServerResponse::flush() {
  return send_head(true);
}

bool ServerResponse::write(std::string_view bytes) {
  if (!head_sent_) {
    body_ += bytes;
    return send_head(true);
  }
  if (failed_) return false;
  // A HEAD response carries no body; nor do 1xx/204/304 (RFC 9112 §6.3 item 1).
  if (request_.method == "HEAD" || framing_ == Framing::none || bytes.empty()) return true;
  written_bytes_ += bytes.size();
  if (framing_ == Framing::chunked) {
    std::string chunk = chunk_size_line(bytes.size());
    chunk += bytes;
    chunk += "\r\n";
    failed_ = socket_.write_all(chunk) != IoStatus::ok;
  } else {
    failed_ = socket_.write_all(bytes) != IoStatus::ok;
  }
  return !failed_;
}

bool ServerResponse::wait_for_client_close(std::chrono::milliseconds timeout) {
  return socket_.wait_for_close(timeout) == IoStatus::closed;
}

bool ServerResponse::sleep(std::chrono::milliseconds duration) {
  return socket_.sleep(duration);
}

bool ServerResponse::finish() {
  if (!head_sent_) send_head(false);
  if (failed_) return false;
  if (framing_ == Framing::chunked && request_.method != "HEAD") {
    std::string last = "0\r\n";
    for (const auto& [n, v] : trailers_) last += n + ": " + v + "\r\n";
    last += "\r\n";
    failed_ = socket_.write_all(last) != IoStatus::ok;
  }
  // A length the handler declared but did not send leaves the client
  // waiting for the rest; only closing ends that response.
  const bool short_body =
      framing_ == Framing::length && request_.method != "HEAD" && written_bytes_ != declared_length_;
  return !failed_ && !close_ && !short_body;
}

// ---------------------------------------------------------------- TestServer

TestServer::TestServer(Handler handler, TestServerOptions options)
    : handler_(std::move(handler)),
      options_(std::move(options)),
      loop_([this](std::size_t index, ServerSocket& socket) { serve(index, socket); },
            options_.unix_socket_path) {}

TestServer::~TestServer() {
  stop();
}

std::string TestServer::url() const {
  return "http://" + host_port();
}

std::string TestServer::host_port() const {
  return "127.0.0.1:" + std::to_string(port());
}

void TestServer::serve(std::size_t connection_index, ServerSocket& socket) {
  for (std::size_t exchange = 0;; ++exchange) {
    ServerRequest request;
    request.connection_index = connection_index;
    request.exchange_index = exchange;
    IoStatus s = socket.read_head(request, options_.idle_timeout);
    if (s == IoStatus::ok) {
      // Expect: 100-continue from an HTTP/1.1 client (RFC 9110 §10.1.1).
      const bool expects_continue = request.version_minor >= 1 && request.has_token("Expect", "100-continue");
      if (expects_continue && options_.expect_continue == ExpectContinue::reply_early) {
        request.body_complete = false;
      } else {
        if (expects_continue && options_.expect_continue == ExpectContinue::send_continue) {
          s = socket.write_all("HTTP/1.1 100 Continue\r\n\r\n");
        }
        if (s == IoStatus::ok) s = socket.read_body(request);
      }
    }
    if (s == IoStatus::malformed || s == IoStatus::too_large) {
      const std::string reply = status_line(s == IoStatus::malformed ? 400 : 431, {}) +
                                "Content-Length: 0\r\nConnection: close\r\n\r\n";
      if (socket.write_all(reply) == IoStatus::ok) socket.close_gracefully(kCloseDrain);
      return;
    }
    if (s != IoStatus::ok) return;  // closed, stopped, timed out (idle), failed
    log_.record(request);

    // HTTP/1.0 clients get one response per connection; HTTP/1.1 ones keep it
    // unless they send Connection: close (RFC 9112 §9.3). An unread body
    // cannot be skipped reliably, so the connection closes after it.
    const bool must_close =
        request.version_minor == 0 || request.has_token("Connection", "close") || !request.body_complete ||
        (options_.max_requests_per_connection != 0 && exchange + 1 >= options_.max_requests_per_connection) ||
        (request.header("Transfer-Encoding") && request.header("Content-Length"));  // RFC 9112 §6.1
    ServerResponse response(socket, request, must_close);
    if (handler_) {
      handler_(request, response);
    } else {
      response.set_body("ok");
    }
    if (!response.finish()) {
      socket.close_gracefully(kCloseDrain);
      return;
    }
  }
}

}  // namespace nethttp::testing
