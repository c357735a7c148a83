// Fuzzes the SOCKS5 client against a proxy that answers with the input: the
// first byte picks the variant (bit 0: offer username/password; bit 1: an
// IPv6 literal target instead of a name), the rest is everything the
// "proxy" sends before it closes. The client must end with an error or a
// tunnel, never read past the replies it expects, never hang or crash.
#include "net/socks5.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t variant = data[0];
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  // The proxy's bytes are all there before the client starts, then EOF: a
  // reply is cut short only where the input ends.
  std::size_t offset = 1;
  while (offset < size) {
    const ssize_t n = ::send(fds[1], data + offset, size - offset, MSG_NOSIGNAL);
    if (n <= 0) break;
    offset += static_cast<std::size_t>(n);
  }
  ::shutdown(fds[1], SHUT_WR);
  std::optional<nethttp::net::Socks5Auth> auth;
  if ((variant & 1) != 0) auth = nethttp::net::Socks5Auth{"user", "secret"};
  const std::string host = (variant & 2) != 0 ? "2001:db8::1" : "example.com";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  const nethttp::Result<void> result =
      nethttp::net::socks5_connect(fds[0], "fuzz:1080", host, 443, auth, deadline);
  if (!result) {
    check(!result.error().message().empty());
    check(result.error().kind() != nethttp::ErrorKind::timeout);  // EOF always comes first
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}
