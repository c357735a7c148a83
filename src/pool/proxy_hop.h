// The hop through a proxy: how a connection to an origin is made through
// the proxy a request was given (Transport's proxy hook) — an HTTP CONNECT
// tunnel, a SOCKS5 tunnel, or nothing at all for an http request that an
// HTTP proxy forwards (absolute-form).
//
// CONNECT lives here rather than in net/ because it speaks HTTP: the
// codec writes the request and parses the proxy's answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "nethttp/error.h"
#include "nethttp/url.h"

namespace nethttp::pool {

using Clock = std::chrono::steady_clock;

/// Whether `proxy` forwards requests for `target_scheme` itself (an HTTP
/// proxy and an http URL: the request goes to it in absolute-form) rather
/// than tunnelling them.
[[nodiscard]] bool forwards(const Url& proxy, std::string_view target_scheme);

/// "Basic " and base64("user:password") for the proxy URL's userinfo; empty
/// when it has no user.
[[nodiscard]] std::string proxy_authorization(const Url& proxy);

/// Over `fd`, connected to `proxy`, sets up a tunnel to host:port (`peer`,
/// with IPv6 brackets): CONNECT for an HTTP proxy (with its credentials),
/// the SOCKS5 handshake for socks5/socks5h. Every step ends by `deadline`.
/// Errors: proxy (it refused: CONNECT's status, SOCKS5's reply; or a
/// scheme nethttp cannot tunnel through), timeout, io, protocol (a
/// malformed answer).
[[nodiscard]] Result<void> open_tunnel(int fd, const Url& proxy, const std::string& host, std::uint16_t port,
                                       const std::string& peer, Clock::time_point deadline);

}  // namespace nethttp::pool
