// The connection pool: idle lists, per-host limits, waiters, dials, upkeep.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/thread_annotations.h"
#include "net/fiber_scheduler.h"
#include "net/timers.h"
#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"
#include "pool/intrusive_list.h"
#include "pool/persist_conn.h"

namespace nethttp::pool {

/// Where a request's connection goes: the pool key and what to dial.
struct Origin {
  std::string key;   ///< "https://host:port": connections are shared per key
  std::string host;  ///< name or address to dial, without IPv6 brackets
  std::uint16_t port = 0;
  std::string peer;  ///< "host:port" (IPv6 in brackets), for messages
  bool tls = false;  ///< https: TLS over the socket, verified for `host`
  /// The proxy the connection goes through (part of the key); none: direct.
  std::optional<Url> proxy;
};

/// A request waiting for a connection; gets exactly one outcome. Shared
/// between the waiting thread and whoever delivers (a dial or a returned
/// connection), so a waiter that gave up is never written through a
/// dangling pointer.
struct WantConn {
  net::Signal ready;  ///< this waiter's own wake-up (a thread or a fiber)
  // Guarded by the pool's lock:
  std::unique_ptr<PersistConn> conn;  ///< the outcome: a connection...
  std::optional<Error> error;         ///< ...or the error of the dial made for it
  bool done = false;                  ///< an outcome was delivered
  bool has_dial = false;              ///< a dial was started on its behalf
  bool fresh = false;                 ///< only a connection that carried nothing will do (a retry)
};

/// The pool's bookkeeping for one key.
struct HostEntry {
  Origin origin;
  /// Idle connections, oldest first: checkout takes the back (most recently
  /// used, Go's order), eviction the front.
  IntrusiveList<PersistConn, &PersistConn::host_link> idle;
  std::deque<std::shared_ptr<WantConn>> waiters;  ///< FIFO; only those still waiting
  int conns = 0;                                  ///< dialing + in use + idle
  int dialing = 0;
};

class ConnPool;

/// A connection checked out of the pool for one request. Whoever holds it
/// owns the connection; give it back with release(). Dropping a lease
/// closes the connection (reason `error`): nothing can leak.
class ConnLease {
 public:
  ConnLease() = default;
  ConnLease(std::shared_ptr<ConnPool> pool, std::unique_ptr<PersistConn> conn, ConnInfo info) noexcept;
  ConnLease(ConnLease&&) noexcept = default;
  ConnLease& operator=(ConnLease&& other) noexcept;
  ~ConnLease();

  [[nodiscard]] explicit operator bool() const noexcept { return conn_ != nullptr; }
  [[nodiscard]] PersistConn& conn() const noexcept { return *conn_; }
  [[nodiscard]] const ConnInfo& info() const noexcept { return info_; }
  [[nodiscard]] ConnPool& pool() const noexcept { return *pool_; }
  /// Returns the connection: to the pool when `why_not` is empty, else it is
  /// closed for that reason.
  void release(std::optional<CloseReason> why_not) noexcept;

 private:
  std::shared_ptr<ConnPool> pool_;
  std::unique_ptr<PersistConn> conn_;
  ConnInfo info_;
};

/// The pool's state and rules (shared/design/DESIGN.md, "Connection pool").
/// One mutex guards everything; it is never held across I/O, socket close
/// or user callbacks: what to close is collected under it and closed after.
class ConnPool : public std::enable_shared_from_this<ConnPool> {
 public:
  explicit ConnPool(TransportOptions options);
  ~ConnPool();
  ConnPool(const ConnPool&) = delete;
  ConnPool& operator=(const ConnPool&) = delete;

  /// A connection for `origin`: the most recently used idle one that is
  /// still sound, else a new one (dialed on a dial thread), waiting in FIFO
  /// order while the host is at max_conns_per_host. `fresh` skips idle ones.
  /// Errors: those of the dial; timeout or canceled from the request.
  [[nodiscard]] Result<ConnLease> get(const Origin& origin, const Request& request, bool fresh);

  /// A connection comes back from a request; see ConnLease::release().
  void put(std::unique_ptr<PersistConn> conn, std::optional<CloseReason> why_not) noexcept;

  /// Closes every idle connection; later returns close too if `forever`.
  void close_idle(bool forever);

  [[nodiscard]] TransportStats stats() const;
  [[nodiscard]] const TransportOptions& options() const noexcept { return options_; }
  [[nodiscard]] Clock::time_point now() const;
  /// Counts a round trip started (or, with `retry`, sent again).
  void count_request(bool retry);

  /// Closes idle connections whose time is up; returns when to run next
  /// (nullopt: no idle connection). Runs from the upkeep timer; tests call it
  /// with a fake clock.
  std::optional<Clock::time_point> upkeep();

 private:
  struct Closing {
    std::unique_ptr<PersistConn> conn;
    CloseReason reason;
  };

  HostEntry& host_locked(const Origin& origin) REQUIRES(mu_);
  /// Takes an idle connection out of the pool's lists.
  std::unique_ptr<PersistConn> take_idle_locked(PersistConn* conn) REQUIRES(mu_);
  /// When an idle connection stops being usable, if ever.
  std::optional<Clock::time_point> expiry_locked(const PersistConn& conn) const REQUIRES(mu_);
  /// Why an idle connection may no longer be used at `now`, if so.
  std::optional<CloseReason> expired_locked(const PersistConn& conn, Clock::time_point now) const
      REQUIRES(mu_);
  enum class Placed : std::uint8_t { delivered, parked, closed };
  /// Gives `conn` to the first waiter of its host, or parks it idle (or
  /// queues it in `closing` when it may not be kept).
  Placed deliver_or_park_locked(std::unique_ptr<PersistConn> conn, std::vector<Closing>& closing)
      REQUIRES(mu_);
  /// Forgets a connection that is being closed and lets a waiter dial.
  void forget_locked(HostEntry& host) REQUIRES(mu_);
  /// Whether the host's waiters outnumber its dials in flight and it has room for one more.
  bool needs_dial_locked(const HostEntry& host) const REQUIRES(mu_);
  /// Starts dials while needs_dial_locked().
  void dial_for_waiters_locked(HostEntry& host) REQUIRES(mu_);
  /// False when no dial thread could be started: `want` then failed and left the queue.
  bool start_dial_locked(HostEntry& host, const std::shared_ptr<WantConn>& want) REQUIRES(mu_);
  void dial(const Origin& origin, const std::shared_ptr<WantConn>& want);
  /// A connected stream to `origin` (TCP or the dial hook, then TLS for
  /// https), within connect_timeout. Errors: dns, connect, tls, timeout, io.
  Result<net::Stream> connect(const Origin& origin);
  /// The Transport's TLS context, made at the first https dial.
  Result<std::shared_ptr<net::TlsContext>> tls_context() EXCLUDES(tls_mu_);
  void schedule_upkeep_locked(Clock::time_point when) REQUIRES(mu_);
  void erase_host_if_unused_locked(HostEntry& host) REQUIRES(mu_);
  void close_all(std::vector<Closing>& closing) noexcept;
  void close_one(std::unique_ptr<PersistConn> conn, CloseReason reason) noexcept;
  ExchangeBuffers* take_buffers_locked() REQUIRES(mu_);

  const TransportOptions options_;
  mutable Mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<HostEntry>> hosts_ GUARDED_BY(mu_);
  /// Every idle connection, oldest first: max_idle_conns evicts the front.
  IntrusiveList<PersistConn, &PersistConn::lru_link> lru_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<ExchangeBuffers>> spare_buffers_ GUARDED_BY(mu_);
  TransportStats stats_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
  std::optional<Clock::time_point> upkeep_at_ GUARDED_BY(mu_);
  /// Taken by dial threads only, never with mu_: loading certificates reads files.
  Mutex tls_mu_;
  std::shared_ptr<net::TlsContext> tls_context_ GUARDED_BY(tls_mu_);
};

}  // namespace nethttp::pool
