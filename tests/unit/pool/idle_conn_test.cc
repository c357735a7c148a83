// Idle connections that must not be reused: closed by the server, sent
// bytes nobody asked for, idle too long (ours, or the server's Keep-Alive
// hint), or too old.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support/dialers.h"
#include "support/fd_count.h"
#include "support/scripted_server.h"
#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class IdleConn : public LeakCheckedTest {};

// ---------------------------------------------------------------- stale at checkout

TEST_F(IdleConn, AConnectionTheServerClosedWhileIdleIsReplacedWithoutAnError) {
  TestServer server;
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));
  const std::string url = server.url() + "/";
  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "ok");
  ASSERT_EQ(t.stats().idle, 1u);

  server.close_client_connections();
  Result<Response> second = t.round_trip(get_req(url));
  ASSERT_OK(second);
  EXPECT_EQ(read_body(*second), "ok");
  EXPECT_FALSE(second->conn.reused);
  EXPECT_NE(second->conn.id, first->conn.id);
  EXPECT_EQ(t.stats().closed_for(CloseReason::peer_closed), 1u);
  EXPECT_EQ(t.stats().retries, 0u) << "found at checkout, not by a failed request";
  using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
  EXPECT_EQ(log->closed(), (Closed{{first->conn.id, CloseReason::peer_closed}}));
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(IdleConn, EveryStaleIdleConnectionIsSkippedBeforeDialing) {
  TestServer server;
  Transport& t = make_transport();
  const std::string url = server.url() + "/";
  {
    Result<Response> a = t.round_trip(get_req(url));
    ASSERT_OK(a);
    Result<Response> b = t.round_trip(get_req(url));
    ASSERT_OK(b);
  }  // both drained and parked
  ASSERT_EQ(t.stats().idle, 2u);
  server.close_client_connections();

  Result<Response> r = t.round_trip(get_req(url));
  ASSERT_OK(r);
  EXPECT_FALSE(r->conn.reused);
  EXPECT_EQ(t.stats().closed_for(CloseReason::peer_closed), 2u);
  EXPECT_EQ(server.connections_accepted(), 3u);
}

TEST_F(IdleConn, DiscardsAnIdleConnectionAccordingToWhatTheServerDidToIt) {
  struct Case {
    std::string_view name;
    void (*act)(SocketPairDialer& dialer);
    CloseReason reason;
  };
  const Case cases[] = {
      {"closed it", [](SocketPairDialer& d) { d.close_peer(0); }, CloseReason::peer_closed},
      {"half-closed it", [](SocketPairDialer& d) { ::shutdown(d.peer(0), SHUT_WR); },
       CloseReason::peer_closed},
      {"sent a 408 and kept it open",
       [](SocketPairDialer& d) {
         EXPECT_TRUE(write_all(d.peer(0), "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"));
       },
       CloseReason::unsolicited_bytes},
      {"sent one stray byte", [](SocketPairDialer& d) { EXPECT_TRUE(write_all(d.peer(0), "x")); },
       CloseReason::unsolicited_bytes},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto dialer = std::make_shared<SocketPairDialer>();
    auto log = std::make_shared<TraceLog>();
    Transport t(options([&](TransportOptions& o) {
      o.dial = SocketPairDialer::func(dialer);
      o.trace = TraceLog::hooks(log);
    }));
    Result<Response> first = t.round_trip(get_req("http://example.test/"));
    ASSERT_OK(first);
    EXPECT_EQ(read_body(*first), "ok");
    ASSERT_EQ(t.stats().idle, 1u);
    ASSERT_EQ(log->events("put_idle").size(), 1u) << "it was parked cleanly";

    c.act(*dialer);
    Result<Response> second = t.round_trip(get_req("http://example.test/"));
    ASSERT_OK(second);
    EXPECT_EQ(read_body(*second), "ok");
    EXPECT_FALSE(second->conn.reused);
    EXPECT_EQ(dialer->dials(), 2u);
    const TransportStats s = t.stats();
    EXPECT_EQ(s.closed_for(c.reason), 1u);
    EXPECT_EQ(s.in_use, 0u);
    using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
    EXPECT_EQ(log->closed(), (Closed{{first->conn.id, c.reason}}));
  }
}

// ---------------------------------------------------------------- idle timeout

TEST_F(IdleConn, UpkeepClosesAConnectionIdleLongerThanIdleConnTimeoutWithoutAnotherRequest) {
  TestServer server;
  auto log = std::make_shared<TraceLog>();
  constexpr auto kIdleTimeout = 200ms;
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.idle_conn_timeout = kIdleTimeout;
    o.trace = TraceLog::hooks(log);
  }));
  const int fds_without_connection = count_open_fds();

  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(r);
  EXPECT_EQ(read_body(*r), "ok");
  const auto parked = std::chrono::steady_clock::now();
  ASSERT_EQ(t.stats().idle, 1u);

  // The server sees EOF: the client's socket is really closed.
  ASSERT_TRUE(server.wait_for_open_connections(0, kWait));
  EXPECT_GE(std::chrono::steady_clock::now() - parked, kIdleTimeout) << "closed before its time";
  EXPECT_EQ(t.stats().idle, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::idle_timeout), 1u);
  using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
  EXPECT_TRUE(wait_for([&] { return log->closed() == Closed{{r->conn.id, CloseReason::idle_timeout}}; }));
  EXPECT_TRUE(wait_for([&] { return count_open_fds() == fds_without_connection; }))
      << count_open_fds() << " fds, " << fds_without_connection << " before the connection";
}

struct ExpiryCase {
  std::string_view name;
  std::chrono::milliseconds advance;  ///< fake time between parking and the next checkout
  std::optional<CloseReason> closed;  ///< nullopt: reused
};

TEST_F(IdleConn, ChecksIdleConnTimeoutAtCheckoutWithTheInjectedClock) {
  const ExpiryCase cases[] = {
      {"idle for less than the timeout", 9'999ms, std::nullopt},
      {"idle for exactly the timeout", 10'000ms, CloseReason::idle_timeout},
      {"idle for longer", 60'000ms, CloseReason::idle_timeout},
  };
  for (const ExpiryCase& c : cases) {
    SCOPED_TRACE(c.name);
    TestServer server;
    auto clock = std::make_shared<FakeClock>();
    Transport t(options([&](TransportOptions& o) {
      o.idle_conn_timeout = 10s;
      o.clock = FakeClock::func(clock);
    }));
    Result<Response> first = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(first);
    EXPECT_EQ(read_body(*first), "ok");

    clock->advance(c.advance);
    Result<Response> second = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(second);
    EXPECT_EQ(second->conn.reused, !c.closed);
    if (!c.closed) {
      EXPECT_EQ(second->conn.idle_time, c.advance);
    }
    EXPECT_EQ(t.stats().closed_for(CloseReason::idle_timeout), c.closed ? 1u : 0u);
    EXPECT_EQ(server.connections_accepted(), c.closed ? 2u : 1u);
  }
}

TEST_F(IdleConn, DoesNotReuseAConnectionOlderThanMaxConnLifetimeHoweverRecentlyUsed) {
  TestServer server;
  auto clock = std::make_shared<FakeClock>();
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.max_conn_lifetime = 10s;
    o.clock = FakeClock::func(clock);
  }));
  const std::string url = server.url() + "/";
  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "ok");

  clock->advance(6s);  // 6 s old: still young enough
  Result<Response> second = t.round_trip(get_req(url));
  ASSERT_OK(second);
  EXPECT_EQ(second->conn.id, first->conn.id);
  EXPECT_EQ(read_body(*second), "ok");

  clock->advance(5s);  // idle 5 s only, but 11 s old
  Result<Response> third = t.round_trip(get_req(url));
  ASSERT_OK(third);
  EXPECT_NE(third->conn.id, first->conn.id);
  EXPECT_FALSE(third->conn.reused);
  EXPECT_EQ(t.stats().closed_for(CloseReason::max_lifetime), 1u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::idle_timeout), 0u);
}

struct KeepAliveCase {
  std::string_view name;
  std::string_view keep_alive;  ///< the Keep-Alive field value the server sends
  std::chrono::milliseconds advance;
  bool reused;
};

/// One response with this Keep-Alive field, `advance` of fake idle time,
/// then a second request: reused or not, and counted as such.
void expect_keep_alive_case(const KeepAliveCase& c) {
  SCOPED_TRACE(c.name);
  const std::string response =
      "HTTP/1.1 200 OK\r\nKeep-Alive: " + std::string(c.keep_alive) + "\r\nContent-Length: 2\r\n\r\nok";
  ScriptedServer server({}, Script().expect_request().send(response).repeat());
  auto clock = std::make_shared<FakeClock>();
  Transport t(options([&](TransportOptions& o) { o.clock = FakeClock::func(clock); }));
  Result<Response> first = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "ok");

  clock->advance(c.advance);
  Result<Response> second = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(second);
  EXPECT_EQ(read_body(*second), "ok");
  EXPECT_EQ(second->conn.reused, c.reused);
  EXPECT_EQ(t.stats().closed_for(CloseReason::server_idle_timeout), c.reused ? 0u : 1u);
}

// The margin: a second, or half the hint when that is shorter.
TEST_F(IdleConn, HonoursTheServersKeepAliveTimeoutHintWithAMargin) {
  const KeepAliveCase cases[] = {
      {"timeout=2, idle 0.5 s", "timeout=2", 500ms, true},
      {"timeout=2, idle 0.99 s", "timeout=2", 990ms, true},
      {"timeout=2, idle 1.5 s", "timeout=2", 1'500ms, false},
      {"timeout=5, max=100 (nginx, Apache), idle 3.9 s", "timeout=5, max=100", 3'900ms, true},
      {"timeout=5, max=100, idle 4 s", "timeout=5, max=100", 4'000ms, false},
      {"no timeout parameter", "max=100", 60'000ms, true},
  };
  for (const KeepAliveCase& c : cases) expect_keep_alive_case(c);
}

// Regression: the margin was computed in whole seconds (1 s / 2 == 0 s), so a
// "timeout=1" connection was reused up to the moment the server closes it.
TEST_F(IdleConn, KeepsAHalfSecondMarginBeforeAOneSecondKeepAliveHint) {
  expect_keep_alive_case({"timeout=1, idle 0.4 s", "timeout=1", 400ms, true});
  expect_keep_alive_case({"timeout=1, idle 0.6 s", "timeout=1", 600ms, false});
}

}  // namespace
}  // namespace nethttp::testing
