// How a response body is delimited: the single decision of RFC 9112 §6.3.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "nethttp/error.h"

namespace nethttp::codec {

enum class BodyFraming : std::uint8_t {
  none,            ///< no body at all: HEAD, 1xx, 204, 304
  tunnel,          ///< 2xx to CONNECT: the bytes after the head belong to the tunnel
  chunked,         ///< chunked transfer coding, ends with the last chunk
  content_length,  ///< exactly `Framing::content_length` bytes
  until_close,     ///< everything until the server closes the connection
};

struct Framing {
  BodyFraming kind = BodyFraming::none;
  /// The body length when kind is content_length.
  std::uint64_t content_length = 0;
  /// The framing headers disagreed in a way RFC 9112 tolerates for one message
  /// but that may hide request smuggling: Transfer-Encoding together with
  /// Content-Length, or Transfer-Encoding in an HTTP/1.0 response. The
  /// connection must be closed after this response.
  bool ambiguous = false;

  friend bool operator==(const Framing&, const Framing&) = default;
};

/// The facts of one response that decide its framing.
struct FramingInput {
  std::string_view request_method;  ///< of the request this response answers
  int status = 0;
  int version_minor = 1;  ///< HTTP/1.<minor>
  /// Every Transfer-Encoding and Content-Length field value, in order.
  std::vector<std::string_view> transfer_encoding;
  std::vector<std::string_view> content_length;
};

/// The one length of every Content-Length value given (fields, and list
/// members within them), which must all be the same decimal number (RFC 9110
/// §8.6). Errors (ErrorKind::protocol): an invalid or a conflicting value; no
/// value at all is an error too.
[[nodiscard]] Result<std::uint64_t> parse_content_length(const std::vector<std::string_view>& values);

/// Decides the framing of a response body, in the order of RFC 9112 §6.3.
/// Errors (ErrorKind::protocol): a Content-Length that is not a decimal
/// number, or several that differ.
[[nodiscard]] Result<Framing> decide_framing(const FramingInput& in);

}  // namespace nethttp::codec
