// Making a TCP connection: name resolution and connect, with a deadline.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "net/fd.h"
#include "net/socket_io.h"
#include "nethttp/error.h"

namespace nethttp::net {

/// Progress reports of a dial, for tracing; each may be empty.
struct DialEvents {
  std::function<void(std::string_view host)> dns_start;
  std::function<void(std::string_view host, const Error* error)> dns_done;
  std::function<void(std::string_view address)> connect_start;
  std::function<void(std::string_view address, const Error* error)> connect_done;
};

/// Resolves `host` and connects to its addresses in the order the resolver
/// gives them until one accepts, all before `deadline`. The socket is
/// returned in blocking mode with TCP_NODELAY and TCP keep-alive probes
/// every 15 s (Go's default). Errors: dns (the name did not resolve),
/// connect (every address refused or was unreachable; the message names the
/// last address and its reason), timeout.
[[nodiscard]] Result<Fd> dial_tcp(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                                  const DialEvents& events);

}  // namespace nethttp::net
