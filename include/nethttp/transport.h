// The Transport: a pool of persistent HTTP/1.1 connections (Go's http.Transport).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>

#include "nethttp/error.h"
#include "nethttp/proxy.h"
#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/tls.h"
#include "nethttp/trace.h"

namespace nethttp {

/// What a dial hook is asked for.
struct DialRequest {
  std::string host;        ///< name or address, without IPv6 brackets
  std::uint16_t port = 0;  ///< the port to connect to
  /// The connect deadline (now + connect_timeout when the dial started).
  std::chrono::steady_clock::time_point deadline;
};

/// Makes a connected stream socket and returns its file descriptor; the
/// transport owns it from then on (and runs TLS over it for https).
/// Errors should be dns or connect.
using DialFunc = std::function<Result<int>(const DialRequest&)>;

/// A clock the pool reads for idle and lifetime bookkeeping; tests inject a
/// fake one. I/O deadlines always use std::chrono::steady_clock.
using ClockFunc = std::function<std::chrono::steady_clock::time_point()>;

/// The knobs of a Transport, with Go's DefaultTransport values except where
/// noted (see docs/COMING_FROM_GO.md).
struct TransportOptions {
  /// Idle connections kept in total; the oldest is closed beyond it. 0: no limit.
  int max_idle_conns = 100;
  /// Idle connections kept per host. Go's default is 2; nethttp keeps 100 so
  /// bursts to one host do not open and close connections. 0 or negative:
  /// keep none (Go: 0 means its default, negative keeps none).
  int max_idle_conns_per_host = 100;
  /// Connections per host counting dialing, in use and idle; requests
  /// beyond it wait in FIFO order for one to be returned or closed, as long
  /// as it takes: while bodies are held unread they wait, and with a
  /// Request::deadline they fail with ErrorKind::timeout. 0: no limit.
  int max_conns_per_host = 0;
  /// Idle connections are closed after this long. 0: never.
  std::chrono::milliseconds idle_conn_timeout{90'000};
  /// Connections older than this are not reused (beyond Go). 0: no limit.
  std::chrono::milliseconds max_conn_lifetime{0};
  /// One request per connection, with "Connection: close".
  bool disable_keep_alives = false;
  /// Time from the request written to the response head. 0: no limit.
  std::chrono::milliseconds response_header_timeout{0};
  /// How long a request with "Expect: 100-continue" waits for the 100
  /// before sending its body anyway.
  std::chrono::milliseconds expect_continue_timeout{1'000};
  /// Limit on dialing one connection (Go's net.Dialer.Timeout), the TLS
  /// handshake included. 0: no limit.
  std::chrono::milliseconds connect_timeout{30'000};
  /// Limit on the TLS handshake of an https connection. 0: no limit.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  /// Verification, trust, client certificate and resumption for https.
  TlsOptions tls;
  /// Response heads larger than this fail with header_too_large (Go: 10 MiB).
  std::size_t max_response_header_bytes = std::size_t{1} << 20;
  /// Per-connection buffer sizes, held only while a request uses it.
  std::size_t read_buffer_size = 4096;
  std::size_t write_buffer_size = 4096;  ///< see read_buffer_size
  /// Closing a body early drains at most this many bytes within this time
  /// to keep the connection (Go closes it). 0 bytes: never drain.
  std::size_t drain_max_bytes = std::size_t{64} << 10;
  std::chrono::milliseconds drain_timeout{50};  ///< see drain_max_bytes
  /// User-Agent added to requests without one; empty: none added.
  std::string user_agent = "nethttp/0.1";
  /// Chooses the proxy of each request (Go's Transport.Proxy): none by
  /// default; proxy_from_environment() gives Go's DefaultTransport
  /// behaviour. http URLs go to an HTTP proxy in absolute-form, https URLs
  /// through a CONNECT tunnel; socks5/socks5h proxies tunnel both. The
  /// proxy URL's userinfo is sent as Basic Proxy-Authorization (or SOCKS5
  /// username/password). Connections are kept per origin and proxy.
  ProxyFunc proxy;
  /// Connect every request to this Unix domain socket instead of TCP (the
  /// URL still gives Host and the TLS name). Empty: TCP.
  std::string unix_socket;
  /// Replaces the TCP dialer (e.g. to connect elsewhere or count dials); to
  /// a proxy, when there is one. TLS and proxy tunnels run over what it returns.
  DialFunc dial;
  /// Replaces the clock of the pool's bookkeeping (tests).
  ClockFunc clock;
  /// Connection event callbacks.
  Trace trace;
  /// Called when a body is destroyed or closed before its end without
  /// having been read at all (OkHttp's leak warning), with the request URL.
  std::function<void(const std::string& url)> on_unread_body;
};

/// Counters of a Transport (like undici's PoolStats).
struct TransportStats {
  std::uint64_t dials = 0;        ///< connections dialed successfully
  std::uint64_t dial_errors = 0;  ///< dials that failed
  std::uint64_t reuses = 0;       ///< requests that got an already-used connection
  std::uint64_t requests = 0;     ///< round trips started
  std::uint64_t retries = 0;      ///< requests retried on a new connection
  std::size_t idle = 0;           ///< connections idle in the pool now
  std::size_t in_use = 0;         ///< connections carrying a request or an unread body now
  std::size_t dialing = 0;        ///< dials in progress now
  std::size_t waiting = 0;        ///< requests waiting for a connection now
  std::array<std::uint64_t, kCloseReasonCount> closed{};  ///< closes, by CloseReason

  /// How many connections were closed for `r`.
  [[nodiscard]] std::uint64_t closed_for(CloseReason r) const { return closed[static_cast<std::size_t>(r)]; }
};

/// A pool of persistent connections that carries requests, one at a time
/// per connection, on the calling thread (no thread per connection).
///
/// Thread-safe: share one Transport between threads. Responses and their
/// bodies belong to one thread at a time. A body may outlive the Transport;
/// its connection is then closed instead of pooled.
class Transport {
 public:
  /// A transport with these options, which do not change afterwards.
  /// Connects nothing until a request needs it.
  explicit Transport(TransportOptions options = {});
  /// Closes the idle connections; one held by a body closes when that body ends.
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// Sends one request and returns the response once its head has arrived;
  /// the body is read through the response. Does not follow redirects.
  /// Blocks. Errors: any ErrorKind but bad_url and too_many_redirects; a
  /// non-2xx status is not an error. A request that fails on a reused
  /// connection before any response byte is retried once on a new one when
  /// it is safe (idempotent method or Idempotency-Key, replayable body).
  [[nodiscard]] Result<Response> round_trip(const std::shared_ptr<const Request>& request);

  /// Closes the connections idle now; those in use are unaffected.
  void close_idle_connections();

  /// A snapshot of the counters, taken at one instant (under the pool's lock).
  [[nodiscard]] TransportStats stats() const;
  /// The options given at construction.
  [[nodiscard]] const TransportOptions& options() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace nethttp
