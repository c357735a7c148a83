// The connection pool through the Transport: which connection a request
// gets (MRU idle, per key), the idle limits, the per-host limit and its FIFO
// waiters, late binding of dials, and how waiting ends (deadline, cancel).
#include "pool/conn_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/async_round_trip.h"
#include "support/dialers.h"
#include "support/scripted_server.h"
#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class ConnPool : public LeakCheckedTest {};

// ---------------------------------------------------------------- idle order and keys

TEST_F(ConnPool, ReusesTheMostRecentlyReleasedIdleConnectionFirst) {
  TestServer server;
  Transport& t = make_transport();
  const std::string url = server.url() + "/";

  // Three bodies held at once: three connections.
  Result<Response> a = t.round_trip(get_req(url));
  ASSERT_OK(a);
  Result<Response> b = t.round_trip(get_req(url));
  ASSERT_OK(b);
  Result<Response> c = t.round_trip(get_req(url));
  ASSERT_OK(c);
  EXPECT_EQ(server.connections_accepted(), 3u);
  EXPECT_EQ(t.stats().in_use, 3u);
  EXPECT_NE(a->conn.id, b->conn.id);
  EXPECT_NE(b->conn.id, c->conn.id);
  EXPECT_NE(a->conn.id, c->conn.id);

  // Released A, then B, then C.
  EXPECT_EQ(read_body(*a), "ok");
  EXPECT_EQ(read_body(*b), "ok");
  EXPECT_EQ(read_body(*c), "ok");
  EXPECT_EQ(t.stats().idle, 3u);

  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  EXPECT_EQ(first->conn.id, c->conn.id) << "the most recently used idle connection comes first";
  EXPECT_TRUE(first->conn.reused);
  EXPECT_TRUE(first->conn.was_idle);
  // While C is busy, the next most recent one is B.
  Result<Response> second = t.round_trip(get_req(url));
  ASSERT_OK(second);
  EXPECT_EQ(second->conn.id, b->conn.id);
  EXPECT_EQ(server.connections_accepted(), 3u);
}

TEST_F(ConnPool, DoesNotShareConnectionsBetweenTwoServers) {
  TestServer one;
  TestServer two;
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));

  Result<Response> r1 = t.round_trip(get_req(one.url() + "/"));
  ASSERT_OK(r1);
  EXPECT_EQ(read_body(*r1), "ok");
  // An idle connection to `one` exists; `two` still gets its own.
  Result<Response> r2 = t.round_trip(get_req(two.url() + "/"));
  ASSERT_OK(r2);
  EXPECT_EQ(read_body(*r2), "ok");
  EXPECT_FALSE(r2->conn.reused);
  EXPECT_NE(r2->conn.id, r1->conn.id);
  EXPECT_EQ(t.stats().idle, 2u);

  // And each gets its own back.
  Result<Response> r3 = t.round_trip(get_req(two.url() + "/"));
  ASSERT_OK(r3);
  EXPECT_EQ(r3->conn.id, r2->conn.id);
  Result<Response> r4 = t.round_trip(get_req(one.url() + "/"));
  ASSERT_OK(r4);
  EXPECT_EQ(r4->conn.id, r1->conn.id);
  EXPECT_EQ(one.connections_accepted(), 1u);
  EXPECT_EQ(two.connections_accepted(), 1u);

  const std::vector<std::string> keys = log->events("get_conn");
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[0], "get_conn http://" + one.host_port());
  EXPECT_EQ(keys[1], "get_conn http://" + two.host_port());
}

TEST_F(ConnPool, KeysConnectionsByHostAndPortEvenWhenTheyReachTheSameServer) {
  // The dial hook sends every key to the same server: only the key can keep
  // the connections apart.
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port());
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  const std::string urls[] = {
      "http://127.0.0.1:" + std::to_string(server.port()) + "/",
      "http://localhost:" + std::to_string(server.port()) + "/",  // another host
      "http://127.0.0.1:1/",                                      // another port
  };
  std::vector<std::uint64_t> ids;
  for (const std::string& url : urls) {
    SCOPED_TRACE(url);
    Result<Response> r = t.round_trip(get_req(url));
    ASSERT_OK(r);
    EXPECT_FALSE(r->conn.reused);
    EXPECT_EQ(read_body(*r), "ok");
    ids.push_back(r->conn.id);
  }
  EXPECT_EQ(dialer->dials_started(), 3);
  EXPECT_EQ(server.connections_accepted(), 3u);
  EXPECT_EQ(t.stats().idle, 3u);
  // Each key finds its own connection again.
  for (std::size_t i = 0; i < 3; ++i) {
    Result<Response> r = t.round_trip(get_req(urls[i]));
    ASSERT_OK(r);
    EXPECT_EQ(r->conn.id, ids[i]) << urls[i];
    EXPECT_EQ(read_body(*r), "ok");
  }
}

// ---------------------------------------------------------------- idle limits

TEST_F(ConnPool, KeepsAtMostMaxIdleConnsPerHostIdle) {
  struct Case {
    int max_idle_per_host;
    std::size_t kept;
  };
  const Case cases[] = {{0, 0}, {1, 1}, {2, 2}, {5, 5}, {100, 5}};
  for (const Case& c : cases) {
    SCOPED_TRACE("max_idle_conns_per_host " + std::to_string(c.max_idle_per_host));
    TestServer server;
    Transport t(options([&](TransportOptions& o) { o.max_idle_conns_per_host = c.max_idle_per_host; }));
    {
      std::vector<Response> held;
      for (int i = 0; i < 5; ++i) {
        Result<Response> r = t.round_trip(get_req(server.url() + "/"));
        ASSERT_OK(r);
        held.push_back(std::move(*r));
      }
      EXPECT_EQ(server.connections_accepted(), 5u);
      for (Response& r : held) EXPECT_EQ(read_body(r), "ok");
    }
    const TransportStats s = t.stats();
    EXPECT_EQ(s.idle, c.kept);
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.closed_for(CloseReason::idle_pool_full), 5 - c.kept);
    EXPECT_TRUE(server.wait_for_open_connections(c.kept, kWait)) << server.open_connections();
  }
}

TEST_F(ConnPool, EvictsTheOldestIdleConnectionOfAnyHostBeyondMaxIdleConns) {
  TestServer a;
  TestServer b;
  TestServer c;
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.max_idle_conns = 2;
    o.trace = TraceLog::hooks(log);
  }));
  auto fetch = [&](const TestServer& server) -> std::uint64_t {
    Result<Response> r = t.round_trip(get_req(server.url() + "/"));
    if (!r) {
      ADD_FAILURE() << r.error().message();
      return 0;
    }
    EXPECT_EQ(read_body(*r), "ok");
    return r->conn.id;
  };

  const std::uint64_t id_a = fetch(a);
  const std::uint64_t id_b = fetch(b);
  EXPECT_TRUE(log->closed().empty());
  const std::uint64_t id_c = fetch(c);  // third idle connection: A, the oldest, goes
  using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
  EXPECT_EQ(log->closed(), (Closed{{id_a, CloseReason::evicted}}));
  EXPECT_EQ(t.stats().idle, 2u);
  EXPECT_TRUE(a.wait_for_open_connections(0, kWait));

  // Using B makes it the most recent: the next eviction takes C.
  EXPECT_EQ(fetch(b), id_b);
  const std::uint64_t id_a2 = fetch(a);  // evicted: a new connection
  EXPECT_NE(id_a2, id_a);
  EXPECT_EQ(a.connections_accepted(), 2u);
  EXPECT_EQ(log->closed(), (Closed{{id_a, CloseReason::evicted}, {id_c, CloseReason::evicted}}));
  EXPECT_EQ(t.stats().idle, 2u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::evicted), 2u);
  EXPECT_EQ(fetch(b), id_b);
  EXPECT_EQ(fetch(a), id_a2);
}

// ---------------------------------------------------------------- per-host limit and waiters

TEST_F(ConnPool, ServesWaitersInFifoOrderWithinMaxConnsPerHost) {
  TestServer server;
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = 2; }));
  const std::string url = server.url() + "/";

  // Two requests get the two connections and hold them.
  AsyncRoundTrip r0(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(r0.wait());
  AsyncRoundTrip r1(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(r1.wait());
  ASSERT_OK(r0.result());
  ASSERT_OK(r1.result());
  // Three more queue up, in a known order.
  AsyncRoundTrip r2(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));
  AsyncRoundTrip r3(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 2; }));
  AsyncRoundTrip r4(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 3; }));
  EXPECT_EQ(t.stats().dialing, 0u) << "no dial beyond the limit";
  EXPECT_EQ(server.connections_accepted(), 2u);

  // Each freed connection goes to the first in line, and only to it: no
  // other connection is free, so the others must still wait.
  EXPECT_EQ(read_body(*r0.result()), "ok");
  ASSERT_TRUE(r2.wait());
  EXPECT_FALSE(r3.finished());
  EXPECT_FALSE(r4.finished());
  ASSERT_OK(r2.result());
  EXPECT_EQ(r2.result()->conn.id, r0.result()->conn.id);
  EXPECT_TRUE(r2.result()->conn.reused);

  EXPECT_EQ(read_body(*r1.result()), "ok");
  ASSERT_TRUE(r3.wait());
  EXPECT_FALSE(r4.finished());
  ASSERT_OK(r3.result());
  EXPECT_EQ(r3.result()->conn.id, r1.result()->conn.id);

  EXPECT_EQ(read_body(*r2.result()), "ok");
  ASSERT_TRUE(r4.wait());
  ASSERT_OK(r4.result());
  EXPECT_EQ(r4.result()->conn.id, r0.result()->conn.id);
  EXPECT_EQ(read_body(*r3.result()), "ok");
  EXPECT_EQ(read_body(*r4.result()), "ok");

  EXPECT_EQ(server.connections_accepted(), 2u);
  const TransportStats s = t.stats();
  EXPECT_EQ(s.dials, 2u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.idle, 2u);
}

TEST_F(ConnPool, AWaiterWhoseDeadlinePassesTimesOutLeavesTheQueueAndLosesNoConnection) {
  TestServer server;
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = 1; }));
  const std::string url = server.url() + "/";
  Result<Response> holder = t.round_trip(get_req(url));
  ASSERT_OK(holder);

  // First in line, with a short deadline.
  AsyncRoundTrip impatient(
      t, get_req(url, [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 500ms; }));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));
  AsyncRoundTrip patient(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 2 || impatient.finished(); }));

  ASSERT_TRUE(impatient.wait());
  ASSERT_FALSE(impatient.result().ok());
  EXPECT_EQ(impatient.result().error().kind(), ErrorKind::timeout) << impatient.result().error().message();
  EXPECT_TRUE(wait_for([&] { return t.stats().waiting == 1; })) << "the timed-out waiter left the queue";
  EXPECT_FALSE(patient.finished());

  // The connection, once free, goes to the waiter still waiting.
  EXPECT_EQ(read_body(*holder), "ok");
  ASSERT_TRUE(patient.wait());
  ASSERT_OK(patient.result());
  EXPECT_EQ(patient.result()->conn.id, holder->conn.id);
  EXPECT_EQ(read_body(*patient.result()), "ok");
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(t.stats().idle, 1u);
}

TEST_F(ConnPool, AWaiterCanceledWhileWaitingReturnsCanceledPromptlyAndLosesNoConnection) {
  TestServer server;
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = 1; }));
  const std::string url = server.url() + "/";
  Result<Response> holder = t.round_trip(get_req(url));
  ASSERT_OK(holder);

  std::stop_source stop;
  AsyncRoundTrip canceled(t, get_req(url, [&](Request& r) { r.cancel = stop.get_token(); }));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));
  AsyncRoundTrip patient(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 2; }));

  stop.request_stop();
  ASSERT_TRUE(canceled.wait(5s)) << "cancellation must wake the waiter";
  ASSERT_FALSE(canceled.result().ok());
  EXPECT_EQ(canceled.result().error().kind(), ErrorKind::canceled) << canceled.result().error().message();
  EXPECT_EQ(t.stats().waiting, 1u);
  EXPECT_FALSE(patient.finished());

  EXPECT_EQ(read_body(*holder), "ok");
  ASSERT_TRUE(patient.wait());
  ASSERT_OK(patient.result());
  EXPECT_EQ(patient.result()->conn.id, holder->conn.id);
  EXPECT_EQ(read_body(*patient.result()), "ok");
}

TEST_F(ConnPool, ARequestCanceledBeforeItWaitsFailsAtOnce) {
  TestServer server;
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = 1; }));
  std::stop_source stop;
  stop.request_stop();
  Result<Response> r =
      t.round_trip(get_req(server.url() + "/", [&](Request& q) { q.cancel = stop.get_token(); }));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::canceled);
  EXPECT_EQ(server.connections_accepted(), 0u);
}

// Held bodies are connections in use. A thread that holds the only
// connection allowed and asks for another one waits for itself: the pool
// cannot know. Without a deadline it would wait forever (as Go with
// MaxConnsPerHost); with one it fails with `timeout`, and nothing is lost.
TEST_F(ConnPool, ARequestWaitingForAConnectionItsOwnThreadHoldsTimesOutInsteadOfDeadlocking) {
  TestServer server;
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = 1; }));
  const std::string url = server.url() + "/";
  Result<Response> held = t.round_trip(get_req(url));
  ASSERT_OK(held);

  Result<Response> second =
      t.round_trip(get_req(url, [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 200ms; }));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind(), ErrorKind::timeout);
  EXPECT_EQ(t.stats().waiting, 0u);
  EXPECT_EQ(t.stats().in_use, 1u);

  EXPECT_EQ(read_body(*held), "ok");
  Result<Response> third = t.round_trip(get_req(url));
  ASSERT_OK(third);
  EXPECT_EQ(third->conn.id, held->conn.id);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(ConnPool, ASlotFreedByAClosedConnectionGoesToTheFirstWaiter) {
  // Every response says "Connection: close": a returned connection is
  // closed, and its slot lets the first waiter dial.
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    response.close_connection();
    response.set_body("once");
  });
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = 1; }));
  const std::string url = server.url() + "/";
  Result<Response> holder = t.round_trip(get_req(url));
  ASSERT_OK(holder);
  AsyncRoundTrip waiter(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));
  EXPECT_EQ(t.stats().dialing, 0u);

  EXPECT_EQ(read_body(*holder), "once");
  ASSERT_TRUE(waiter.wait());
  ASSERT_OK(waiter.result());
  EXPECT_FALSE(waiter.result()->conn.reused);
  EXPECT_NE(waiter.result()->conn.id, holder->conn.id);
  EXPECT_EQ(read_body(*waiter.result()), "once");
  EXPECT_EQ(t.stats().closed_for(CloseReason::not_reusable), 2u);
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(ConnPool, ARequestWhoseDeadlineHasPassedFailsWithoutDialing) {
  TestServer server;
  Transport& t = make_transport();
  Result<Response> r = t.round_trip(
      get_req(server.url() + "/", [](Request& q) { q.deadline = std::chrono::steady_clock::now(); }));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::timeout);
  EXPECT_EQ(t.stats().dials, 0u);
  EXPECT_EQ(server.connections_accepted(), 0u);
}

TEST_F(ConnPool, ARequestThatCannotBeWrittenLeavesItsConnectionUsable) {
  TestServer server;
  Transport& t = make_transport();
  const std::string url = server.url() + "/";
  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "ok");

  Result<Response> bad =
      t.round_trip(get_req(url, [](Request& r) { r.header.add("X-Bad", "a\r\nInjected: 1"); }));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::invalid_request);
  EXPECT_EQ(t.stats().idle, 1u) << "nothing was sent on it";
  EXPECT_EQ(t.stats().in_use, 0u);

  Result<Response> next = t.round_trip(get_req(url));
  ASSERT_OK(next);
  EXPECT_EQ(next->conn.id, first->conn.id);
  EXPECT_EQ(read_body(*next), "ok");
  EXPECT_EQ(server.requests().size(), 2u);
}

// ---------------------------------------------------------------- dials

TEST_F(ConnPool, ARequestWaitsForADialInFlightInsteadOfStartingAnother) {
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/2);
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  const std::string url = server.url() + "/";

  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  AsyncRoundTrip second(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(dialer->held.wait());
  // The first connection goes to the second request; its dial is still held.
  EXPECT_EQ(read_body(*first), "ok");
  ASSERT_TRUE(second.wait());
  ASSERT_OK(second.result());

  // One waiter, one dial in flight: no third dial, the held one serves it.
  AsyncRoundTrip third(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));
  EXPECT_EQ(t.stats().dialing, 1u);
  EXPECT_EQ(dialer->dials_started(), 2);
  dialer->release.open();
  ASSERT_TRUE(third.wait());
  ASSERT_OK(third.result());
  EXPECT_FALSE(third.result()->conn.reused);
  EXPECT_EQ(read_body(*third.result()), "ok");
  EXPECT_EQ(read_body(*second.result()), "ok");
  EXPECT_EQ(dialer->dials_started(), 2);
}

TEST_F(ConnPool, ARequestWaitingForItsDialTakesAConnectionReleasedMeanwhile) {
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/2);
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  const std::string url = server.url() + "/";

  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  AsyncRoundTrip second(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(dialer->held.wait());
  ASSERT_TRUE(wait_for([&] {
    const TransportStats s = t.stats();
    return s.waiting == 1 && s.dialing == 1;
  }));

  // The first connection comes back while the second dial is still going.
  EXPECT_EQ(read_body(*first), "ok");
  ASSERT_TRUE(second.wait());
  ASSERT_OK(second.result());
  EXPECT_EQ(second.result()->conn.id, first->conn.id);
  EXPECT_TRUE(second.result()->conn.reused);
  EXPECT_EQ(t.stats().dialing, 1u);
  EXPECT_EQ(read_body(*second.result()), "ok");

  // The late dial is not wasted: it is parked idle.
  dialer->release.open();
  ASSERT_TRUE(wait_for([&] { return t.stats().dialing == 0; }));
  const TransportStats s = t.stats();
  EXPECT_EQ(s.dials, 2u);
  EXPECT_EQ(s.idle, 2u);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_TRUE(server.wait_for_open_connections(2, kWait));
}

TEST_F(ConnPool, ADialWhoseRequesterGaveUpIsFinishedAndParked) {
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1);
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  const std::string url = server.url() + "/";

  Result<Response> gave_up =
      t.round_trip(get_req(url, [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 200ms; }));
  ASSERT_FALSE(gave_up.ok());
  EXPECT_EQ(gave_up.error().kind(), ErrorKind::timeout);
  ASSERT_TRUE(dialer->held.is_open());
  EXPECT_EQ(t.stats().waiting, 0u);
  EXPECT_EQ(t.stats().dialing, 1u) << "the dial goes on";

  dialer->release.open();
  ASSERT_TRUE(wait_for([&] { return t.stats().idle == 1; }));
  TransportStats s = t.stats();
  EXPECT_EQ(s.dials, 1u);
  EXPECT_EQ(s.dialing, 0u);

  // The next request uses it: no second dial.
  Result<Response> next = t.round_trip(get_req(url));
  ASSERT_OK(next);
  EXPECT_TRUE(next->conn.was_idle);
  EXPECT_EQ(read_body(*next), "ok");
  EXPECT_EQ(dialer->dials_started(), 1);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

// ConnInfo::reused means "it carried an earlier request" (response.h), and
// stats().reuses counts those: a connection parked by a dial nobody waited
// for is idle, but not reused.
TEST_F(ConnPool, AParkedConnectionThatNeverCarriedARequestIsNotReportedReused) {
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1);
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.dial = GatedDialer::func(dialer);
    o.trace = TraceLog::hooks(log);
  }));
  Result<Response> gave_up = t.round_trip(
      get_req(server.url() + "/", [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 100ms; }));
  ASSERT_FALSE(gave_up.ok());
  dialer->release.open();
  ASSERT_TRUE(wait_for([&] { return t.stats().idle == 1; }));

  Result<Response> next = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(next);
  EXPECT_TRUE(next->conn.was_idle);
  EXPECT_FALSE(next->conn.reused) << "it never carried a request";
  EXPECT_EQ(t.stats().reuses, 0u);
  EXPECT_EQ(log->events("got_conn"),
            std::vector<std::string>{"got_conn " + std::to_string(next->conn.id) + " new idle"});
}

TEST_F(ConnPool, ADialFinishingAfterItsTransportIsGoneClosesItsConnection) {
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1);
  auto log = std::make_shared<TraceLog>();
  {
    Transport t(options([&](TransportOptions& o) {
      o.dial = GatedDialer::func(dialer);
      o.trace = TraceLog::hooks(log);
    }));
    Result<Response> gave_up = t.round_trip(get_req(
        server.url() + "/", [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 100ms; }));
    ASSERT_FALSE(gave_up.ok());
    EXPECT_EQ(gave_up.error().kind(), ErrorKind::timeout);
  }
  dialer->release.open();
  ASSERT_TRUE(wait_for([&] { return log->closed().size() == 1; }));
  EXPECT_EQ(log->closed()[0].second, CloseReason::closed_by_user);
  ASSERT_TRUE(wait_for([&] { return server.connections_accepted() == 1; }));
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

// The failed dial releases the host's entry before its requester wakes: the
// requester must not touch it any more (ASan checks).
TEST_F(ConnPool, ReturnsTheDialErrorToTheRequestThatStartedTheDial) {
  auto dialer = std::make_shared<GatedDialer>(/*port=*/1, /*hold_dial=*/0, /*fail_dial=*/1);
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  Result<Response> r = t.round_trip(get_req("http://127.0.0.1:1/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::connect);
  EXPECT_NE(r.error().message().find("dial http://127.0.0.1:1"), std::string::npos) << r.error().message();
  const TransportStats s = t.stats();
  EXPECT_EQ(s.dial_errors, 1u);
  EXPECT_EQ(s.dials, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.dialing, 0u);
}

TEST_F(ConnPool, AFailedDialFreesItsSlotForTheNextWaiter) {
  TestServer server;
  // Dial 1 is held, then fails; dial 2 (for the second waiter) succeeds.
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1, /*fail_dial=*/1);
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.max_conns_per_host = 1;
    o.dial = GatedDialer::func(dialer);
  }));
  const std::string url = server.url() + "/";
  AsyncRoundTrip first(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(dialer->held.wait());
  AsyncRoundTrip second(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 2; }));
  EXPECT_EQ(t.stats().dialing, 1u);

  dialer->release.open();
  ASSERT_TRUE(first.wait());
  ASSERT_FALSE(first.result().ok());
  EXPECT_EQ(first.result().error().kind(), ErrorKind::connect);
  ASSERT_TRUE(second.wait());
  ASSERT_OK(second.result());
  EXPECT_FALSE(second.result()->conn.reused);
  EXPECT_EQ(read_body(*second.result()), "ok");
  EXPECT_EQ(t.stats().dial_errors, 1u);
  EXPECT_EQ(t.stats().dials, 1u);
}

TEST_F(ConnPool, ALateDialThatFailsAfterItsRequesterWasServedBothersNobody) {
  TestServer server;
  // Dial 2 is held, then fails.
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/2, /*fail_dial=*/2);
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  const std::string url = server.url() + "/";
  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  AsyncRoundTrip second(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(dialer->held.wait());
  EXPECT_EQ(read_body(*first), "ok");  // late binding serves the second request
  ASSERT_TRUE(second.wait());
  ASSERT_OK(second.result());
  EXPECT_EQ(second.result()->conn.id, first->conn.id);
  EXPECT_EQ(read_body(*second.result()), "ok");

  dialer->release.open();
  ASSERT_TRUE(wait_for([&] { return t.stats().dialing == 0; }));
  TransportStats s = t.stats();
  EXPECT_EQ(s.dial_errors, 1u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.idle, 1u);
  Result<Response> third = t.round_trip(get_req(url));
  ASSERT_OK(third);
  EXPECT_EQ(third->conn.id, first->conn.id);
}

TEST_F(ConnPool, ADialWhoseRequesterGaveUpServesTheNextWaiter) {
  TestServer server;
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1);
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.max_conns_per_host = 1;
    o.dial = GatedDialer::func(dialer);
  }));
  const std::string url = server.url() + "/";
  Result<Response> gave_up =
      t.round_trip(get_req(url, [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 100ms; }));
  ASSERT_FALSE(gave_up.ok());
  EXPECT_EQ(gave_up.error().kind(), ErrorKind::timeout);

  // The host is at its limit (the dial counts): this one waits for it.
  AsyncRoundTrip next(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));
  EXPECT_EQ(t.stats().dialing, 1u);
  dialer->release.open();
  ASSERT_TRUE(next.wait());
  ASSERT_OK(next.result());
  EXPECT_EQ(read_body(*next.result()), "ok");
  EXPECT_EQ(dialer->dials_started(), 1);
}

// A retry goes to a new connection (transport.h: "retried once on a new
// one"): late binding must not hand its waiter a connection that was
// released meanwhile after carrying requests, which may be just as stale.
TEST_F(ConnPool, ARetryWaitingForItsFreshDialIsNotHandedAReusedConnection) {
  ScriptedServer server({
      // Connection 0 answers once, then closes when the next request arrives.
      Script().expect_request().respond("zero").expect_request().close(),
      // Connection 1 answers twice.
      Script().expect_request().respond("one").expect_request().respond("one again"),
  });
  // Dial 3 (the retry's own dial) is held.
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/3);
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  const std::string url = server.url() + "/";

  Result<Response> on_zero = t.round_trip(get_req(url));
  ASSERT_OK(on_zero);
  Result<Response> on_one = t.round_trip(get_req(url));
  ASSERT_OK(on_one);
  EXPECT_EQ(read_body(*on_zero), "zero");  // connection 0 is idle, connection 1 held

  AsyncRoundTrip retried(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(dialer->held.wait());  // it failed on connection 0 and waits for a new one
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));
  EXPECT_EQ(t.stats().retries, 1u);

  EXPECT_EQ(read_body(*on_one), "one");  // connection 1 comes back meanwhile
  dialer->release.open();
  ASSERT_TRUE(retried.wait());
  ASSERT_OK(retried.result());
  EXPECT_FALSE(retried.result()->conn.reused) << "the retry must go to a new connection";
  EXPECT_NE(retried.result()->conn.id, on_one->conn.id);
  EXPECT_EQ(read_body(*retried.result()), "ok");
  ASSERT_TRUE(wait_for([&] { return t.stats().dialing == 0; }));
}

/// Dial 1 gets a socketpair whose server end the test holds (with one "ok"
/// response already written); later dials connect to a real server.
class FirstDialToATestPeer {
 public:
  explicit FirstDialToATestPeer(std::uint16_t port) : port_(port) {}

  static DialFunc func(const std::shared_ptr<FirstDialToATestPeer>& dialer) {
    return [dialer](const DialRequest&) { return dialer->dial(); };
  }
  void close_peer() {
    const std::lock_guard lock(mu_);
    if (peer_) peer_->close();
  }

 private:
  Result<int> dial() {
    if (++dials_ > 1) return connect_loopback(port_);
    Result<SocketPair> pair = socketpair_answering(kOk);
    if (!pair) return pair.error();
    const std::lock_guard lock(mu_);
    peer_ = std::move(pair->server);
    return pair->client;
  }

  const std::uint16_t port_;
  std::atomic<int> dials_{0};
  std::mutex mu_;  // guards peer_
  std::unique_ptr<AnsweringPeer> peer_;
};

// A retry's waiter skips connections that carried requests; at the host's
// limit it must still be served: a used connection that comes back is
// closed to free the slot its dial needs, instead of being parked.
TEST_F(ConnPool, ARetryWaitingAtTheHostLimitIsServedWhenOnlyUsedConnectionsComeBack) {
  TestServer server;
  auto dialer = std::make_shared<FirstDialToATestPeer>(server.port());
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.max_conns_per_host = 1;
    o.dial = FirstDialToATestPeer::func(dialer);
  }));
  const std::string url = server.url() + "/";
  {
    Result<Response> first = t.round_trip(get_req(url));  // on the test's socketpair
    ASSERT_OK(first);
    EXPECT_EQ(read_body(*first), "ok");
  }
  ASSERT_EQ(t.stats().idle, 1u);

  // X takes the idle connection and waits for an answer that will not come.
  AsyncRoundTrip x(t, get_req(url, [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 2s; }));
  ASSERT_TRUE(wait_for([&] { return t.stats().in_use == 1; }));
  // W waits for the host's only slot.
  AsyncRoundTrip w(t, get_req(url, with_safety_deadline));
  ASSERT_TRUE(wait_for([&] { return t.stats().waiting == 1; }));

  dialer->close_peer();  // the connection was stale: X fails before any response byte, and retries
  ASSERT_TRUE(w.wait());
  ASSERT_OK(w.result());
  EXPECT_EQ(read_body(*w.result()), "ok");  // W's connection comes back

  ASSERT_TRUE(x.wait());
  EXPECT_EQ(t.stats().retries, 1u);
  ASSERT_OK(x.result());
  EXPECT_EQ(read_body(*x.result()), "ok");
}

}  // namespace
}  // namespace nethttp::testing
