// An HTTP response.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "nethttp/body.h"
#include "nethttp/header.h"
#include "nethttp/request.h"
#include "nethttp/tls.h"

namespace nethttp {

/// The connection a response arrived on.
struct ConnInfo {
  /// Unique in the process: the n-th connection any transport opened (from 1).
  std::uint64_t id = 0;
  /// It carried an earlier request.
  bool reused = false;
  /// It was taken from the idle pool, after being idle for idle_time.
  bool was_idle = false;
  std::chrono::nanoseconds idle_time{0};  ///< how long it was idle; 0 unless was_idle
  /// What its TLS handshake negotiated; null for plain http.
  std::shared_ptr<const TlsState> tls;
};

/// A response: status line, header fields and a Body that owns the
/// connection until it is read to its end or closed. Move-only (its body).
struct Response {
  int status = 0;                  ///< the status code, e.g. 200
  std::string reason;              ///< the reason phrase as sent, e.g. "OK"; may be empty
  std::string proto = "HTTP/1.1";  ///< "HTTP/1.0" or "HTTP/1.1"
  Header header;                   ///< the header fields (see uncompressed)
  /// The body's length from Content-Length, or -1 when unknown (chunked,
  /// until close); 0 for responses without a body.
  std::int64_t content_length = -1;
  /// The request this response answers (after redirects: the last one).
  std::shared_ptr<const Request> request;
  /// Redirects the Client followed to get here.
  int redirects = 0;
  /// The body was compressed on the wire and is decoded as it is read (Go's
  /// Uncompressed); Content-Encoding and Content-Length were removed.
  bool uncompressed = false;
  ConnInfo conn;  ///< the connection it arrived on
  Body body;      ///< the body: owns the connection until read to its end or closed

  /// Trailer fields, once the body was read to its end.
  [[nodiscard]] const Header& trailers() const noexcept { return body.trailers(); }
};

}  // namespace nethttp
