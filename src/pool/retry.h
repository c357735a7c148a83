// Whether a failed request may be sent again on a new connection.
#pragma once

#include "nethttp/error.h"
#include "nethttp/request.h"

namespace nethttp::pool {

/// What is known about a failed attempt.
struct AttemptFacts {
  bool conn_was_reused = false;     ///< the connection had carried an earlier request
  bool got_response_bytes = false;  ///< any byte of a response arrived
  bool already_retried = false;
};

/// Go's rule: a request that failed on a reused connection before any
/// response byte arrived (the server likely closed the idle connection as
/// we wrote) is retried once on a new connection if sending it twice is
/// safe: an idempotent method or an Idempotency-Key, and a body that is
/// absent or replayable.
[[nodiscard]] bool should_retry(const Request& request, const AttemptFacts& attempt,
                                const Error& error) noexcept;

/// GET, HEAD, OPTIONS, TRACE (RFC 9110 §9.2.2, as Go), or a request carrying
/// an Idempotency-Key (or X-Idempotency-Key) field.
[[nodiscard]] bool is_idempotent(const Request& request) noexcept;

}  // namespace nethttp::pool
