// Transport::stats(): every counter after a mixed run, and the counters
// agreeing with each other and with the trace.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/async_round_trip.h"
#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class TransportStatsTest : public LeakCheckedTest {};

TEST_F(TransportStatsTest, CountsDialsReusesRequestsAndClosesByReasonOverAMixedRun) {
  TestServer server([](const ServerRequest& request, ServerResponse& response) {
    response.set_body(request.target == "/big" ? std::string(std::size_t{256} << 10, 'b') : "ok");
  });
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.max_idle_conns_per_host = 1;
    o.trace = TraceLog::hooks(log);
  }));
  const std::string url = server.url() + "/";
  EXPECT_EQ(t.stats().requests, 0u);

  // 1. A dial; the body read to its end parks the connection.
  {
    Result<Response> r = t.round_trip(get_req(url));
    ASSERT_OK(r);
    TransportStats s = t.stats();
    EXPECT_EQ(s.in_use, 1u);
    EXPECT_EQ(s.dials, 1u);
    EXPECT_EQ(read_body(*r), "ok");
    s = t.stats();
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.idle, 1u);
  }
  // 2. A reuse and a second dial at once; one of them does not fit the idle pool.
  {
    Result<Response> a = t.round_trip(get_req(url));
    ASSERT_OK(a);
    Result<Response> b = t.round_trip(get_req(url));
    ASSERT_OK(b);
    EXPECT_TRUE(a->conn.reused);
    EXPECT_FALSE(b->conn.reused);
    EXPECT_EQ(t.stats().in_use, 2u);
    EXPECT_EQ(t.stats().idle, 0u);
  }
  EXPECT_EQ(t.stats().closed_for(CloseReason::idle_pool_full), 1u);
  // 3. The server closes the idle one: found at checkout, then a third dial.
  server.close_client_connections();
  {
    Result<Response> r = t.round_trip(get_req(url));
    ASSERT_OK(r);
    EXPECT_FALSE(r->conn.reused);
    EXPECT_EQ(read_body(*r), "ok");
  }
  // 4. A body closed with too much left: a reuse, then a close.
  {
    Result<Response> r = t.round_trip(get_req(server.url() + "/big"));
    ASSERT_OK(r);
    EXPECT_TRUE(r->conn.reused);
  }
  // 5. A fourth dial, parked, then closed by the user.
  {
    Result<Response> r = t.round_trip(get_req(url));
    ASSERT_OK(r);
    EXPECT_EQ(read_body(*r), "ok");
  }
  EXPECT_EQ(t.stats().idle, 1u);
  t.close_idle_connections();

  const TransportStats s = t.stats();
  EXPECT_EQ(s.dials, 4u);
  EXPECT_EQ(s.dial_errors, 0u);
  EXPECT_EQ(s.reuses, 2u);
  EXPECT_EQ(s.requests, 6u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.dialing, 0u);
  EXPECT_EQ(s.waiting, 0u);
  const std::map<CloseReason, std::uint64_t> expected_closes = {
      {CloseReason::idle_pool_full, 1},
      {CloseReason::peer_closed, 1},
      {CloseReason::body_not_drained, 1},
      {CloseReason::closed_by_user, 1},
  };
  std::uint64_t closes = 0;
  std::map<CloseReason, std::uint64_t> traced;
  for (const auto& [id, why] : log->closed()) ++traced[why];
  for (int i = 0; i < kCloseReasonCount; ++i) {
    const auto reason = static_cast<CloseReason>(i);
    SCOPED_TRACE(std::string(to_string(reason)));
    const auto it = expected_closes.find(reason);
    EXPECT_EQ(s.closed_for(reason), it == expected_closes.end() ? 0u : it->second);
    EXPECT_EQ(traced[reason], s.closed_for(reason)) << "the trace and the counters agree";
    closes += s.closed_for(reason);
  }
  // Every connection dialed is idle, in use or closed.
  EXPECT_EQ(s.dials, closes + s.idle + s.in_use);
  EXPECT_EQ(server.connections_accepted(), s.dials);
  EXPECT_EQ(s.requests, static_cast<std::uint64_t>(server.requests().size()));
}

TEST_F(TransportStatsTest, CountsDialingAndWaitingWhileTheyLast) {
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1);
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.max_conns_per_host = 1;
    o.dial = GatedDialer::func(dialer);
  }));
  AsyncRoundTrip first(t, get_req(server.url() + "/", with_safety_deadline));
  ASSERT_TRUE(dialer->held.wait());
  AsyncRoundTrip second(t, get_req(server.url() + "/", with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 2; }));
  TransportStats s = t.stats();
  EXPECT_EQ(s.dialing, 1u);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.requests, 2u) << "round trips started, waiting or not";

  dialer->release.open();
  ASSERT_TRUE(first.wait());
  ASSERT_OK(first.result());
  s = t.stats();
  EXPECT_EQ(s.dialing, 0u);
  EXPECT_EQ(s.waiting, 1u);
  EXPECT_EQ(s.in_use, 1u);
  EXPECT_EQ(read_body(*first.result()), "ok");
  ASSERT_TRUE(second.wait());
  ASSERT_OK(second.result());
  EXPECT_EQ(read_body(*second.result()), "ok");
  s = t.stats();
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.reuses, 1u);
  EXPECT_EQ(s.dials, 1u);
}

}  // namespace
}  // namespace nethttp::testing
