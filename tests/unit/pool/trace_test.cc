// The Trace hooks: which events a request produces, in which order, with
// which connection facts.
#include "nethttp/trace.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class TransportTrace : public LeakCheckedTest {};

using Events = std::vector<std::string>;

TEST_F(TransportTrace, ReportsTheEventsOfAFreshAndThenAReusedConnectionInOrder) {
  TestServer server;
  auto log = std::make_shared<TraceLog>();
  auto clock = std::make_shared<FakeClock>();
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.clock = FakeClock::func(clock);
    o.trace = TraceLog::hooks(log);
  }));
  const std::string url = server.url() + "/";
  const std::string port = std::to_string(server.port());

  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "ok");
  const std::string id = std::to_string(first->conn.id);
  EXPECT_EQ(log->events(), (Events{
                               "get_conn http://127.0.0.1:" + port,
                               "dns_start 127.0.0.1",
                               "dns_done 127.0.0.1",
                               "connect_start 127.0.0.1:" + port,
                               "connect_done 127.0.0.1:" + port,
                               "got_conn " + id + " new",
                               "wrote_headers " + id,
                               "wrote_request " + id,
                               "got_first_response_byte " + id,
                               "put_idle " + id,
                           }));
  EXPECT_FALSE(first->conn.reused);
  EXPECT_FALSE(first->conn.was_idle);

  log->clear();
  clock->advance(3s);
  Result<Response> second = t.round_trip(get_req(url));
  ASSERT_OK(second);
  EXPECT_EQ(read_body(*second), "ok");
  EXPECT_EQ(log->events(), (Events{
                               "get_conn http://127.0.0.1:" + port,
                               "got_conn " + id + " reused idle",
                               "wrote_headers " + id,
                               "wrote_request " + id,
                               "got_first_response_byte " + id,
                               "put_idle " + id,
                           }));
  EXPECT_EQ(log->idle_times(), std::vector<std::chrono::nanoseconds>{3s});
  EXPECT_EQ(second->conn.idle_time, 3s);
  EXPECT_TRUE(second->conn.reused);
  EXPECT_TRUE(second->conn.was_idle);
}

TEST_F(TransportTrace, ReportsTheRequestWrittenOnlyAfterAStreamedBody) {
  TestServer server;
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));
  // Larger than what goes out with the head in one send().
  const std::string payload(std::size_t{200} << 10, 'p');
  Result<Response> r = t.round_trip(make_req("PUT", server.url() + "/", RequestBody::from_string(payload)));
  ASSERT_OK(r);
  EXPECT_EQ(read_body(*r), "ok");
  const std::string id = std::to_string(r->conn.id);
  Events exchange;
  for (const std::string& e : log->events()) {
    if (e.starts_with("wrote_") || e.starts_with("got_first")) exchange.push_back(e);
  }
  EXPECT_EQ(exchange,
            (Events{"wrote_headers " + id, "wrote_request " + id, "got_first_response_byte " + id}));
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body.size(), payload.size());
}

TEST_F(TransportTrace, ReportsAConnectionClosedWhenItIsNotPooledAndWhy) {
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    response.close_connection();
    response.set_body("bye");
  });
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));
  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(r);
  EXPECT_EQ(read_body(*r), "bye");
  const std::string id = std::to_string(r->conn.id);
  EXPECT_EQ(log->events("conn_closed"), Events{"conn_closed " + id + " not_reusable"});
  EXPECT_TRUE(log->events("put_idle").empty());
}

TEST_F(TransportTrace, ReportsAFailedConnectWithItsError) {
  // Port 1 on the loopback: nothing listens there.
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));
  Result<Response> r = t.round_trip(get_req("http://127.0.0.1:1/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::connect) << r.error().message();
  EXPECT_EQ(log->events(), (Events{
                               "get_conn http://127.0.0.1:1",
                               "dns_start 127.0.0.1",
                               "dns_done 127.0.0.1",
                               "connect_start 127.0.0.1:1",
                               "connect_done 127.0.0.1:1 error",
                           }));
  EXPECT_EQ(t.stats().dial_errors, 1u);
}

TEST_F(TransportTrace, ReportsConnectionsClosedByTheTransportsDestruction) {
  TestServer server;
  auto log = std::make_shared<TraceLog>();
  std::uint64_t id = 0;
  {
    Transport t(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));
    Result<Response> r = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(r);
    EXPECT_EQ(read_body(*r), "ok");
    id = r->conn.id;
    EXPECT_TRUE(log->closed().empty());
  }
  using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
  EXPECT_EQ(log->closed(), (Closed{{id, CloseReason::closed_by_user}}));
}

}  // namespace
}  // namespace nethttp::testing
