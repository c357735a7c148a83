#include "pool/conn_pool.h"

#include <algorithm>
#include <atomic>
#include <stop_token>
#include <system_error>
#include <thread>
#include <utility>

#include "net/dial.h"
#include "net/socket_io.h"
#include "pool/proxy_hop.h"

namespace nethttp::pool {
namespace {

/// How late the upkeep may close an expired idle connection; batching
/// expiries this much keeps the timer from firing once per connection.
constexpr auto kUpkeepSlack = std::chrono::milliseconds(100);
/// Exchange buffers kept for reuse, so a steady load allocates none.
constexpr std::size_t kMaxSpareBuffers = 64;

/// Connection ids are unique in the process (cli.md's conn.id).
std::atomic<std::uint64_t> next_conn_id{1};

/// The TLS state responses on `conn` report; null for plain http.
std::shared_ptr<const TlsState> tls_state(const PersistConn& conn) {
  return conn.stream.tls() != nullptr ? conn.stream.tls()->state() : nullptr;
}

}  // namespace

ConnLease::ConnLease(std::shared_ptr<ConnPool> pool, std::unique_ptr<PersistConn> conn,
                     ConnInfo info) noexcept
    : pool_(std::move(pool)), conn_(std::move(conn)), info_(std::move(info)) {}

ConnLease& ConnLease::operator=(ConnLease&& other) noexcept {
  if (this != &other) {
    release(CloseReason::error);
    pool_ = std::move(other.pool_);
    conn_ = std::move(other.conn_);
    info_ = other.info_;
  }
  return *this;
}

ConnLease::~ConnLease() {
  release(CloseReason::error);
}

void ConnLease::release(std::optional<CloseReason> why_not) noexcept {
  if (conn_) pool_->put(std::move(conn_), why_not);
}

ConnPool::ConnPool(TransportOptions options) : options_(std::move(options)) {}

ConnPool::~ConnPool() {
  close_idle(/*forever=*/true);
}

Clock::time_point ConnPool::now() const {
  return options_.clock ? options_.clock() : Clock::now();
}

HostEntry& ConnPool::host_locked(const Origin& origin) {
  std::unique_ptr<HostEntry>& entry = hosts_[origin.key];
  if (!entry) {
    entry = std::make_unique<HostEntry>();
    entry->origin = origin;
  }
  return *entry;
}

void ConnPool::erase_host_if_unused_locked(HostEntry& host) {
  if (host.conns == 0 && host.waiters.empty()) hosts_.erase(host.origin.key);
}

ExchangeBuffers* ConnPool::take_buffers_locked() {
  if (spare_buffers_.empty()) {
    const codec::ParserLimits limits{.max_header_bytes = options_.max_response_header_bytes};
    return new ExchangeBuffers(options_.read_buffer_size, options_.write_buffer_size, limits);
  }
  ExchangeBuffers* buffers = spare_buffers_.back().release();
  spare_buffers_.pop_back();
  return buffers;
}

std::unique_ptr<PersistConn> ConnPool::take_idle_locked(PersistConn* conn) {
  conn->host->idle.remove(conn);
  lru_.remove(conn);
  return std::unique_ptr<PersistConn>(conn);
}

std::optional<CloseReason> ConnPool::expired_locked(const PersistConn& conn, Clock::time_point now) const {
  using std::chrono::milliseconds;
  if (options_.idle_conn_timeout > milliseconds::zero() &&
      now - conn.idle_since >= options_.idle_conn_timeout)
    return CloseReason::idle_timeout;
  if (conn.server_idle_timeout && now - conn.idle_since >= *conn.server_idle_timeout)
    return CloseReason::server_idle_timeout;
  if (options_.max_conn_lifetime > milliseconds::zero() && now - conn.created >= options_.max_conn_lifetime)
    return CloseReason::max_lifetime;
  return std::nullopt;
}

std::optional<Clock::time_point> ConnPool::expiry_locked(const PersistConn& conn) const {
  std::optional<Clock::time_point> expiry;
  auto earliest = [&](Clock::time_point t) { expiry = expiry ? std::min(*expiry, t) : t; };
  if (options_.idle_conn_timeout > std::chrono::milliseconds::zero())
    earliest(conn.idle_since + options_.idle_conn_timeout);
  if (conn.server_idle_timeout) earliest(conn.idle_since + *conn.server_idle_timeout);
  if (options_.max_conn_lifetime > std::chrono::milliseconds::zero())
    earliest(conn.created + options_.max_conn_lifetime);
  return expiry;
}

Result<ConnLease> ConnPool::get(const Origin& origin, const Request& request, bool fresh) {
  if (options_.trace.get_conn) options_.trace.get_conn(origin.key);
  std::vector<Closing> closing;
  UniqueLock lock(mu_);
  HostEntry* host = &host_locked(origin);
  for (PersistConn* idle = fresh ? nullptr : host->idle.back(); idle != nullptr; idle = host->idle.back()) {
    // Most recently used first (Go's order): the likeliest to be still open.
    std::unique_ptr<PersistConn> conn = take_idle_locked(idle);
    const Clock::time_point now = this->now();
    if (const std::optional<CloseReason> why = expired_locked(*conn, now)) {
      forget_locked(*host);
      stats_.closed[static_cast<std::size_t>(*why)]++;
      closing.push_back({std::move(conn), *why});
      continue;
    }
    conn->buffers.reset(take_buffers_locked());
    ++stats_.in_use;
    // Counted now, while the lock is held anyway (undone below if the probe
    // fails): a reuse takes the lock once.
    const bool reused = conn->requests > 0;
    if (reused) ++stats_.reuses;
    lock.unlock();
    // The server may have closed it, or sent bytes nobody asked for (a 408
    // before closing): never hand such a connection to a request.
    const net::IdleProbe probe = conn->stream.probe_idle();
    if (probe == net::IdleProbe::quiet) {
      close_all(closing);
      // A connection parked by a dial nobody waited for has carried nothing yet.
      const ConnInfo info{conn->id, reused, true, now - conn->idle_since, tls_state(*conn)};
      if (options_.trace.got_conn)
        options_.trace.got_conn(info.id, info.reused, info.was_idle, info.idle_time);
      return ConnLease(shared_from_this(), std::move(conn), info);
    }
    const CloseReason why =
        probe == net::IdleProbe::closed ? CloseReason::peer_closed : CloseReason::unsolicited_bytes;
    lock.lock();
    --stats_.in_use;
    if (reused) --stats_.reuses;
    forget_locked(*host);
    stats_.closed[static_cast<std::size_t>(why)]++;
    closing.push_back({std::move(conn), why});
  }

  auto want = std::make_shared<WantConn>();
  want->fresh = fresh;
  host->waiters.push_back(want);
  if (fresh && options_.max_conns_per_host > 0 && host->conns >= options_.max_conns_per_host &&
      !host->idle.empty()) {
    // A retry at the host's limit: the oldest idle connection makes room.
    std::unique_ptr<PersistConn> oldest = take_idle_locked(host->idle.front());
    --host->conns;
    stats_.closed[static_cast<std::size_t>(CloseReason::evicted)]++;
    closing.push_back({std::move(oldest), CloseReason::evicted});
  }
  if (needs_dial_locked(*host)) {
    (void)start_dial_locked(*host, want);  // on failure `want` is done with its error
  }
  lock.unlock();
  close_all(closing);

  // The stop callback takes the lock, so it is registered (and may run at
  // once) without holding it, and unregistered after letting go of it.
  bool canceled = false;
  const std::stop_callback on_cancel(request.cancel, [&] {
    const LockGuard guard(mu_);
    canceled = true;
    want->ready.notify();
  });
  lock.lock();
  while (!want->done && !canceled) {
    if (!want->ready.wait_until(lock, request.deadline)) break;
  }
  if (!want->done) {
    // Giving up leaves the queue; a dial started for this request goes on
    // and its connection goes to the next waiter or the idle pool.
    std::erase(host->waiters, want);
    erase_host_if_unused_locked(*host);
    lock.unlock();
    if (canceled)
      return Error(ErrorKind::canceled, "waiting for a connection to " + origin.key + ": request canceled");
    return Error(ErrorKind::timeout,
                 "waiting for a connection to " + origin.key + ": request deadline exceeded");
  }
  if (want->error) {
    // The failed dial already released the host entry if it is unused:
    // `host` may be gone.
    lock.unlock();
    return std::move(*want->error);
  }
  std::unique_ptr<PersistConn> conn = std::move(want->conn);
  const ConnInfo info{conn->id, conn->requests > 0, false, std::chrono::nanoseconds::zero(),
                      tls_state(*conn)};
  if (info.reused) ++stats_.reuses;
  lock.unlock();
  if (options_.trace.got_conn) options_.trace.got_conn(info.id, info.reused, info.was_idle, info.idle_time);
  return ConnLease(shared_from_this(), std::move(conn), info);
}

void ConnPool::put(std::unique_ptr<PersistConn> conn, std::optional<CloseReason> why_not) noexcept {
  std::vector<Closing> closing;
  const std::uint64_t id = conn->id;
  bool parked = false;
  // Before the lock: once parked, another thread may take it at once.
  if (!why_not) conn->stream.release_buffers();
  {
    const LockGuard lock(mu_);
    --stats_.in_use;
    HostEntry& host = *conn->host;
    if (why_not) {
      forget_locked(host);
      stats_.closed[static_cast<std::size_t>(*why_not)]++;
      closing.push_back({std::move(conn), *why_not});
    } else {
      parked = deliver_or_park_locked(std::move(conn), closing) == Placed::parked;
    }
    erase_host_if_unused_locked(host);
  }
  close_all(closing);
  if (parked && options_.trace.put_idle) options_.trace.put_idle(id);
}

ConnPool::Placed ConnPool::deliver_or_park_locked(std::unique_ptr<PersistConn> conn,
                                                  std::vector<Closing>& closing) {
  HostEntry& host = *conn->host;
  // Late binding: the first request still waiting takes it, whether or not
  // it started a dial of its own — unless it is a retry, which wants a
  // connection that carried nothing yet.
  const auto taker = std::find_if(host.waiters.begin(), host.waiters.end(),
                                  [&](const auto& w) { return !w->fresh || conn->requests == 0; });
  if (taker != host.waiters.end()) {
    std::shared_ptr<WantConn> want = std::move(*taker);
    host.waiters.erase(taker);
    want->conn = std::move(conn);
    want->done = true;
    ++stats_.in_use;
    want->ready.notify();
    return Placed::delivered;
  }
  std::optional<CloseReason> why;
  if (closed_) {
    why = CloseReason::closed_by_user;
  } else if (std::any_of(host.waiters.begin(), host.waiters.end(),
                         [](const auto& w) { return w->fresh && !w->has_dial; })) {
    // A retry waits for a new connection and the host is at its limit:
    // closing this one frees the slot its dial needs.
    why = CloseReason::evicted;
  } else if (options_.max_idle_conns_per_host <= 0 ||
             host.idle.size() >= static_cast<std::size_t>(options_.max_idle_conns_per_host)) {
    why = CloseReason::idle_pool_full;
  }
  if (why) {
    forget_locked(host);
    stats_.closed[static_cast<std::size_t>(*why)]++;
    closing.push_back({std::move(conn), *why});
    return Placed::closed;
  }
  const Clock::time_point now = this->now();
  conn->idle_since = now;
  if (conn->buffers) {
    // An idle connection holds no buffers: they serve the next request of any host.
    if (spare_buffers_.size() < kMaxSpareBuffers) {
      conn->buffers->read.reset();
      conn->buffers->write.clear();
      spare_buffers_.push_back(std::move(conn->buffers));
    } else {
      conn->buffers.reset();
    }
  }
  PersistConn* idle = conn.release();
  host.idle.push_back(idle);
  lru_.push_back(idle);
  if (options_.max_idle_conns > 0 && lru_.size() > static_cast<std::size_t>(options_.max_idle_conns)) {
    std::unique_ptr<PersistConn> oldest = take_idle_locked(lru_.front());
    HostEntry& oldest_host = *oldest->host;
    forget_locked(oldest_host);
    stats_.closed[static_cast<std::size_t>(CloseReason::evicted)]++;
    closing.push_back({std::move(oldest), CloseReason::evicted});
    if (&oldest_host != &host) erase_host_if_unused_locked(oldest_host);
  }
  // When this connection expires, the upkeep closes it.
  if (const std::optional<Clock::time_point> expiry = expiry_locked(*idle)) schedule_upkeep_locked(*expiry);
  return Placed::parked;
}

void ConnPool::forget_locked(HostEntry& host) {
  --host.conns;
  dial_for_waiters_locked(host);
}

bool ConnPool::needs_dial_locked(const HostEntry& host) const {
  // A dial in flight serves whoever is first in line when it completes, not
  // only the request that started it: with as many dials as waiters, another
  // would only add a connection (bursts would open more than they use).
  if (static_cast<std::size_t>(host.dialing) >= host.waiters.size()) return false;
  return options_.max_conns_per_host <= 0 || host.conns < options_.max_conns_per_host;
}

void ConnPool::dial_for_waiters_locked(HostEntry& host) {
  for (std::size_t i = 0; i < host.waiters.size();) {
    if (!needs_dial_locked(host)) return;
    const std::shared_ptr<WantConn> want = host.waiters[i];
    // A dial that cannot start fails its waiter and takes it out of the queue.
    if (!want->has_dial && !start_dial_locked(host, want)) continue;
    ++i;
  }
}

bool ConnPool::start_dial_locked(HostEntry& host, const std::shared_ptr<WantConn>& want) {
  ++host.conns;
  ++host.dialing;
  want->has_dial = true;
  try {
    std::thread([self = shared_from_this(), origin = host.origin, want] {
      self->dial(origin, want);
    }).detach();
  } catch (const std::system_error& e) {
    // No thread for the dial: this waiter fails now, the slot is free again.
    --host.conns;
    --host.dialing;
    std::erase(host.waiters, want);
    want->error =
        Error(ErrorKind::connect, "dial " + host.origin.key + ": cannot start a dial thread: " + e.what());
    want->done = true;
    want->ready.notify();
    return false;
  }
  return true;
}

Result<std::shared_ptr<net::TlsContext>> ConnPool::tls_context() {
  const LockGuard lock(tls_mu_);
  if (!tls_context_) {
    Result<std::shared_ptr<net::TlsContext>> made = net::TlsContext::make(options_.tls);
    if (!made) return std::move(made).error();
    tls_context_ = *std::move(made);
  }
  return tls_context_;
}

Result<net::Stream> ConnPool::connect(const Origin& origin) {
  const Trace& trace = options_.trace;
  const Clock::time_point deadline = options_.connect_timeout > std::chrono::milliseconds::zero()
                                         ? Clock::now() + options_.connect_timeout
                                         : Clock::time_point::max();
  const auto limit_text = [](std::string_view name, std::chrono::milliseconds limit) {
    return std::string(name) + " (" + std::to_string(limit.count()) + " ms)";
  };
  // Through a proxy, the socket goes to the proxy.
  const std::string dial_host = origin.proxy ? std::string(origin.proxy->hostname()) : origin.host;
  const std::uint16_t dial_port = origin.proxy ? origin.proxy->port() : origin.port;
  Result<int> fd = Error(ErrorKind::connect, "");
  if (options_.dial) {
    fd = options_.dial(DialRequest{dial_host, dial_port, deadline});
  } else if (!options_.unix_socket.empty()) {
    const net::DialEvents events{nullptr, nullptr, trace.connect_start, trace.connect_done};
    Result<net::Fd> dialed = net::dial_unix(options_.unix_socket, deadline, events);
    fd = dialed ? Result<int>(dialed->release()) : Result<int>(std::move(dialed).error());
  } else {
    const net::DialEvents events{trace.dns_start, trace.dns_done, trace.connect_start, trace.connect_done};
    Result<net::Fd> dialed = net::dial_tcp(dial_host, dial_port, deadline, events);
    fd = dialed ? Result<int>(dialed->release()) : Result<int>(std::move(dialed).error());
  }
  if (!fd) {
    Error error = std::move(fd).error();
    std::string step = "dial " + origin.key;
    if (error.kind() == ErrorKind::timeout && options_.connect_timeout > std::chrono::milliseconds::zero()) {
      step += ", " + limit_text("connect timeout", options_.connect_timeout);
    }
    return std::move(error).with_context(step);
  }
  net::Fd socket(*fd);
  if (origin.proxy && !forwards(*origin.proxy, origin.tls ? "https" : "http")) {
    Result<void> tunnel =
        open_tunnel(socket.get(), *origin.proxy, origin.host, origin.port, origin.peer, deadline);
    if (!tunnel) return std::move(tunnel).error().with_context("dial " + origin.key);
  }
  if (!origin.tls) return net::Stream(std::move(socket));

  Result<std::shared_ptr<net::TlsContext>> context = tls_context();
  if (!context) return std::move(context).error().with_context("dial " + origin.key);
  // The handshake ends at the earlier of the connect deadline and its own.
  Clock::time_point handshake_deadline = deadline;
  std::string limit = limit_text("connect timeout", options_.connect_timeout);
  if (const Clock::time_point own = Clock::now() + options_.tls_handshake_timeout;
      options_.tls_handshake_timeout > std::chrono::milliseconds::zero() && own < handshake_deadline) {
    handshake_deadline = own;
    limit = limit_text("TLS handshake timeout", options_.tls_handshake_timeout);
  }
  if (trace.tls_handshake_start) trace.tls_handshake_start(origin.host);
  Result<std::unique_ptr<net::TlsSession>> session =
      (*context)->handshake(socket.get(), origin.host, origin.peer, handshake_deadline, limit);
  if (trace.tls_handshake_done) {
    trace.tls_handshake_done(session ? (*session)->state().get() : nullptr,
                             session ? nullptr : &session.error());
  }
  if (!session) return std::move(session).error().with_context("dial " + origin.key);
  return net::Stream(std::move(socket), *std::move(session));
}

void ConnPool::dial(const Origin& origin, const std::shared_ptr<WantConn>& want) {
  Result<net::Stream> stream = connect(origin);

  std::vector<Closing> closing;
  {
    const LockGuard lock(mu_);
    HostEntry& host = host_locked(origin);
    --host.dialing;
    if (!stream) {
      ++stats_.dial_errors;
      // The error belongs to the request the dial was made for, if it still
      // waits; the others keep waiting and may dial in the freed slot.
      if (!want->done && std::erase(host.waiters, want) > 0) {
        want->error = std::move(stream).error();
        want->done = true;
        want->ready.notify();
      }
      forget_locked(host);
      erase_host_if_unused_locked(host);
    } else {
      ++stats_.dials;
      auto conn = std::make_unique<PersistConn>();
      conn->id = next_conn_id.fetch_add(1, std::memory_order_relaxed);
      conn->stream = *std::move(stream);
      conn->host = &host;
      conn->created = now();
      conn->buffers.reset(take_buffers_locked());
      deliver_or_park_locked(std::move(conn), closing);
      erase_host_if_unused_locked(host);
    }
  }
  close_all(closing);
}

void ConnPool::schedule_upkeep_locked(Clock::time_point when) {
  when += kUpkeepSlack;
  if (upkeep_at_ && *upkeep_at_ <= when) return;
  // An earlier timer is added rather than the later one cancelled: cancel()
  // could wait for a running upkeep that waits for this lock. A superseded
  // timer just runs a harmless upkeep.
  upkeep_at_ = when;
  const Clock::time_point real = Clock::now() + (when - now());
  net::Timers::shared().schedule(real, [weak = weak_from_this()] {
    if (const std::shared_ptr<ConnPool> self = weak.lock()) self->upkeep();
  });
}

std::optional<Clock::time_point> ConnPool::upkeep() {
  std::vector<Closing> closing;
  std::optional<Clock::time_point> next;
  {
    const LockGuard lock(mu_);
    const Clock::time_point now = this->now();
    upkeep_at_.reset();
    for (PersistConn* conn = lru_.front(); conn != nullptr;) {
      PersistConn* const following = lru_.next(conn);
      if (const std::optional<CloseReason> why = expired_locked(*conn, now)) {
        HostEntry& host = *conn->host;
        std::unique_ptr<PersistConn> owned = take_idle_locked(conn);
        forget_locked(host);
        stats_.closed[static_cast<std::size_t>(*why)]++;
        closing.push_back({std::move(owned), *why});
        erase_host_if_unused_locked(host);
      } else if (const std::optional<Clock::time_point> expiry = expiry_locked(*conn)) {
        next = next ? std::min(*next, *expiry) : *expiry;
      }
      conn = following;
    }
    if (next) schedule_upkeep_locked(*next);
  }
  close_all(closing);
  return next;
}

void ConnPool::close_idle(bool forever) {
  std::vector<Closing> closing;
  {
    const LockGuard lock(mu_);
    if (forever) closed_ = true;
    while (PersistConn* conn = lru_.front()) {
      HostEntry& host = *conn->host;
      std::unique_ptr<PersistConn> owned = take_idle_locked(conn);
      forget_locked(host);
      stats_.closed[static_cast<std::size_t>(CloseReason::closed_by_user)]++;
      closing.push_back({std::move(owned), CloseReason::closed_by_user});
      erase_host_if_unused_locked(host);
    }
  }
  close_all(closing);
}

void ConnPool::close_all(std::vector<Closing>& closing) noexcept {
  for (Closing& c : closing) close_one(std::move(c.conn), c.reason);
  closing.clear();
}

void ConnPool::close_one(std::unique_ptr<PersistConn> conn, CloseReason reason) noexcept {
  const std::uint64_t id = conn->id;
  conn.reset();
  if (options_.trace.conn_closed) options_.trace.conn_closed(id, reason);
}

void ConnPool::count_request(bool retry) {
  const LockGuard lock(mu_);
  ++(retry ? stats_.retries : stats_.requests);
}

TransportStats ConnPool::stats() const {
  const LockGuard lock(mu_);
  TransportStats s = stats_;
  s.idle = lru_.size();
  for (const auto& [key, host] : hosts_) {
    s.dialing += static_cast<std::size_t>(host->dialing);
    s.waiting += host->waiters.size();
  }
  return s;
}

}  // namespace nethttp::pool
