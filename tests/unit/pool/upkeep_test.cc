// ConnPool::upkeep() driven directly with a fake clock: which idle
// connections it closes, and when it asks to run next (habit 7: time is
// injected; the pool's timer only calls upkeep()).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "pool/conn_pool.h"
#include "support/dialers.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class ConnPoolUpkeep : public LeakCheckedTest {
 protected:
  void TearDown() override {
    dialer_.reset();  // the server ends of the socketpairs
    LeakCheckedTest::TearDown();
  }

  /// A pool over socketpairs, on the fake clock.
  std::shared_ptr<pool::ConnPool> make_pool(TransportOptions o) {
    o.clock = FakeClock::func(clock_);
    o.dial = SocketPairDialer::func(dialer_);
    o.trace = TraceLog::hooks(log_);
    return std::make_shared<pool::ConnPool>(std::move(o));
  }

  /// A connection checked out of `p` (dialed: none is idle when asked).
  pool::ConnLease checkout(pool::ConnPool& p) {
    Result<pool::ConnLease> lease = p.get(origin_, request_, /*fresh=*/true);
    if (!lease) {
      ADD_FAILURE() << lease.error().message();
      return {};
    }
    return std::move(*lease);
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<SocketPairDialer> dialer_ = std::make_shared<SocketPairDialer>();
  std::shared_ptr<TraceLog> log_ = std::make_shared<TraceLog>();
  const pool::Origin origin_{"http://a.test:80", "a.test", 80, "a.test:80", false, std::nullopt};
  const Request request_{};
};

using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;

TEST_F(ConnPoolUpkeep, ClosesOnlyExpiredIdleConnectionsAndSaysWhenToRunNext) {
  auto p = make_pool(options([](TransportOptions& o) { o.idle_conn_timeout = 10s; }));
  const auto t0 = clock_->now();
  EXPECT_EQ(p->upkeep(), std::nullopt) << "nothing idle: nothing to do";

  pool::ConnLease a = checkout(*p);
  pool::ConnLease b = checkout(*p);
  ASSERT_TRUE(a && b);
  const std::uint64_t id_a = a.conn().id;
  a.release(std::nullopt);  // idle from t0
  clock_->advance(4s);
  b.release(std::nullopt);  // idle from t0 + 4 s
  EXPECT_EQ(p->stats().idle, 2u);

  EXPECT_EQ(p->upkeep(), t0 + 10s);
  EXPECT_EQ(p->stats().idle, 2u);
  EXPECT_TRUE(log_->closed().empty());

  clock_->advance(7s);  // t0 + 11 s: A is due, B not yet
  EXPECT_EQ(p->upkeep(), t0 + 14s);
  EXPECT_EQ(p->stats().idle, 1u);
  EXPECT_EQ(log_->closed(), (Closed{{id_a, CloseReason::idle_timeout}}));

  clock_->advance(3s);  // t0 + 14 s
  EXPECT_EQ(p->upkeep(), std::nullopt);
  EXPECT_EQ(p->stats().idle, 0u);
  EXPECT_EQ(p->stats().closed_for(CloseReason::idle_timeout), 2u);
}

TEST_F(ConnPoolUpkeep, RunsNextAtTheEarliestOfIdleTimeoutServerHintAndLifetime) {
  auto p = make_pool(options([](TransportOptions& o) {
    o.idle_conn_timeout = 10s;
    o.max_conn_lifetime = 30s;
  }));
  const auto t0 = clock_->now();

  // The server's hint is the earliest.
  pool::ConnLease hinted = checkout(*p);
  ASSERT_TRUE(hinted);
  const std::uint64_t id_hinted = hinted.conn().id;
  hinted.conn().server_idle_timeout = std::chrono::seconds(5);
  hinted.release(std::nullopt);
  EXPECT_EQ(p->upkeep(), t0 + 5s);
  clock_->advance(5s);
  EXPECT_EQ(p->upkeep(), std::nullopt);
  EXPECT_EQ(log_->closed(), (Closed{{id_hinted, CloseReason::server_idle_timeout}}));

  // Created at t0 + 5 s, idle from t0 + 30 s: its lifetime ends first (t0 + 35 s).
  pool::ConnLease old = checkout(*p);
  ASSERT_TRUE(old);
  const std::uint64_t id_old = old.conn().id;
  clock_->advance(25s);
  old.release(std::nullopt);
  EXPECT_EQ(p->upkeep(), t0 + 35s);
  clock_->advance(5s);
  EXPECT_EQ(p->upkeep(), std::nullopt);
  EXPECT_EQ(log_->closed(),
            (Closed{{id_hinted, CloseReason::server_idle_timeout}, {id_old, CloseReason::max_lifetime}}));
  EXPECT_EQ(p->stats().idle, 0u);
}

TEST_F(ConnPoolUpkeep, DropsALeaseIntoAClosedConnection) {
  auto p = make_pool({});
  {
    pool::ConnLease lease = checkout(*p);
    ASSERT_TRUE(lease);
    EXPECT_EQ(p->stats().in_use, 1u);
  }
  const TransportStats s = p->stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.closed_for(CloseReason::error), 1u);
}

}  // namespace
}  // namespace nethttp::testing
