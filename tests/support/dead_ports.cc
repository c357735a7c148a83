#include "support/dead_ports.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "support/socket_io.h"

namespace nethttp::testing {
namespace {

[[noreturn]] void fail(const std::string& step) {
  throw std::system_error(errno, std::generic_category(), step);
}

}  // namespace

RefusingPort::RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in addr = loopback_address(0);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    if (fd_ >= 0) ::close(fd_);
    errno = err;
    fail("RefusingPort: bind 127.0.0.1:0");
  }
  port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() {
  ::close(fd_);
}

std::string RefusingPort::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

UnansweredListener::UnansweredListener() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) fail("UnansweredListener: socket");
  sockaddr_in addr = loopback_address(0);
  socklen_t len = sizeof addr;
  if (::bind(listener_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 0) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(listener_);
    errno = err;
    fail("UnansweredListener: listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  // The one connection a backlog of 0 admits; it is never accepted.
  filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (filler_ < 0 || ::connect(filler_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    if (filler_ >= 0) ::close(filler_);
    ::close(listener_);
    errno = err;
    fail("UnansweredListener: filling the accept queue");
  }
}

UnansweredListener::~UnansweredListener() {
  ::close(filler_);
  ::close(listener_);
}

}  // namespace nethttp::testing
