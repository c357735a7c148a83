// Making a connection: name resolution and Happy Eyeballs (RFC 8305) over
// TCP, or a Unix domain socket; each bounded by a deadline.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/fd.h"
#include "net/socket_io.h"
#include "nethttp/error.h"

namespace nethttp::net {

/// Progress reports of a dial, for tracing; each may be empty. All of them
/// run on the dialing thread, in order.
///
/// Every connect_start (one per address tried) is followed by exactly one
/// connect_done for the same address. With Happy Eyeballs several attempts
/// can be in flight at once, so their start/done pairs may overlap
/// ("start A, start B, done B, done A"). `error` is null for the attempt that
/// won; otherwise its kind is connect (refused, unreachable...), timeout
/// (still unanswered at the deadline) or canceled (abandoned because another
/// address connected first; reported after the winner's connect_done).
struct DialEvents {
  std::function<void(std::string_view host)> dns_start;
  std::function<void(std::string_view host, const Error* error)> dns_done;
  std::function<void(std::string_view address)> connect_start;
  std::function<void(std::string_view address, const Error* error)> connect_done;
};

/// RFC 8305 §8's recommended Connection Attempt Delay: how long an attempt
/// has to succeed or fail before the next address is tried in parallel.
inline constexpr std::chrono::milliseconds kConnectionAttemptDelay{250};

/// One resolved socket address (IPv4 or IPv6) and its text for messages and
/// traces: "127.0.0.1:80", "[::1]:80".
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;

  [[nodiscard]] int family() const noexcept { return storage.ss_family; }
  [[nodiscard]] const sockaddr* sockaddr_ptr() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
};

/// An Address for `sa` (AF_INET or AF_INET6, `length` bytes), with its text.
[[nodiscard]] Address make_address(const sockaddr* sa, socklen_t length);

/// RFC 8305 §4: interleaves the address families of a list the resolver
/// already sorted (getaddrinfo sorts by RFC 6724), starting with the family
/// of its first address — IPv6 whenever the host's policy prefers it — and a
/// First Address Family Count of 1: [v6a, v6b, v4a, v4b] → [v6a, v4a, v6b,
/// v4b]. Within a family the resolver's order is kept; once one family runs
/// out, the rest of the other follows.
[[nodiscard]] std::vector<Address> order_addresses(std::vector<Address> addresses);

/// Happy Eyeballs (RFC 8305 §5) over `addresses`, tried in the order given
/// (see order_addresses), without threads: one poll() watches every attempt
/// in flight. The first address is tried at once; while no attempt has
/// connected, the next one starts `attempt_delay` after the previous one
/// started, or at once when an attempt fails (refused, unreachable). The
/// first attempt to connect wins and every other socket is closed before
/// this returns. The socket comes back in blocking mode with TCP_NODELAY and
/// TCP keep-alive probes every 15 s (Go's default).
///
/// Errors: connect when every address failed ("connect 127.0.0.1:8080:
/// Connection refused": the last address to fail and its reason, with its
/// errno); timeout when `deadline` passes first ("connect A, B: no answer
/// before the connect deadline", naming the attempts still unanswered, then
/// an earlier failure and how many addresses were never tried, if any).
[[nodiscard]] Result<Fd> dial_addresses(std::span<const Address> addresses, Clock::time_point deadline,
                                        const DialEvents& events,
                                        std::chrono::milliseconds attempt_delay = kConnectionAttemptDelay);

/// Resolves `host` (getaddrinfo, IPv4 and IPv6, AI_ADDRCONFIG), orders the
/// addresses with order_addresses() and dials them with dial_addresses(),
/// all before `deadline`. Errors: dns (the name did not resolve), then those
/// of dial_addresses().
[[nodiscard]] Result<Fd> dial_tcp(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                                  const DialEvents& events);

/// Connects to the Unix domain stream socket at `path` before `deadline`
/// (a listener whose accept queue is full makes connect() wait; the deadline
/// bounds that wait). The socket is returned in blocking mode. Reports
/// connect_start/connect_done with "unix:PATH". Errors: connect ("connect
/// unix:/run/app.sock: No such file or directory", with its errno; a path
/// longer than a sockaddr_un holds, 107 bytes, or empty, or containing a NUL
/// byte, is refused before any syscall), timeout.
[[nodiscard]] Result<Fd> dial_unix(const std::string& path, Clock::time_point deadline,
                                   const DialEvents& events);

}  // namespace nethttp::net
