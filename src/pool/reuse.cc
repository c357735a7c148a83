#include "pool/reuse.h"

namespace nethttp::pool {

std::optional<CloseReason> why_not_reusable(const ExchangeFacts& f) noexcept {
  // A deadline or cancellation shut the socket down.
  if (f.interrupted) return CloseReason::error;
  // The server may still be reading the rest of a request we stopped sending.
  if (!f.request_written) return CloseReason::not_reusable;
  // The rest of the body is still on the wire, ahead of the next response.
  if (!f.body_complete) return CloseReason::body_not_drained;
  // Either side asked to close after this exchange (RFC 9112 §9.6).
  if (!f.response_persistent || f.client_asked_close) return CloseReason::not_reusable;
  // Until-close framing ends with the connection; ambiguous framing (TE with
  // CL, TE on HTTP/1.0) may hide a smuggled response (RFC 9112 §6.1, §6.3).
  if (!f.framing_clean) return CloseReason::not_reusable;
  // The connection now speaks another protocol (RFC 9110 §15.2.2, §9.3.6).
  if (f.switched_protocols) return CloseReason::not_reusable;
  // Pipelining is never used: extra bytes are a second response to one
  // request or garbage; either way the stream can no longer be trusted.
  if (f.bytes_after_response) return CloseReason::unsolicited_bytes;
  return std::nullopt;
}

}  // namespace nethttp::pool
