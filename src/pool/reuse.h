// Whether a connection may carry another request: one decision, one place.
#pragma once

#include <optional>

#include "nethttp/trace.h"

namespace nethttp::pool {

/// What is known about a connection when its exchange ends.
struct ExchangeFacts {
  bool request_written = false;       ///< the whole request (head and body) was sent
  bool body_complete = false;         ///< the response body was read to its end
  bool response_persistent = false;   ///< HTTP/1.1, or HTTP/1.0 with keep-alive; no "close" (RFC 9112 §9.3)
  bool client_asked_close = false;    ///< the request said "Connection: close" (or keep-alives are off)
  bool framing_clean = false;         ///< length-delimited or chunked, and not ambiguous (RFC 9112 §6.3)
  bool switched_protocols = false;    ///< a 101 response or a CONNECT tunnel: no longer HTTP
  bool bytes_after_response = false;  ///< bytes arrived after the response ended
  bool interrupted = false;           ///< a deadline or cancellation interrupted the socket
};

/// nullopt when the connection may go back to the pool, else why not. On
/// any doubt it says no: a connection in an unknown state is never reused.
[[nodiscard]] std::optional<CloseReason> why_not_reusable(const ExchangeFacts& f) noexcept;

}  // namespace nethttp::pool
