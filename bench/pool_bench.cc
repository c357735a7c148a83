// Micro-benchmarks of the connection pool: what every request on a kept-alive
// connection pays to check an idle connection out (ConnPool::get) and give
// it back (ConnLease::release), with 1 to 1,000 origins holding idle
// connections. The checkout probes the connection with one non-blocking
// recv(); BM_IdleProbe measures that syscall alone, so the pool's own
// bookkeeping is the difference of the two.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "net/fd.h"
#include "net/stream.h"
#include "pool/conn_pool.h"
#include "process_usage.h"

namespace nethttp::pool {
namespace {

/// The far ends of socketpairs handed out as connections. They never write
/// or close, so every idle probe finds its connection quiet, as a live
/// keep-alive server would leave it, without a network stack in between.
class QuietPeers {
 public:
  QuietPeers() = default;
  QuietPeers(const QuietPeers&) = delete;
  QuietPeers& operator=(const QuietPeers&) = delete;
  ~QuietPeers() {
    for (const int fd : fds_) ::close(fd);
  }

  /// The near end of a new socketpair.
  Result<int> connect() {
    int fds[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return Error(ErrorKind::connect, "socketpair", errno);
    }
    const std::lock_guard lock(mu_);
    fds_.push_back(fds[1]);
    return fds[0];
  }

 private:
  std::mutex mu_;  // guards fds_: the pool dials on its own threads
  std::vector<int> fds_;
};

/// A pool holding `per_origin` idle connections to each of `origins`
/// origins, whose keys differ by port, each connection already used once so
/// that a checkout counts as a reuse, as in steady traffic.
class IdlePool {
 public:
  IdlePool(std::size_t origins, std::size_t per_origin) : per_origin_(per_origin) {
    TransportOptions options;
    options.max_idle_conns = 0;  // no limit: nothing may be evicted while measuring
    // Nothing expires while measuring, yet returning a connection still
    // computes its expiry and checks the upkeep timer, as with the default.
    options.idle_conn_timeout = std::chrono::hours(24);
    options.max_idle_conns_per_host = static_cast<int>(per_origin);
    options.dial = [peers = peers_](const DialRequest&) { return peers->connect(); };
    pool_ = std::make_shared<ConnPool>(std::move(options));
    // Two descriptors per connection: 1,000 origins pass a soft limit of 1,024.
    cli::raise_open_file_limit();
    origins_.reserve(origins);
    for (std::size_t i = 0; i < origins; ++i) {
      const auto port = static_cast<std::uint16_t>(10000 + i);
      const std::string peer = "127.0.0.1:" + std::to_string(port);
      origins_.push_back(Origin{"http://" + peer, "127.0.0.1", port, peer, false, std::nullopt});
    }
    // Held together, so each origin gets `per_origin` distinct connections.
    std::vector<ConnLease> leases;
    for (const Origin& origin : origins_) {
      for (std::size_t c = 0; c < per_origin; ++c) {
        Result<ConnLease> lease = pool_->get(origin, request_, /*fresh=*/false);
        if (!lease) {
          error_ = lease.error().message();
          return;
        }
        ++lease->conn().requests;
        leases.push_back(std::move(*lease));
      }
      for (ConnLease& lease : leases) lease.release(std::nullopt);
      leases.clear();
    }
  }
  IdlePool(const IdlePool&) = delete;
  IdlePool& operator=(const IdlePool&) = delete;
  ~IdlePool() = default;

  [[nodiscard]] bool fits(std::size_t origins, std::size_t per_origin) const {
    return origins_.size() == origins && per_origin_ == per_origin;
  }
  /// Why the pool could not be filled, if it could not.
  [[nodiscard]] const std::optional<std::string>& error() const { return error_; }
  [[nodiscard]] ConnPool& pool() const { return *pool_; }
  [[nodiscard]] const std::vector<Origin>& origins() const { return origins_; }
  /// What get() needs of a request: no deadline, no cancellation.
  [[nodiscard]] const Request& request() const { return request_; }

 private:
  std::shared_ptr<QuietPeers> peers_ = std::make_shared<QuietPeers>();
  std::shared_ptr<ConnPool> pool_;
  std::vector<Origin> origins_;
  std::size_t per_origin_;
  Request request_;
  std::optional<std::string> error_;
};

/// The pool of the benchmark running now. Filling one takes a dial thread
/// per connection, so it is kept across the runs Google Benchmark makes of
/// one benchmark and replaced only when the next one wants another shape
/// (at most 2,000 pairs of descriptors open at once).
std::unique_ptr<IdlePool>& current_pool() {
  static std::unique_ptr<IdlePool> pool;
  return pool;
}

/// Runs before the benchmark's threads start (Setup), so they only read it.
void fill_pool(const benchmark::State& state) {
  const auto origins = static_cast<std::size_t>(state.range(0));
  // One connection per thread and origin: threads that meet at one origin
  // both find an idle connection, and nothing is dialed while measuring.
  const auto per_origin = static_cast<std::size_t>(state.threads());
  std::unique_ptr<IdlePool>& pool = current_pool();
  if (pool && pool->fits(origins, per_origin)) return;
  pool.reset();  // its descriptors go before the next pool's arrive
  pool = std::make_unique<IdlePool>(origins, per_origin);
}

// Google Benchmark's conventions: BM_ names, and a loop variable that is
// never read.
// NOLINTBEGIN(readability-identifier-naming, clang-analyzer-deadcode.DeadStores)

/// Checks out an idle connection and returns it, once per iteration: the
/// pool's whole cost per request on a kept-alive connection, the idle
/// probe's recv() included. `round_robin` visits every origin in turn (each
/// checkout touches memory the previous ones did not); otherwise every
/// checkout goes to one origin while the others' connections sit idle.
void checkout_and_return(benchmark::State& state, bool round_robin) {
  const IdlePool& idle = *current_pool();
  if (idle.error()) {
    state.SkipWithError(idle.error()->c_str());
    return;
  }
  const std::vector<Origin>& origins = idle.origins();
  // Threads start spread over the origins, as independent requests would be.
  std::size_t next = origins.size() * static_cast<std::size_t>(state.thread_index()) /
                     static_cast<std::size_t>(state.threads());
  const std::size_t step = round_robin ? 1 : 0;
  const std::uint64_t dials_before = idle.pool().stats().dials;
  for (auto _ : state) {
    Result<ConnLease> lease = idle.pool().get(origins[next], idle.request(), /*fresh=*/false);
    if (!lease) {
      state.SkipWithError(lease.error().message().c_str());
      break;
    }
    lease->release(std::nullopt);
    next += step;
    if (next == origins.size()) next = 0;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Anything but 0 means a checkout found no idle connection and the
    // figure includes dials: the benchmark would be wrong, not the pool slow.
    state.counters["dials"] = static_cast<double>(idle.pool().stats().dials - dials_before);
  }
}

/// The figure: flat in the number of origins when the pool is O(1).
void BM_CheckoutAndReturn(benchmark::State& state) {
  checkout_and_return(state, /*round_robin=*/true);
}
BENCHMARK(BM_CheckoutAndReturn)->Setup(fill_pool)->RangeMultiplier(10)->Range(1, 1000);
BENCHMARK(BM_CheckoutAndReturn)->Setup(fill_pool)->RangeMultiplier(10)->Range(1, 1000)->Threads(2);

/// The same pools, one origin asked for: what the pool's size alone costs,
/// without the cache misses of touching a different origin every time.
void BM_CheckoutAndReturnSameOrigin(benchmark::State& state) {
  checkout_and_return(state, /*round_robin=*/false);
}
BENCHMARK(BM_CheckoutAndReturnSameOrigin)->Setup(fill_pool)->RangeMultiplier(10)->Range(1, 1000);

/// The idle probe alone (one recv(MSG_PEEK | MSG_DONTWAIT) that finds
/// nothing), round-robin over as many quiet connections as the checkout
/// benchmark has: the syscall's share of BM_CheckoutAndReturn.
void BM_IdleProbe(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  QuietPeers peers;
  std::vector<net::Stream> streams;
  streams.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Result<int> fd = peers.connect();
    if (!fd) {
      state.SkipWithError(fd.error().message().c_str());
      return;
    }
    streams.emplace_back(net::Fd(*fd));
  }
  std::size_t next = 0;
  for (auto _ : state) {
    const net::IdleProbe probe = streams[next].probe_idle();
    if (probe != net::IdleProbe::quiet) {
      state.SkipWithError("an idle connection was not quiet");
      break;
    }
    if (++next == streams.size()) next = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IdleProbe)->RangeMultiplier(10)->Range(1, 1000);

// NOLINTEND(readability-identifier-naming, clang-analyzer-deadcode.DeadStores)

}  // namespace
}  // namespace nethttp::pool
