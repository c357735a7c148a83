// One request and its response head on one connection.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nethttp/request.h"
#include "nethttp/response.h"
#include "pool/conn_pool.h"
#include "pool/retry.h"

namespace nethttp::pool {

/// Appends the head of `request` as it will be sent (with the fields the
/// transport adds) to `out`. Errors: invalid_request (a control byte such
/// as CR, LF or NUL in a field, a bad method...) — found before any
/// connection is taken.
[[nodiscard]] Result<void> write_head(const Request& request, const TransportOptions& options,
                                      const std::optional<Url>& proxy, std::string& out);

/// Writes `request` (its `head` from write_head()) on the leased connection while watching for an early
/// response, handles Expect: 100-continue, skips interim responses and
/// returns the response once its head arrived; its Body owns the lease.
/// On failure the connection is closed (or returned untouched if nothing was
/// sent) and `attempt` tells what retry needs to know. Errors name the step
/// and the peer ("reading response headers from 127.0.0.1:8080: ...").
[[nodiscard]] Result<Response> exchange(ConnLease lease, const std::shared_ptr<const Request>& request,
                                        std::string_view head, AttemptFacts& attempt);

}  // namespace nethttp::pool
