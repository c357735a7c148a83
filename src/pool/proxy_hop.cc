#include "pool/proxy_hop.h"

#include <openssl/evp.h>

#include <array>
#include <optional>
#include <vector>

#include "codec/request_writer.h"
#include "codec/response_parser.h"
#include "net/socket_io.h"
#include "net/socks5.h"

namespace nethttp::pool {
namespace {

/// The answer to CONNECT: a head, and not one byte more (the tunnel's bytes
/// belong to the TLS handshake that follows).
constexpr std::size_t kMaxConnectAnswer = 16 << 10;

Result<void> http_connect(int fd, const Url& proxy, const std::string& peer, Clock::time_point deadline) {
  const std::string where = "proxy " + proxy.host_port() + ": CONNECT " + peer;
  Result<Url> target = Url::parse("http://" + peer);
  if (!target) return std::move(target).error().with_context(where);
  const std::string authorization = proxy_authorization(proxy);
  codec::RequestHead connect;
  connect.method = "CONNECT";
  connect.url = &*target;
  connect.form = codec::TargetForm::authority;
  connect.proxy_authorization = authorization;
  std::string head;
  Result<void> written = codec::write_request_head(connect, head);
  if (!written) return std::move(written).error().with_context(where);
  if (Result<void> sent = net::send_all(fd, head, deadline); !sent)
    return std::move(sent).error().with_context(where);

  codec::ResponseParser parser;
  parser.begin("CONNECT");
  std::vector<char> buf(kMaxConnectAnswer);
  std::size_t have = 0;
  for (;;) {
    // One byte at a time past what a head needs would be wasteful; the
    // proxy sends nothing after its answer until the client speaks, so
    // whatever arrives now is the head.
    Result<net::Readiness> ready = net::wait_ready(fd, /*want_write=*/false, deadline);
    if (!ready) return std::move(ready).error().with_context(where);
    if (!ready->readable) {
      return Error(ErrorKind::timeout, where + ": no answer before the connect deadline", ETIMEDOUT);
    }
    if (have == buf.size()) return Error(ErrorKind::proxy, where + ": answer head too large");
    Result<std::size_t> n = net::recv_some(fd, std::span<char>(buf.data() + have, buf.size() - have));
    if (!n) return std::move(n).error().with_context(where);
    if (*n == 0)
      return Error(ErrorKind::proxy, where + ": the proxy closed the connection without an answer");
    have += *n;
    Result<codec::ParseStep> step = parser.parse(std::span<char>(buf.data(), have));
    // A malformed answer is the proxy's failure, whatever the parser calls it.
    if (!step) return Error(ErrorKind::proxy, where + ": " + step.error().message());
    if (step->event == codec::ParseEvent::need_more) continue;
    if (step->event == codec::ParseEvent::interim) {
      // 1xx before the answer: drop it and go on.
      std::copy(buf.begin() + static_cast<std::ptrdiff_t>(step->consumed),
                buf.begin() + static_cast<std::ptrdiff_t>(have), buf.begin());
      have -= step->consumed;
      continue;
    }
    const codec::ResponseHead& answer = parser.head();
    if (answer.status < 200 || answer.status > 299) {
      return Error(ErrorKind::proxy, where + ": refused with " + std::to_string(answer.status) + " " +
                                         std::string(answer.reason))
          .with_response_status(answer.status);
    }
    if (step->consumed != have) return Error(ErrorKind::proxy, where + ": bytes after the proxy's answer");
    return {};
  }
}

}  // namespace

bool forwards(const Url& proxy, std::string_view target_scheme) {
  return proxy.scheme() == "http" && target_scheme == "http";
}

std::string proxy_authorization(const Url& proxy) {
  if (proxy.username().empty()) return {};
  const std::string plain = proxy.username() + ":" + proxy.password();
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

Result<void> open_tunnel(int fd, const Url& proxy, const std::string& host, std::uint16_t port,
                         const std::string& peer, Clock::time_point deadline) {
  if (proxy.scheme() == "http") return http_connect(fd, proxy, peer, deadline);
  if (proxy.scheme() == "socks5" || proxy.scheme() == "socks5h") {
    std::optional<net::Socks5Auth> auth;
    if (!proxy.username().empty()) auth = net::Socks5Auth{proxy.username(), proxy.password()};
    return net::socks5_connect(fd, proxy.host_port(), host, port, auth, deadline);
  }
  return Error(ErrorKind::proxy, "proxy " + proxy.redacted() + ": the " + proxy.scheme() +
                                     " scheme is not supported (http, socks5 and socks5h are)");
}

}  // namespace nethttp::pool
