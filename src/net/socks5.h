// The client side of a SOCKS5 proxy (RFC 1928, with RFC 1929's
// username/password authentication): asking the proxy for a tunnel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/socket_io.h"
#include "nethttp/error.h"

namespace nethttp::net {

/// Credentials for RFC 1929 username/password authentication. The username
/// must be 1 to 255 bytes, the password at most 255.
struct Socks5Auth {
  std::string username;
  std::string password;
};

/// Over `fd`, a connected blocking socket to a SOCKS5 proxy, asks the proxy
/// to connect to host:port, and returns once it has (or has not):
/// 1. greeting: offers "no authentication" and, when `auth` is given,
///    username/password (RFC 1928 §3); the proxy picks one;
/// 2. authentication (RFC 1929) when the proxy picked username/password;
/// 3. CONNECT (RFC 1928 §4) with `host` as an IPv4 or IPv6 literal when it
///    is one (IPv6 with or without brackets), else as a domain name that
///    the proxy resolves (remote DNS: socks5h, and for socks5 too, as curl
///    and Go do); the reply's bound address is read and discarded.
///
/// Reads exactly the bytes of each reply, never more: on success the socket
/// carries the tunnel, with no byte of it consumed. Every read and write
/// waits at most until `deadline`. Blocks the calling thread; interrupt(fd)
/// from another thread ends it at once (with ErrorKind::io).
///
/// Errors name the proxy (`proxy_name`, e.g. "127.0.0.1:1080") and the step,
/// e.g. "SOCKS5 proxy 127.0.0.1:1080: connect to example.com:443: connection
/// refused (reply 5)":
/// - proxy: the proxy sent something invalid (a version other than 5, a
///   method it was not offered, an unknown address type), accepted no
///   method offered ("no acceptable methods", 0xFF), rejected the
///   credentials, or refused the CONNECT (reply codes 1-8 with RFC 1928's
///   texts, others as unassigned);
/// - timeout: `deadline` passed during any step (errno ETIMEDOUT);
/// - io: the proxy closed the connection (or reset it) during a step;
/// - invalid_request: `host` is empty or longer than 255 bytes, or the
///   credentials are too long; nothing is sent then.
[[nodiscard]] Result<void> socks5_connect(int fd, std::string_view proxy_name, const std::string& host,
                                          std::uint16_t port, const std::optional<Socks5Auth>& auth,
                                          Clock::time_point deadline);

}  // namespace nethttp::net
