#include "net/socks5.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>

#include "base/quote.h"

namespace nethttp::net {
namespace {

// RFC 1928 §3-§6 and RFC 1929 §2.
constexpr std::uint8_t kVersion = 5;
constexpr std::uint8_t kMethodNoAuth = 0x00;
constexpr std::uint8_t kMethodUserPass = 0x02;
constexpr std::uint8_t kMethodNoneAcceptable = 0xff;
constexpr std::uint8_t kAuthVersion = 1;  ///< of the username/password subnegotiation
constexpr std::uint8_t kAuthSuccess = 0;
constexpr std::uint8_t kCommandConnect = 1;
constexpr std::uint8_t kReplySucceeded = 0;
constexpr std::uint8_t kAddressIpv4 = 1;
constexpr std::uint8_t kAddressDomain = 3;
constexpr std::uint8_t kAddressIpv6 = 4;
constexpr std::size_t kIpv4Bytes = 4;
constexpr std::size_t kIpv6Bytes = 16;
constexpr std::size_t kPortBytes = 2;
/// Domain names, usernames and passwords go on the wire after a length byte.
constexpr std::size_t kMaxFieldBytes = 255;

std::uint8_t byte_at(const std::string& bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

void append_byte(std::string& out, std::uint8_t b) {
  out.push_back(static_cast<char>(b));
}

void append_port(std::string& out, std::uint16_t port) {
  append_byte(out, static_cast<std::uint8_t>(port >> 8U));
  append_byte(out, static_cast<std::uint8_t>(port & 0xffU));
}

/// RFC 1928 §6's text for a failure reply.
std::string_view reply_text(std::uint8_t code) {
  switch (code) {
    case 1: return "general SOCKS server failure";
    case 2: return "connection not allowed by ruleset";
    case 3: return "network unreachable";
    case 4: return "host unreachable";
    case 5: return "connection refused";
    case 6: return "TTL expired";
    case 7: return "command not supported";
    case 8: return "address type not supported";
    default: return "unassigned reply code";
  }
}

std::string method_name(std::uint8_t method) {
  switch (method) {
    case kMethodNoAuth: return "no authentication";
    case kMethodUserPass: return "username/password";
    default: {
      std::array<char, 8> hex{};
      std::snprintf(hex.data(), hex.size(), "0x%02x", static_cast<unsigned>(method));
      return "method " + std::string(hex.data());
    }
  }
}

/// The request's DST.ADDR: ATYP and the address bytes.
struct Destination {
  std::string bytes;  ///< ATYP, then 4 or 16 address bytes, or a length byte and the name
  std::string text;   ///< host:port for messages, IPv6 in brackets
};

/// One SOCKS5 conversation on a socket: exact reads and whole writes, each
/// bounded by the deadline, with errors that name the proxy and the step.
class Conversation {
 public:
  Conversation(int fd, std::string_view proxy_name, Clock::time_point deadline)
      : fd_(fd), prefix_("SOCKS5 proxy " + std::string(proxy_name) + ": "), deadline_(deadline) {}

  [[nodiscard]] Error fail(ErrorKind kind, std::string_view step, std::string_view detail,
                           int err = 0) const {
    return Error(kind, prefix_ + std::string(step) + ": " + std::string(detail), err);
  }

  /// Sends all of `bytes`, waiting for room in the socket's buffer until the deadline.
  [[nodiscard]] Result<void> write(std::string_view step, std::string_view bytes) const {
    Result<void> sent = send_all(fd_, bytes, deadline_);
    if (sent) return sent;
    if (sent.error().kind() == ErrorKind::timeout) return timed_out(step);
    return fail(ErrorKind::io, step, sent.error().message(), sent.error().sys_errno());
  }

  /// Reads exactly `n` bytes (never more: what follows belongs to the tunnel).
  [[nodiscard]] Result<std::string> read(std::string_view step, std::size_t n) const {
    std::string bytes(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      Result<Readiness> ready = wait_ready(fd_, /*want_write=*/false, deadline_);
      if (!ready) return fail(ErrorKind::io, step, ready.error().message(), ready.error().sys_errno());
      if (!ready->readable) return timed_out(step);
      Result<std::size_t> r = recv_some(fd_, std::span<char>(bytes).subspan(got));
      if (!r) return fail(ErrorKind::io, step, r.error().message(), r.error().sys_errno());
      if (*r == 0) {
        return fail(ErrorKind::io, step,
                    "connection closed by the proxy after " + std::to_string(got) + " of " +
                        std::to_string(n) + " reply bytes");
      }
      got += *r;
    }
    return bytes;
  }

 private:
  [[nodiscard]] Error timed_out(std::string_view step) const {
    return fail(ErrorKind::timeout, step, "no answer from the proxy before the deadline", ETIMEDOUT);
  }

  int fd_;
  std::string prefix_;
  Clock::time_point deadline_;
};

Result<Destination> destination(const std::string& host, std::uint16_t port, const Conversation& c) {
  Destination d;
  const std::string port_text = ":" + std::to_string(port);
  std::string literal = host;
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) literal = host.substr(1, host.size() - 2);

  std::array<char, kIpv6Bytes> address{};
  if (::inet_pton(AF_INET6, literal.c_str(), address.data()) == 1) {
    append_byte(d.bytes, kAddressIpv6);
    d.bytes.append(address.data(), kIpv6Bytes);
    d.text = "[" + literal + "]" + port_text;
  } else if (!bracketed && ::inet_pton(AF_INET, literal.c_str(), address.data()) == 1) {
    append_byte(d.bytes, kAddressIpv4);
    d.bytes.append(address.data(), kIpv4Bytes);
    d.text = literal + port_text;
  } else {
    // A name: resolved by the proxy (RFC 1928 §5, X'03').
    const std::string step = "connect to " + quoted(host) + port_text;
    if (bracketed) return c.fail(ErrorKind::invalid_request, step, "not an IPv6 address");
    if (host.empty() || host.size() > kMaxFieldBytes) {
      return c.fail(ErrorKind::invalid_request, step, "a host name must be 1 to 255 bytes");
    }
    append_byte(d.bytes, kAddressDomain);
    append_byte(d.bytes, static_cast<std::uint8_t>(host.size()));
    d.bytes += host;
    d.text = host + port_text;
  }
  append_port(d.bytes, port);
  return d;
}

/// A reply starts with the SOCKS version, 5.
Result<void> check_version(const Conversation& c, std::string_view step, const std::string& reply) {
  if (byte_at(reply, 0) == kVersion) return {};
  return c.fail(
      ErrorKind::proxy, step,
      "the proxy answered with version " + std::to_string(byte_at(reply, 0)) + ", not 5: " + quoted(reply));
}

/// Greeting (RFC 1928 §3): the method the proxy chose among those offered.
Result<std::uint8_t> greet(const Conversation& c, bool offer_auth) {
  constexpr std::string_view kStep = "greeting";
  std::string hello;
  append_byte(hello, kVersion);
  append_byte(hello, static_cast<std::uint8_t>(offer_auth ? 2 : 1));  // NMETHODS
  append_byte(hello, kMethodNoAuth);
  if (offer_auth) append_byte(hello, kMethodUserPass);
  if (Result<void> w = c.write(kStep, hello); !w) return std::move(w).error();

  Result<std::string> reply = c.read(kStep, 2);
  if (!reply) return std::move(reply).error();
  if (Result<void> v = check_version(c, kStep, *reply); !v) return std::move(v).error();
  const std::uint8_t method = byte_at(*reply, 1);
  if (method == kMethodNoneAcceptable) {
    return c.fail(ErrorKind::proxy, kStep,
                  offer_auth
                      ? "no acceptable authentication method (offered: no authentication, username/password)"
                      : "no acceptable authentication method (offered: no authentication; does the proxy "
                        "need a username and password?)");
  }
  if (method != kMethodNoAuth && !(offer_auth && method == kMethodUserPass)) {
    return c.fail(ErrorKind::proxy, kStep,
                  "the proxy chose " + method_name(method) + ", which was not offered");
  }
  return method;
}

/// Username/password subnegotiation (RFC 1929 §2).
Result<void> authenticate(const Conversation& c, const Socks5Auth& auth) {
  constexpr std::string_view kStep = "authentication";
  std::string request;
  append_byte(request, kAuthVersion);
  append_byte(request, static_cast<std::uint8_t>(auth.username.size()));
  request += auth.username;
  append_byte(request, static_cast<std::uint8_t>(auth.password.size()));
  request += auth.password;
  if (Result<void> w = c.write(kStep, request); !w) return w;

  Result<std::string> reply = c.read(kStep, 2);
  if (!reply) return std::move(reply).error();
  if (byte_at(*reply, 0) != kAuthVersion) {
    return c.fail(ErrorKind::proxy, kStep,
                  "the proxy answered with subnegotiation version " + std::to_string(byte_at(*reply, 0)) +
                      ", not 1: " + quoted(*reply));
  }
  if (byte_at(*reply, 1) != kAuthSuccess) {
    return c.fail(ErrorKind::proxy, kStep,
                  "the proxy rejected the username " + quoted(auth.username) + " or its password (status " +
                      std::to_string(byte_at(*reply, 1)) + ")");
  }
  return {};
}

/// CONNECT (RFC 1928 §4) and its reply (§6).
Result<void> request_connect(const Conversation& c, const Destination& to) {
  const std::string step = "connect to " + to.text;
  std::string request;
  append_byte(request, kVersion);
  append_byte(request, kCommandConnect);
  append_byte(request, 0);  // RSV
  request += to.bytes;
  if (Result<void> w = c.write(step, request); !w) return w;

  // VER REP RSV ATYP; RSV is not checked (Go and curl do not either).
  Result<std::string> head = c.read(step, 4);
  if (!head) return std::move(head).error();
  if (Result<void> v = check_version(c, step, *head); !v) return v;
  if (const std::uint8_t code = byte_at(*head, 1); code != kReplySucceeded) {
    return c.fail(ErrorKind::proxy, step,
                  std::string(reply_text(code)) + " (reply " + std::to_string(code) + ")");
  }
  // BND.ADDR and BND.PORT: read so that the tunnel starts clean, then dropped.
  std::size_t address_bytes = 0;
  switch (byte_at(*head, 3)) {
    case kAddressIpv4: address_bytes = kIpv4Bytes; break;
    case kAddressIpv6: address_bytes = kIpv6Bytes; break;
    case kAddressDomain: {
      Result<std::string> length = c.read(step, 1);
      if (!length) return std::move(length).error();
      address_bytes = byte_at(*length, 0);
      break;
    }
    default:
      return c.fail(ErrorKind::proxy, step,
                    "the reply has an unknown address type " + std::to_string(byte_at(*head, 3)));
  }
  Result<std::string> bound = c.read(step, address_bytes + kPortBytes);
  if (!bound) return std::move(bound).error();
  return {};
}

}  // namespace

Result<void> socks5_connect(int fd, std::string_view proxy_name, const std::string& host, std::uint16_t port,
                            const std::optional<Socks5Auth>& auth, Clock::time_point deadline) {
  const Conversation c(fd, proxy_name, deadline);
  if (auth && (auth->username.empty() || auth->username.size() > kMaxFieldBytes ||
               auth->password.size() > kMaxFieldBytes)) {
    return c.fail(ErrorKind::invalid_request, "authentication",
                  "the username must be 1 to 255 bytes and the password at most 255");
  }
  Result<Destination> to = destination(host, port, c);
  if (!to) return std::move(to).error();

  Result<std::uint8_t> method = greet(c, auth.has_value());
  if (!method) return std::move(method).error();
  if (*method == kMethodUserPass) {
    if (Result<void> a = authenticate(c, *auth); !a) return a;
  }
  return request_connect(c, *to);
}

}  // namespace nethttp::net
