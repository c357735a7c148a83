#include "support/dead_ports.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>
#include <string>
#include <system_error>

#include "support/socket_io.h"

namespace nethttp::testing {
namespace {

/// Throws errno's error for `step`, first closing the descriptors of the
/// half-built object (those not -1): its destructor will not run.
[[noreturn]] void fail(const std::string& step, std::initializer_list<int> to_close = {}) {
  const int error = errno;
  for (const int fd : to_close) {
    if (fd >= 0) ::close(fd);
  }
  throw std::system_error(error, std::generic_category(), step);
}

}  // namespace

RefusingPort::RefusingPort() {
  fd_ = bind_loopback(&port_);
  if (fd_ < 0) fail("RefusingPort: bind 127.0.0.1:0");
}

RefusingPort::~RefusingPort() {
  ::close(fd_);
}

std::string RefusingPort::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

UnansweredListener::UnansweredListener() {
  listener_ = bind_loopback(&port_);
  if (listener_ < 0) fail("UnansweredListener: bind 127.0.0.1:0");
  if (::listen(listener_, 0) != 0) fail("UnansweredListener: listen on 127.0.0.1", {listener_});
  const sockaddr_in addr = loopback_address(port_);
  // The one connection a backlog of 0 admits; it is never accepted.
  filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (filler_ < 0 || ::connect(filler_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    fail("UnansweredListener: filling the accept queue", {filler_, listener_});
  }
}

UnansweredListener::~UnansweredListener() {
  ::close(filler_);
  ::close(listener_);
}

}  // namespace nethttp::testing
