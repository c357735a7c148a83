#include "net/dial.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace nethttp::net {
namespace {

/// Go's net.Dialer default for TCP keep-alive probes.
constexpr int kKeepAliveSeconds = 15;

struct AddrInfoFree {
  void operator()(addrinfo* ai) const noexcept { ::freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

std::string address_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(sa);
  ::inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
  port = ntohs(in4->sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

Result<AddrInfoPtr> resolve(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
  if (rc != 0) {
    const int err = rc == EAI_SYSTEM ? errno : 0;
    return Error(ErrorKind::dns, "lookup " + host + ": " + ::gai_strerror(rc), err);
  }
  return AddrInfoPtr(list);
}

void tune(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepAliveSeconds, sizeof kKeepAliveSeconds);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepAliveSeconds, sizeof kKeepAliveSeconds);
}

/// One connect() attempt, non-blocking so the deadline holds, then back to
/// blocking mode for the exchange (see socket_io.h).
Result<Fd> connect_one(const addrinfo& ai, const std::string& address, Clock::time_point deadline) {
  Fd fd(::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai.ai_protocol));
  if (!fd.valid()) return Error(ErrorKind::connect, "socket: " + std::string(std::strerror(errno)), errno);
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      return Error(ErrorKind::connect, "connect " + address + ": " + std::strerror(errno), errno);
    }
    Result<Readiness> ready = wait_ready(fd.get(), /*want_write=*/true, deadline);
    if (!ready) return Error(ErrorKind::connect, "connect " + address + ": " + ready.error().message());
    if (!ready->writable && !ready->readable) {
      return Error(ErrorKind::timeout, "connect " + address + ": no answer before the connect deadline",
                   ETIMEDOUT);
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Error(ErrorKind::connect, "connect " + address + ": " + std::strerror(err), err);
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  tune(fd.get());
  return fd;
}

}  // namespace

Result<Fd> dial_tcp(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                    const DialEvents& events) {
  if (events.dns_start) events.dns_start(host);
  Result<AddrInfoPtr> addresses = resolve(host, port);
  if (events.dns_done) events.dns_done(host, addresses ? nullptr : &addresses.error());
  if (!addresses) return std::move(addresses).error();

  std::optional<Error> last;
  for (const addrinfo* ai = addresses->get(); ai != nullptr; ai = ai->ai_next) {
    const std::string address = address_text(ai->ai_addr);
    if (events.connect_start) events.connect_start(address);
    Result<Fd> fd = connect_one(*ai, address, deadline);
    if (events.connect_done) events.connect_done(address, fd ? nullptr : &fd.error());
    if (fd) return fd;
    if (fd.error().kind() == ErrorKind::timeout) return std::move(fd).error();
    last = std::move(fd).error();
  }
  if (last) return std::move(*last);
  return Error(ErrorKind::dns, "lookup " + host + ": no addresses");
}

}  // namespace nethttp::net
