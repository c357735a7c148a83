#include "support/socks5_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <initializer_list>
#include <memory>
#include <utility>

namespace nethttp::testing {
namespace {

// RFC 1928 and RFC 1929 values, spelled out here rather than shared with the
// client under test.
constexpr std::uint8_t kVersion = 5;
constexpr std::uint8_t kNoAuth = 0x00;
constexpr std::uint8_t kUserPass = 0x02;
constexpr std::uint8_t kNoAcceptable = 0xff;
constexpr std::uint8_t kAuthVersion = 1;
constexpr std::uint8_t kConnect = 1;
constexpr std::uint8_t kIpv4 = 1;
constexpr std::uint8_t kDomain = 3;
constexpr std::uint8_t kIpv6 = 4;
constexpr std::uint8_t kGeneralFailure = 1;
constexpr std::uint8_t kNetworkUnreachable = 3;
constexpr std::uint8_t kHostUnreachable = 4;
constexpr std::uint8_t kConnectionRefused = 5;
constexpr std::uint8_t kCommandNotSupported = 7;
constexpr std::uint8_t kAddressTypeNotSupported = 8;

/// Relay buffer per direction.
constexpr std::size_t kRelayBufferBytes = std::size_t{16} * 1024;

/// Closes on destruction.
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) : fd_(fd) {}
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

/// The non-blocking socket of one side of a connection, every wait also
/// watching the server's stop fd.
class Peer {
 public:
  Peer(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}

  /// Waits for `events`; false when stopping (or when poll() fails).
  [[nodiscard]] bool wait(short events) const {
    for (;;) {
      std::array<pollfd, 2> fds{{{fd_, events, 0}, {stop_fd_, POLLIN, 0}}};
      const int n = ::poll(fds.data(), fds.size(), -1);
      if (n < 0 && errno == EINTR) continue;
      return n > 0 && fds[1].revents == 0;
    }
  }

  /// Reads exactly `n` bytes; false at EOF, on an error, or when stopping.
  [[nodiscard]] bool read_exact(std::size_t n, std::string& out) const {
    out.assign(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r > 0) {
        got += static_cast<std::size_t>(r);
        continue;
      }
      const bool again = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      const bool interrupted = r < 0 && errno == EINTR;
      if (again && !wait(POLLIN)) return false;
      if (!again && !interrupted) return false;  // EOF or an error
    }
    return true;
  }

  [[nodiscard]] bool read_byte(std::uint8_t& b) const {
    std::string one;
    if (!read_exact(1, one)) return false;
    b = static_cast<std::uint8_t>(one[0]);
    return true;
  }

  /// Writes all of `bytes`; false when the peer is gone or stopping.
  [[nodiscard]] bool write_all(std::string_view bytes) const {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(POLLOUT)) return false;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return false;
      }
    }
    return true;
  }

  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
  int stop_fd_;
};

std::string bytes_of(std::initializer_list<std::uint8_t> values) {
  std::string out;
  for (const std::uint8_t v : values) out.push_back(static_cast<char>(v));
  return out;
}

/// A reply with an all-zero IPv4 bound address (for failures).
std::string failure_reply(std::uint8_t code) {
  return bytes_of({kVersion, code, 0, kIpv4, 0, 0, 0, 0, 0, 0});
}

/// The success reply, with the upstream socket's local address as BND.ADDR.
std::string success_reply(int upstream) {
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  std::string reply = bytes_of({kVersion, 0, 0});
  if (::getsockname(upstream, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
      local.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&local);
    reply.push_back(static_cast<char>(kIpv6));
    reply.append(reinterpret_cast<const char*>(&in6->sin6_addr), sizeof in6->sin6_addr);
    reply.append(reinterpret_cast<const char*>(&in6->sin6_port), sizeof in6->sin6_port);
  } else {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&local);
    reply.push_back(static_cast<char>(kIpv4));
    reply.append(reinterpret_cast<const char*>(&in4->sin_addr), sizeof in4->sin_addr);
    reply.append(reinterpret_cast<const char*>(&in4->sin_port), sizeof in4->sin_port);
  }
  return reply;
}

std::uint8_t reply_code_for(int err) {
  switch (err) {
    case ECONNREFUSED: return kConnectionRefused;
    case EHOSTUNREACH: return kHostUnreachable;
    case ENETUNREACH: return kNetworkUnreachable;
    default: return kGeneralFailure;
  }
}

/// Connects to host:port (resolving a name), watching the stop fd. The
/// socket (non-blocking), or the reply code that says why not.
std::pair<int, std::uint8_t> connect_upstream(const std::string& host, std::uint16_t port, int stop_fd) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list) != 0) {
    return {-1, kHostUnreachable};  // as Dante and curl's test server answer a failed lookup
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(list, &::freeaddrinfo);
  std::uint8_t code = kHostUnreachable;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        if (!Peer(fd, stop_fd).wait(POLLOUT)) {
          ::close(fd);
          return {-1, kGeneralFailure};  // stopping
        }
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err == 0) {
      const int yes = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      return {fd, 0};
    }
    ::close(fd);
    code = reply_code_for(err);
  }
  return {-1, code};
}

/// Copies bytes both ways until both directions have ended (a FIN is passed
/// on as shutdown(SHUT_WR)), an error, or stop.
void relay(const Peer& client, const Peer& upstream, int stop_fd) {
  struct Direction {
    const Peer* from;
    const Peer* to;
    bool open = true;
  };
  std::array<Direction, 2> directions{{{&client, &upstream}, {&upstream, &client}}};
  std::array<char, kRelayBufferBytes> buf{};
  while (directions[0].open || directions[1].open) {
    std::array<pollfd, 3> fds{{{directions[0].open ? client.fd() : -1, POLLIN, 0},
                               {directions[1].open ? upstream.fd() : -1, POLLIN, 0},
                               {stop_fd, POLLIN, 0}}};
    const int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[2].revents != 0) return;
    for (std::size_t i = 0; i < directions.size(); ++i) {
      Direction& d = directions[i];
      if (!d.open || fds[i].revents == 0) continue;
      const ssize_t r = ::recv(d.from->fd(), buf.data(), buf.size(), 0);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (r < 0) return;  // reset: end both
      if (r == 0) {
        ::shutdown(d.to->fd(), SHUT_WR);
        d.open = false;
        continue;
      }
      if (!d.to->write_all(std::string_view(buf.data(), static_cast<std::size_t>(r)))) return;
    }
  }
}

}  // namespace

Socks5Server::Socks5Server(Socks5ServerOptions options)
    : options_(std::move(options)), loop_([this](std::size_t connection_index, ServerSocket& client_socket) {
        serve(connection_index, client_socket);
      }) {}

Socks5Server::~Socks5Server() {
  stop();
}

std::string Socks5Server::host_port() const {
  return "127.0.0.1:" + std::to_string(port());
}

std::string Socks5Server::url(std::string_view scheme) const {
  return std::string(scheme) + "://" + host_port();
}

std::vector<Socks5Connect> Socks5Server::connects() const {
  const std::lock_guard lock(mu_);
  return connects_;
}

bool Socks5Server::wait_for_connects(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return connects_.size() >= n; });
}

void Socks5Server::stop() {
  loop_.stop();
}

void Socks5Server::record(Socks5Connect connect) {
  const std::lock_guard lock(mu_);
  connects_.push_back(std::move(connect));
  changed_.notify_all();
}

void Socks5Server::serve(std::size_t connection_index, ServerSocket& client_socket) {
  const int stop_fd = client_socket.stop_fd();
  const Peer client(client_socket.fd(), stop_fd);
  Socks5Connect seen;
  seen.connection_index = connection_index;

  // Greeting (RFC 1928 §3): VER NMETHODS METHODS.
  std::string head;
  if (!client.read_exact(2, head) || static_cast<std::uint8_t>(head[0]) != kVersion) return;
  std::string methods;
  if (!client.read_exact(static_cast<std::uint8_t>(head[1]), methods)) return;
  for (const char m : methods) seen.methods_offered.push_back(static_cast<std::uint8_t>(m));
  if (options_.fault == Socks5Fault::close_after_greeting) return;
  if (options_.fault == Socks5Fault::stall_after_greeting) {
    client_socket.wait_for_close();
    return;
  }
  const std::uint8_t wanted = options_.credentials ? kUserPass : kNoAuth;
  const bool offered = std::find(seen.methods_offered.begin(), seen.methods_offered.end(), wanted) !=
                       seen.methods_offered.end();
  if (!client.write_all(bytes_of({kVersion, offered ? wanted : kNoAcceptable})) || !offered) return;

  // Username/password (RFC 1929 §2): VER ULEN UNAME PLEN PASSWD.
  if (wanted == kUserPass) {
    std::uint8_t version = 0;
    std::uint8_t length = 0;
    std::string username;
    std::string password;
    if (!client.read_byte(version) || !client.read_byte(length) || !client.read_exact(length, username) ||
        !client.read_byte(length) || !client.read_exact(length, password)) {
      return;
    }
    const bool ok = version == kAuthVersion && username == options_.credentials->username &&
                    password == options_.credentials->password;
    if (!client.write_all(bytes_of({kAuthVersion, static_cast<std::uint8_t>(ok ? 0 : 1)})) || !ok) return;
    seen.authenticated = true;
    seen.username = std::move(username);
  }

  // Request (RFC 1928 §4): VER CMD RSV ATYP DST.ADDR DST.PORT.
  std::string request;
  if (!client.read_exact(4, request) || static_cast<std::uint8_t>(request[0]) != kVersion) return;
  const auto command = static_cast<std::uint8_t>(request[1]);
  seen.address_type = static_cast<std::uint8_t>(request[3]);
  std::string host;
  std::string address;
  std::array<char, INET6_ADDRSTRLEN> text{};
  switch (seen.address_type) {
    case kIpv4:
      if (!client.read_exact(4, address)) return;
      ::inet_ntop(AF_INET, address.data(), text.data(), text.size());
      host = text.data();
      break;
    case kIpv6:
      if (!client.read_exact(16, address)) return;
      ::inet_ntop(AF_INET6, address.data(), text.data(), text.size());
      host = text.data();
      break;
    case kDomain: {
      std::uint8_t length = 0;
      if (!client.read_byte(length) || !client.read_exact(length, host)) return;
      break;
    }
    default: (void)client.write_all(failure_reply(kAddressTypeNotSupported)); return;
  }
  std::string port_bytes;
  if (!client.read_exact(2, port_bytes)) return;
  const auto port = static_cast<std::uint16_t>((static_cast<std::uint8_t>(port_bytes[0]) << 8U) |
                                               static_cast<std::uint8_t>(port_bytes[1]));
  seen.target = (seen.address_type == kIpv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  record(seen);

  if (command != kConnect) {
    (void)client.write_all(failure_reply(kCommandNotSupported));
    return;
  }
  if (options_.fault == Socks5Fault::close_after_connect) return;
  if (options_.fault == Socks5Fault::stall_after_connect) {
    client_socket.wait_for_close();
    return;
  }
  if (options_.refuse_with != 0) {
    (void)client.write_all(failure_reply(options_.refuse_with));
    return;
  }
  const auto [upstream_fd, code] = connect_upstream(host, port, stop_fd);
  if (upstream_fd < 0) {
    (void)client.write_all(failure_reply(code));
    return;
  }
  const OwnedFd owned(upstream_fd);
  if (!client.write_all(success_reply(upstream_fd))) return;
  relay(client, Peer(upstream_fd, stop_fd), stop_fd);
}

}  // namespace nethttp::testing
