// Transport::round_trip() end to end: the retry of a request that failed on
// a stale connection, keep-alives switched off, and the exchanges that leave
// a connection unusable.
#include "nethttp/transport.h"

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "net/fd.h"
#include "support/scripted_server.h"
#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class TransportRetry : public LeakCheckedTest {};
class TransportReuse : public LeakCheckedTest {};

/// Serves fixed bytes once.
class BytesSource final : public BodySource {
 public:
  explicit BytesSource(std::string bytes) : bytes_(std::move(bytes)) {}
  Result<std::size_t> read(std::span<char> buf) override {
    const std::size_t n = std::min(buf.size(), bytes_.size() - offset_);
    std::memcpy(buf.data(), bytes_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::string bytes_;
  std::size_t offset_ = 0;
};

/// Connection 0 answers one request, then closes as the second arrives (the
/// server's idle timeout racing the client's write); later connections
/// answer "ok".
Script answers_once_then_closes() {
  return Script().expect_request().respond("first").expect_request().close();
}

TEST_F(TransportRetry, RetriesAGetThatFailedOnAReusedConnectionOnceOnANewOne) {
  ScriptedServer server({answers_once_then_closes()});
  auto log = std::make_shared<TraceLog>();
  Transport& t = make_transport(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));
  const std::string url = server.url() + "/x";
  Result<Response> first = t.round_trip(get_req(url));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "first");

  Result<Response> second = t.round_trip(get_req(url));
  ASSERT_OK(second);
  EXPECT_EQ(read_body(*second), "ok");
  EXPECT_FALSE(second->conn.reused);
  EXPECT_NE(second->conn.id, first->conn.id);

  const TransportStats s = t.stats();
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.dials, 2u);
  EXPECT_EQ(s.closed_for(CloseReason::error), 1u);
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].connection_index, 0u);
  EXPECT_EQ(requests[1].exchange_index, 1u);
  EXPECT_EQ(requests[2].connection_index, 1u);
  EXPECT_EQ(requests[2].target, "/x");
  using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
  EXPECT_EQ(log->closed(), (Closed{{first->conn.id, CloseReason::error}}));
}

TEST_F(TransportRetry, RetriesWhateverWayTheStaleConnectionFailsAndWithinTheHostLimit) {
  struct Case {
    std::string_view name;
    Script script;
    int max_conns_per_host;
  };
  const Case cases[] = {
      {"closed (FIN) as the request arrives", answers_once_then_closes(), 0},
      {"reset as the request arrives", Script().expect_request().respond("first").expect_request().reset(),
       0},
      {"closed, with one connection allowed per host", answers_once_then_closes(), 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScriptedServer server({c.script});
    Transport t(options([&](TransportOptions& o) { o.max_conns_per_host = c.max_conns_per_host; }));
    Result<Response> first = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(first);
    EXPECT_EQ(read_body(*first), "first");
    Result<Response> second = t.round_trip(get_req(
        server.url() + "/", [](Request& r) { r.deadline = std::chrono::steady_clock::now() + kWait; }));
    ASSERT_OK(second);
    EXPECT_EQ(read_body(*second), "ok");
    EXPECT_EQ(t.stats().retries, 1u);
    EXPECT_EQ(server.connections_accepted(), 2u);
  }
}

TEST_F(TransportRetry, RetriesOtherMethodsOnlyWithAnIdempotencyKeyAndAReplayableBody) {
  enum class Body { none, string, factory, stream };
  struct Case {
    std::string_view name;
    std::string_view method;
    std::string_view key_field;  ///< empty: none
    Body body;
    bool retried;
  };
  const Case cases[] = {
      {"POST without a key", "POST", "", Body::string, false},
      {"PUT without a key", "PUT", "", Body::string, false},
      {"DELETE without a key", "DELETE", "", Body::none, false},
      {"POST with Idempotency-Key and a string body", "POST", "Idempotency-Key", Body::string, true},
      {"POST with X-Idempotency-Key and a string body", "POST", "X-Idempotency-Key", Body::string, true},
      {"POST with Idempotency-Key and a factory body", "POST", "Idempotency-Key", Body::factory, true},
      {"POST with Idempotency-Key and a one-shot stream", "POST", "Idempotency-Key", Body::stream, false},
      {"HEAD", "HEAD", "", Body::none, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScriptedServer server({answers_once_then_closes()});
    Transport t;
    Result<Response> first = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(first);
    EXPECT_EQ(read_body(*first), "first");

    RequestBody body;
    switch (c.body) {
      case Body::none: break;
      case Body::string: body = RequestBody::from_string("payload"); break;
      case Body::factory:
        body = RequestBody::from_factory([] { return std::make_unique<BytesSource>("payload"); }, 7);
        break;
      case Body::stream: body = RequestBody::from_stream(std::make_unique<BytesSource>("payload"), 7); break;
    }
    Result<Response> r =
        t.round_trip(make_req(std::string(c.method), server.url() + "/p", std::move(body), [&](Request& q) {
          if (!c.key_field.empty()) q.header.add(c.key_field, "k-1");
        }));
    EXPECT_EQ(t.stats().retries, c.retried ? 1u : 0u);
    if (c.retried) {
      ASSERT_OK(r);
      EXPECT_EQ(r->status, 200);
      EXPECT_FALSE(r->conn.reused);
      const std::vector<ServerRequest> requests = server.requests();
      ASSERT_EQ(requests.size(), 3u);
      EXPECT_EQ(requests[2].connection_index, 1u);
      EXPECT_EQ(requests[2].method, c.method);
      EXPECT_EQ(requests[2].body, requests[1].body) << "the same body, sent again";
      EXPECT_EQ(read_body(*r), c.method == "HEAD" ? "" : "ok");
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind(), ErrorKind::io) << r.error().message();
      EXPECT_EQ(server.connections_accepted(), 1u);
    }
    EXPECT_EQ(t.stats().in_use, 0u);
  }
}

TEST_F(TransportRetry, DoesNotRetryOnceResponseBytesArrived) {
  ScriptedServer server({
      Script().expect_request().respond("first").expect_request().close_after(
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 20),
  });
  Transport& t = make_transport();
  Result<Response> first = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "first");

  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::io) << r.error().message();
  EXPECT_EQ(t.stats().retries, 0u);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(TransportRetry, DoesNotRetryAFailureOnAFreshConnection) {
  ScriptedServer server({Script().expect_request().close()});
  Transport& t = make_transport();
  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::io);
  EXPECT_EQ(t.stats().retries, 0u);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(TransportRetry, RetriesAtMostOnce) {
  ScriptedServer server({answers_once_then_closes(), Script().expect_request().close()});
  Transport& t = make_transport();
  Result<Response> first = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "first");

  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::io);
  EXPECT_EQ(t.stats().retries, 1u);
  EXPECT_EQ(server.connections_accepted(), 2u);
}

// A connection parked by a dial whose requester gave up, then taken from
// the idle pool, may have been closed by the server while idle just like a
// used one: a request failing on it before any response byte is retried
// (Go marks every pooled connection reused).
TEST_F(TransportRetry, RetriesARequestThatFailedOnAnIdleConnectionThatNeverCarriedOne) {
  // Connection 0 closes as soon as it receives a request; later ones answer "ok".
  ScriptedServer server({Script().expect_request().close()});
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1);
  Transport& t = make_transport(options([&](TransportOptions& o) { o.dial = GatedDialer::func(dialer); }));
  const std::string url = server.url() + "/";
  Result<Response> gave_up =
      t.round_trip(get_req(url, [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 100ms; }));
  ASSERT_FALSE(gave_up.ok());
  dialer->release.open();
  ASSERT_TRUE(wait_for([&] { return t.stats().idle == 1; }));  // connection 0, parked unused

  Result<Response> r = t.round_trip(get_req(url));
  EXPECT_EQ(t.stats().retries, 1u);
  ASSERT_OK(r);
  EXPECT_EQ(read_body(*r), "ok");
  EXPECT_EQ(server.connections_accepted(), 2u);
}

// ---------------------------------------------------------------- keep-alive off

// A fresh connection is probed before its first request: bytes already
// waiting (a banner, a response to no request) are a protocol error, never
// the response, and the request is not written after them.
TEST_F(TransportReuse, BytesWaitingOnAFreshConnectionAreAnErrorNotTheResponse) {
  net::Fd early_peer;
  std::unique_ptr<AnsweringPeer> later_peer;
  Transport& t = make_transport(options([&](TransportOptions& o) {
    o.dial = [&](const DialRequest&) -> Result<int> {
      if (early_peer.get() < 0) {
        int fds[2] = {-1, -1};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
          return Error(ErrorKind::connect, "socketpair");
        early_peer = net::Fd(fds[1]);
        EXPECT_TRUE(write_all(fds[1], "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly"));
        return fds[0];
      }
      Result<SocketPair> pair = socketpair_answering(kOk);
      if (!pair) return pair.error();
      later_peer = std::move(pair->server);
      return pair->client;
    };
  }));
  Result<Response> first = t.round_trip(get_req("http://origin.test/"));
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().kind(), ErrorKind::protocol);
  EXPECT_NE(first.error().message().find("before any request"), std::string::npos) << first.error().message();
  std::array<char, 1> byte{};
  EXPECT_LE(::recv(early_peer.get(), byte.data(), byte.size(), MSG_DONTWAIT), 0) << "the request was written";

  Result<Response> second = t.round_trip(get_req("http://origin.test/"));
  ASSERT_OK(second);
  EXPECT_EQ(read_body(*second), "ok");
  EXPECT_FALSE(second->conn.reused);
  EXPECT_EQ(t.stats().dials, 2u);
}

TEST_F(TransportReuse, DisableKeepAlivesSendsConnectionCloseAndUsesEachConnectionOnce) {
  TestServer server;
  Transport& t = make_transport(options([&](TransportOptions& o) { o.disable_keep_alives = true; }));
  for (int i = 0; i < 3; ++i) {
    Result<Response> r = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(r);
    EXPECT_FALSE(r->conn.reused);
    EXPECT_EQ(read_body(*r), "ok");
    EXPECT_EQ(t.stats().idle, 0u);
  }
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const ServerRequest& r : requests) {
    EXPECT_TRUE(r.has_token("Connection", "close")) << r.raw;
    EXPECT_EQ(r.exchange_index, 0u);
  }
  EXPECT_EQ(server.connections_accepted(), 3u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::not_reusable), 3u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST_F(TransportReuse, ARequestWithCloseSetEndsItsConnectionOnly) {
  TestServer server;
  Transport& t = make_transport();
  Result<Response> closing = t.round_trip(get_req(server.url() + "/", [](Request& r) { r.close = true; }));
  ASSERT_OK(closing);
  EXPECT_EQ(read_body(*closing), "ok");
  EXPECT_EQ(t.stats().idle, 0u);
  Result<Response> normal = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(normal);
  EXPECT_EQ(read_body(*normal), "ok");
  EXPECT_EQ(t.stats().idle, 1u);
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].has_token("Connection", "close"));
  EXPECT_FALSE(requests[1].has_token("Connection", "close"));
}

// What a round trip prepares per thread (its origin and head) is not
// clobbered by another round trip a hook starts on the same thread.
TEST_F(TransportReuse, ARoundTripStartedFromAHookOnTheSameThreadLeavesTheOuterOneIntact) {
  TestServer outer_server;
  TestServer inner_server;
  bool started_inner = false;
  Transport* transport = nullptr;
  transport = &make_transport(options([&](TransportOptions& o) {
    o.trace.got_conn = [&](std::uint64_t, bool, bool, std::chrono::nanoseconds) {
      if (std::exchange(started_inner, true)) return;
      Result<Response> r = transport->round_trip(get_req(inner_server.url() + "/inner/path/that/is/long"));
      ASSERT_OK(r);
      EXPECT_EQ(read_body(*r), "ok");
    };
  }));
  Result<Response> r = transport->round_trip(get_req(outer_server.url() + "/outer"));
  ASSERT_OK(r);
  EXPECT_EQ(read_body(*r), "ok");
  ASSERT_TRUE(started_inner);
  ASSERT_EQ(outer_server.requests().size(), 1u);
  EXPECT_EQ(outer_server.requests()[0].target, "/outer");
  EXPECT_EQ(outer_server.requests()[0].header("Host"), outer_server.host_port());
  ASSERT_EQ(inner_server.requests().size(), 1u);
  EXPECT_EQ(inner_server.requests()[0].target, "/inner/path/that/is/long");
  EXPECT_EQ(transport->stats().idle, 2u);
}

TEST_F(TransportReuse, KeepsAConnectionOnlyWhenTheResponseAllowsIt) {
  struct Case {
    std::string_view name;
    std::string response;
    bool close_after;  ///< the server closes after sending it (until-close framing)
    std::optional<CloseReason> reason;
  };
  const Case cases[] = {
      {"HTTP/1.1 with Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, std::nullopt},
      {"HTTP/1.1 chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false,
       std::nullopt},
      {"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false,
       CloseReason::not_reusable},
      {"HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
       CloseReason::not_reusable},
      {"HTTP/1.0 with keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
       false, std::nullopt},
      {"body until close", "HTTP/1.1 200 OK\r\n\r\nok", true, CloseReason::not_reusable},
      {"Transfer-Encoding with Content-Length",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
       false, CloseReason::not_reusable},
      {"a second response nobody asked for",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
       CloseReason::unsolicited_bytes},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Script script = Script().expect_request().send(c.response);
    if (c.close_after) {
      script.close();
    } else {
      script.repeat();
    }
    ScriptedServer server({}, script);
    Transport t;
    Result<Response> first = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(first);
    EXPECT_EQ(read_body(*first), "ok");
    const TransportStats s = t.stats();
    EXPECT_EQ(s.idle, c.reason ? 0u : 1u);
    if (c.reason) {
      EXPECT_EQ(s.closed_for(*c.reason), 1u);
    }

    Result<Response> second = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(second);
    EXPECT_EQ(read_body(*second), "ok");
    EXPECT_EQ(second->conn.reused, !c.reason);
    EXPECT_EQ(server.connections_accepted(), c.reason ? 2u : 1u);
  }
}

}  // namespace
}  // namespace nethttp::testing
