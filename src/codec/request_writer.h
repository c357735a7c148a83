// Serialises a request head (and chunked body framing) to bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nethttp/error.h"
#include "nethttp/header.h"
#include "nethttp/url.h"

namespace nethttp::codec {

/// The request-target forms of RFC 9112 §3.2.
enum class TargetForm : std::uint8_t {
  origin,     ///< "/path?query": to an origin server
  absolute,   ///< "http://host:port/path?query": to a forward proxy, for http URLs
  authority,  ///< "host:port": CONNECT to a proxy
};

enum class RequestBodyFraming : std::uint8_t {
  none,            ///< no body and no framing header (GET, HEAD, ...)
  content_length,  ///< "Content-Length: n" (n may be 0)
  chunked,         ///< "Transfer-Encoding: chunked": length unknown in advance
};

/// What write_request_head() needs; it borrows everything.
struct RequestHead {
  std::string_view method = "GET";
  const Url* url = nullptr;  ///< required
  TargetForm form = TargetForm::origin;
  const Header* header = nullptr;  ///< caller's fields; may be null
  /// Host header value instead of the URL's authority (Go's Request.Host); empty: from the URL.
  std::string_view host;
  RequestBodyFraming body = RequestBodyFraming::none;
  std::uint64_t content_length = 0;  ///< when body is content_length
  /// Ask the server to close the connection after the response ("Connection: close").
  bool close = false;
  /// A User-Agent field written after the caller's fields; empty: none.
  std::string_view user_agent;
  /// A Proxy-Authorization field for the proxy the request goes to (forward
  /// or CONNECT); empty: none. A caller's Proxy-Authorization field is never
  /// written: it would travel on to the origin.
  std::string_view proxy_authorization;
};

/// Appends the request line and header fields, ending with the empty line, to
/// `out`. Host comes first; the writer derives Host, Content-Length and
/// Transfer-Encoding itself and skips fields of those names in `header` (as
/// Go does), so a caller's field can never contradict the framing.
/// Errors (ErrorKind::invalid_request, nothing appended): a method that is
/// not a token, a field name that is not a token, a value (or Host,
/// User-Agent) with a control byte other than HTAB (CR, LF, NUL...).
[[nodiscard]] Result<void> write_request_head(const RequestHead& head, std::string& out);

/// Appends the chunk header for `size` bytes of data ("1a2b\r\n"); the data
/// and then kChunkEnd follow it. `size` must not be 0: that is the last chunk.
void write_chunk_header(std::uint64_t size, std::string& out);
inline constexpr std::string_view kChunkEnd = "\r\n";

/// Appends the last chunk, the trailer fields (may be null) and the final
/// empty line. Errors as for write_request_head() (nothing appended).
[[nodiscard]] Result<void> write_last_chunk(const Header* trailers, std::string& out);

}  // namespace nethttp::codec
