// Hooks that report what a transport does with connections (Go's httptrace).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "nethttp/error.h"
#include "nethttp/tls.h"

namespace nethttp {

/// Why a connection was closed, or not put back into the idle pool.
enum class CloseReason : std::uint8_t {
  peer_closed,          ///< the server closed it while idle (seen at checkout or upkeep)
  unsolicited_bytes,    ///< bytes arrived while idle (e.g. a 408): the server is closing it
  idle_timeout,         ///< idle longer than idle_conn_timeout
  server_idle_timeout,  ///< idle past the server's Keep-Alive timeout hint (minus a margin)
  max_lifetime,         ///< older than max_conn_lifetime
  idle_pool_full,       ///< the host already has max_idle_conns_per_host idle connections
  evicted,              ///< the oldest idle connection, evicted to keep max_idle_conns
  not_reusable,         ///< the exchange left it unusable (Connection: close, HTTP/1.0, framing...)
  body_not_drained,     ///< the body was closed early and its rest was too large or slow to drain
  error,                ///< an I/O error, timeout or cancellation during an exchange
  closed_by_user,       ///< close_idle_connections() or the transport's destruction
};
/// How many CloseReason values there are (the size of TransportStats::closed).
inline constexpr int kCloseReasonCount = 11;
static_assert(static_cast<int>(CloseReason::closed_by_user) + 1 == kCloseReasonCount,
              "kCloseReasonCount must follow the last CloseReason");

/// The stable name of a reason, e.g. "idle_timeout".
[[nodiscard]] std::string_view to_string(CloseReason reason) noexcept;

/// Callbacks for connection events. Each may be empty. They run on the
/// thread doing the work (the requester, a dial thread, or the upkeep timer),
/// never under the transport's lock; they must not block for long.
struct Trace {
  /// A request looks for a connection to `key` ("http://host:port").
  std::function<void(std::string_view key)> get_conn;
  /// It got one.
  std::function<void(std::uint64_t conn_id, bool reused, bool was_idle, std::chrono::nanoseconds idle_time)>
      got_conn;
  /// A connection went back to the idle pool.
  std::function<void(std::uint64_t conn_id)> put_idle;
  /// Resolving `host` starts (not with a dial hook or a Unix socket).
  std::function<void(std::string_view host)> dns_start;
  /// Resolving `host` ended; `error` is null on success.
  std::function<void(std::string_view host, const Error* error)> dns_done;
  /// A connect to `address` ("ip:port", or "unix:path") starts; dialing
  /// several addresses (Happy Eyeballs) starts several. Not with a dial hook.
  std::function<void(std::string_view address)> connect_start;
  /// That connect ended; `error` is null for the one that connected.
  std::function<void(std::string_view address, const Error* error)> connect_done;
  /// A TLS handshake with `server_name` starts.
  std::function<void(std::string_view server_name)> tls_handshake_start;
  /// The TLS handshake ended: `state` on success, else `error` (the other is null).
  std::function<void(const TlsState* state, const Error* error)> tls_handshake_done;
  /// The request head was written (with the body, when that is small and in memory).
  std::function<void(std::uint64_t conn_id)> wrote_headers;
  /// The whole request was written (`error` null), or writing it failed.
  std::function<void(std::uint64_t conn_id, const Error* error)> wrote_request;
  /// The first byte of the response arrived.
  std::function<void(std::uint64_t conn_id)> got_first_response_byte;
  /// A 1xx interim response (e.g. 100 Continue) arrived before the final one.
  std::function<void(std::uint64_t conn_id, int status)> got_interim_response;
  /// A connection was closed (or not pooled and then closed), and why.
  std::function<void(std::uint64_t conn_id, CloseReason reason)> conn_closed;
};

}  // namespace nethttp
