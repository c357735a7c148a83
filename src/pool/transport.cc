#include "nethttp/transport.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pool/conn_pool.h"
#include "pool/exchange.h"
#include "pool/retry.h"

namespace nethttp {
namespace {

/// What a round trip prepares before it has a connection. Kept per thread:
/// its strings keep their capacity, so a steady stream of requests
/// allocates nothing for them.
struct Preparation {
  pool::Origin origin;
  std::string head;
};

/// A Preparation from this thread's spares, given back when done. More than
/// one is out at a time when a hook called from inside a round trip starts
/// another, or when fibers share the thread.
class PreparationLease {
 public:
  PreparationLease() {
    if (spares().empty()) {
      prepared_ = std::make_unique<Preparation>();
    } else {
      prepared_ = std::move(spares().back());
      spares().pop_back();
    }
  }
  ~PreparationLease() {
    try {
      spares().push_back(std::move(prepared_));
    } catch (...) {  // no room to keep it: it goes
    }
  }
  PreparationLease(const PreparationLease&) = delete;
  PreparationLease& operator=(const PreparationLease&) = delete;

  Preparation* operator->() const noexcept { return prepared_.get(); }

 private:
  static std::vector<std::unique_ptr<Preparation>>& spares() {
    thread_local std::vector<std::unique_ptr<Preparation>> spares;
    return spares;
  }

  std::unique_ptr<Preparation> prepared_;
};

/// Fills `origin` in place for `url` reached through `proxy` (none: direct).
void describe_origin(const Url& url, std::optional<Url> proxy, pool::Origin& origin) {
  origin.peer.clear();
  url.append_host_port(origin.peer);
  origin.key.assign(url.scheme()).append("://").append(origin.peer);
  origin.host.assign(url.hostname());
  origin.port = url.port();
  origin.tls = url.is_https();
  origin.proxy = std::move(proxy);
  // The password stays out of the key: keys appear in traces and messages.
  if (origin.proxy) origin.key.append(" via ").append(origin.proxy->redacted());
}

}  // namespace

struct Transport::State {
  std::shared_ptr<pool::ConnPool> pool;
};

Transport::Transport(TransportOptions options) : state_(std::make_shared<State>()) {
  state_->pool = std::make_shared<pool::ConnPool>(std::move(options));
}

Transport::~Transport() {
  // Connections still held by bodies close when those bodies end.
  state_->pool->close_idle(/*forever=*/true);
}

Result<Response> Transport::round_trip(const std::shared_ptr<const Request>& request) {
  const Request& req = *request;
  if (req.cancel.stop_requested())
    return Error(ErrorKind::canceled, "request to " + req.url.redacted() + " canceled");
  if (req.deadline && *req.deadline <= std::chrono::steady_clock::now()) {
    return Error(ErrorKind::timeout, "request to " + req.url.redacted() + ": deadline already passed");
  }
  std::optional<Url> proxy;
  if (const ProxyFunc& choose = state_->pool->options().proxy) {
    Result<std::optional<Url>> chosen = choose(req);
    if (!chosen) return std::move(chosen).error();
    proxy = *std::move(chosen);
  }
  PreparationLease prepared;
  pool::Origin& origin = prepared->origin;
  describe_origin(req.url, std::move(proxy), origin);
  // The head is written first: a request that cannot be sent takes no
  // connection.
  std::string& head = prepared->head;
  head.clear();
  if (Result<void> ok = pool::write_head(req, state_->pool->options(), origin.proxy, head); !ok)
    return std::move(ok).error();
  state_->pool->count_request(/*retry=*/false);
  pool::AttemptFacts attempt;
  for (;;) {
    Result<pool::ConnLease> lease = state_->pool->get(origin, req, /*fresh=*/attempt.already_retried);
    if (!lease) return std::move(lease).error();
    // An idle connection counts as reused even if it never carried a request
    // (a parked dial): it may have gone stale while idle (as Go's markReused).
    attempt.conn_was_reused = lease->info().reused || lease->info().was_idle;
    attempt.got_response_bytes = false;
    Result<Response> response = pool::exchange(std::move(*lease), request, head, attempt);
    if (response || !pool::should_retry(req, attempt, response.error())) return response;
    attempt.already_retried = true;
    state_->pool->count_request(/*retry=*/true);
  }
}

void Transport::close_idle_connections() {
  state_->pool->close_idle(/*forever=*/false);
}

TransportStats Transport::stats() const {
  return state_->pool->stats();
}

const TransportOptions& Transport::options() const noexcept {
  return state_->pool->options();
}

}  // namespace nethttp
