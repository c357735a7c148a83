#include "pool/retry.h"

namespace nethttp::pool {

bool is_idempotent(const Request& request) noexcept {
  const std::string& m = request.method;
  if (m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE") return true;
  return request.header.has("Idempotency-Key") || request.header.has("X-Idempotency-Key");
}

bool should_retry(const Request& request, const AttemptFacts& attempt, const Error& error) noexcept {
  if (attempt.already_retried) return false;
  // A fresh connection failing says something about the server, not about
  // a stale idle connection.
  if (!attempt.conn_was_reused) return false;
  // Once a response started, the server processed the request.
  if (attempt.got_response_bytes) return false;
  // Only a broken connection: not the caller's deadline or cancellation,
  // not a request that cannot be sent.
  if (error.kind() != ErrorKind::io) return false;
  if (!is_idempotent(request)) return false;
  if (!request.body.is_replayable()) return false;
  return true;  // the request is safe to send again
}

}  // namespace nethttp::pool
