// One request and its response on one connection (pool/exchange.cc), seen
// from both ends: a Transport against in-process servers on 127.0.0.1 —
// TestServer for well-behaved exchanges, ScriptedServer for raw bytes,
// stalls and faults. Every test ends with a leak check: no connection in
// use once the responses are gone, and no fd left once the Transport and
// the servers are destroyed.
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"
#include "support/body_sources.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/scripted_server.h"
#include "support/test_server.h"
#include "support/wait.h"

namespace nethttp {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ExpectContinue;
using testing::FailingSource;
using testing::kSafetyDeadline;
using testing::kWait;
using testing::LeakCheckedTest;
using testing::LeakChecks;
using testing::pattern;
using testing::PatternSource;
using testing::Script;
using testing::ScriptedServer;
using testing::ServerRequest;
using testing::ServerResponse;
using testing::TestServer;
using testing::TestServerOptions;

/// The upload of the early-response tests: far more than the socket
/// buffers hold, so the client is still sending when the answer arrives.
constexpr std::size_t kLargeUploadBytes = std::size_t{8} << 20;

std::chrono::milliseconds ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

/// A request for `url` that the test may still adjust.
std::shared_ptr<Request> new_request(std::string method, const std::string& url, RequestBody body = {}) {
  Result<Request> made = make_request(std::move(method), url, std::move(body));
  if (!made) {
    ADD_FAILURE() << made.error().message();
    return std::make_shared<Request>();
  }
  return std::make_shared<Request>(std::move(made).value());
}

/// Counts the fields named `name` (any case) a server received.
std::size_t count_fields(const ServerRequest& request, std::string_view name) {
  return static_cast<std::size_t>(
      std::count_if(request.headers.begin(), request.headers.end(), [&](const auto& f) {
        return f.first.size() == name.size() &&
               std::equal(f.first.begin(), f.first.end(), name.begin(), [](char a, char b) {
                 return std::tolower(static_cast<unsigned char>(a)) ==
                        std::tolower(static_cast<unsigned char>(b));
               });
      }));
}

/// Owns the Transport and the servers of one test, and checks in TearDown
/// that nothing leaked: no connection in use once the test's responses are
/// gone, and every fd closed once the Transport and servers are destroyed.
class ExchangeTest : public LeakCheckedTest {
 protected:
  // The checks these tests always made: connections and fds (no wait for
  // dials, no thread count).
  ExchangeTest() : LeakCheckedTest(LeakChecks{.settle_dials = false, .threads = false}) {}

  TestServer& test_server(TestServer::Handler handler = {}, TestServerOptions options = {}) {
    return keep_server(std::make_shared<TestServer>(std::move(handler), std::move(options)));
  }
  ScriptedServer& scripted_server(std::vector<Script> scripts,
                                  Script fallback = ScriptedServer::ok_responder()) {
    return keep_server(std::make_shared<ScriptedServer>(std::move(scripts), std::move(fallback)));
  }

  /// Sends `request` and reads its whole body; fails the test on any error.
  std::string fetch(const std::shared_ptr<Request>& request, Response* out = nullptr) {
    Result<Response> response = transport().round_trip(request);
    if (!response) {
      ADD_FAILURE() << "round trip failed: " << response.error().message();
      return {};
    }
    Result<std::string> body = response->body.read_all();
    if (!body) {
      ADD_FAILURE() << "body read failed: " << body.error().message();
      return {};
    }
    if (out != nullptr) *out = std::move(*response);
    return *body;
  }
};

/// "reading response headers from 127.0.0.1:PORT: "
std::string head_step(const std::string& host_port) {
  return "reading response headers from " + host_port + ": ";
}

// ---------------------------------------------------------------------------
// A server that answers before the upload ends

TEST_F(ExchangeTest, ServerAnsweringEarlyDuringALargeUploadGivesItsResponseAndTheConnectionIsNotReused) {
  // The server reads the head only, answers 413 and holds the connection
  // without reading: the client's send buffer fills and it must notice the
  // answer instead of blocking forever on a write.
  ScriptedServer& server =
      scripted_server({Script()
                           .expect_request_head()
                           .send("HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n"
                                 "Connection: close\r\n\r\ntoo large")
                           .sleep(kWait)});
  Transport& t = make_transport();
  auto request =
      new_request("POST", server.url() + "/upload", RequestBody::from_string(pattern(kLargeUploadBytes)));
  request->deadline = Clock::now() + kSafetyDeadline;

  Result<Response> response = t.round_trip(request);
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->status, 413);
  Result<std::string> body = response->body.read_all();
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, "too large");
  EXPECT_EQ(t.stats().idle, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::not_reusable), 1u);

  // The next request goes on a new connection.
  Response next;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/next"), &next), "ok");
  EXPECT_FALSE(next.conn.reused);
  EXPECT_NE(next.conn.id, response->conn.id);
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(ExchangeTest, ServerAnsweringEarlyAndClosingDuringAFactoryUploadGivesItsResponse) {
  // The server answers 413 after the head and closes at once with the
  // upload unread in its buffer (what nginx does for client_max_body_size
  // when it gives up lingering): the kernel resets the connection, and the
  // 413 is already in the client's receive buffer when its write fails.
  ScriptedServer& server =
      scripted_server({Script()
                           .expect_request_head()
                           .send("HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n"
                                 "Connection: close\r\n\r\ntoo large")
                           .close()});
  Transport& t = make_transport();
  auto request =
      new_request("PUT", server.url() + "/upload",
                  RequestBody::from_factory([] { return std::make_unique<PatternSource>(kLargeUploadBytes); },
                                            static_cast<std::int64_t>(kLargeUploadBytes)));
  request->deadline = Clock::now() + kSafetyDeadline;

  Result<Response> response = t.round_trip(request);
  // The reset may arrive while the client is still writing: send() fails
  // with ECONNRESET/EPIPE, yet the 413 is readable and must be returned.
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->status, 413);
  Result<std::string> body = response->body.read_all();
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, "too large");
  EXPECT_EQ(t.stats().idle, 0u);

  Response next;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/next"), &next), "ok");
  EXPECT_FALSE(next.conn.reused);
}

// ---------------------------------------------------------------------------
// Expect: 100-continue

TEST_F(ExchangeTest, ExpectContinueSendsTheBodyAfterTheServersContinue) {
  TestServer& server = test_server([](const ServerRequest& request, ServerResponse& response) {
    response.set_body(std::to_string(request.body.size()));
  });
  std::mutex mu;
  std::vector<int> interim;
  TransportOptions options;
  options.expect_continue_timeout = 5s;  // the 100 must come well before it
  options.trace.got_interim_response = [&](std::uint64_t, int status) {
    const std::lock_guard lock(mu);
    interim.push_back(status);
  };
  make_transport(std::move(options));
  const std::string upload = pattern(300 << 10);
  auto request = new_request("POST", server.url() + "/upload", RequestBody::from_string(upload));
  request->header.set("Expect", "100-continue");

  const Clock::time_point start = Clock::now();
  EXPECT_EQ(fetch(request), std::to_string(upload.size()));
  EXPECT_LT(ms_since(start), 2s) << "waited for the expect-continue timeout despite the 100";
  {
    const std::lock_guard lock(mu);
    EXPECT_EQ(interim, std::vector<int>{100});
  }
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].header("Expect"), "100-continue");
  EXPECT_TRUE(server.requests()[0].body == upload) << "the body arrived altered";

  // The exchange completed normally: the connection is reused.
  Response next;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/next"), &next), "0");
  EXPECT_TRUE(next.conn.reused);
}

TEST_F(ExchangeTest, ExpectContinueAnsweredWithAFinalStatusDoesNotSendTheBody) {
  // After the 401 the script waits for a body; the client must not send
  // one, and closes the connection (the server may still expect it).
  ScriptedServer& server =
      scripted_server({Script()
                           .expect_request_head()
                           .send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\ndenied")
                           .expect_body()});
  TransportOptions options;
  options.expect_continue_timeout = 5s;
  make_transport(std::move(options));
  auto request = new_request("POST", server.url() + "/upload", RequestBody::from_string(pattern(100 << 10)));
  request->header.set("Expect", "100-continue");
  request->deadline = Clock::now() + kSafetyDeadline;

  const Clock::time_point start = Clock::now();
  Response response;
  EXPECT_EQ(fetch(request, &response), "denied");
  EXPECT_EQ(response.status, 401);
  EXPECT_LT(ms_since(start), 2s);

  // The server's expect_body() ends when the client closes the connection
  // without having sent a byte of the body.
  ASSERT_TRUE(server.wait_for_open_connections(0, kWait));
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].body_complete);
  EXPECT_EQ(seen[0].body, "");
  EXPECT_EQ(transport().stats().idle, 0u);
}

TEST_F(ExchangeTest, ExpectContinueAnsweredEarlyByTheTestServerGivesTheResponseWithoutTheUpload) {
  // TestServer's reply_early: the handler answers after the head alone,
  // then the server closes the connection.
  TestServerOptions server_options;
  server_options.expect_continue = ExpectContinue::reply_early;
  TestServer& server = test_server(
      [](const ServerRequest&, ServerResponse& response) {
        response.set_status(413);
        response.set_body("too large");
      },
      server_options);
  TransportOptions options;
  options.expect_continue_timeout = 5s;
  Transport& t = make_transport(std::move(options));
  auto request =
      new_request("PUT", server.url() + "/upload",
                  RequestBody::from_factory([] { return std::make_unique<PatternSource>(kLargeUploadBytes); },
                                            static_cast<std::int64_t>(kLargeUploadBytes)));
  request->header.set("Expect", "100-continue");
  request->deadline = Clock::now() + kSafetyDeadline;

  const Clock::time_point start = Clock::now();
  Response response;
  EXPECT_EQ(fetch(request, &response), "too large");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header.get("Connection"), "close");
  EXPECT_LT(ms_since(start), 2s);
  EXPECT_EQ(t.stats().idle, 0u);
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].body_complete);

  Response next;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/next"), &next), "too large");
  EXPECT_FALSE(next.conn.reused);
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(ExchangeTest, ExpectContinueIgnoredByTheServerSendsTheBodyAfterTheTimeout) {
  TestServerOptions server_options;
  server_options.expect_continue = ExpectContinue::ignore;
  TestServer& server =
      test_server([](const ServerRequest& request,
                     ServerResponse& response) { response.set_body(std::to_string(request.body.size())); },
                  server_options);
  TransportOptions options;
  options.expect_continue_timeout = 200ms;
  make_transport(std::move(options));
  const std::string upload = pattern(100 << 10);
  auto request = new_request("POST", server.url() + "/upload", RequestBody::from_string(upload));
  request->header.set("Expect", "100-continue");
  request->deadline = Clock::now() + kSafetyDeadline;

  const Clock::time_point start = Clock::now();
  EXPECT_EQ(fetch(request), std::to_string(upload.size()));
  const std::chrono::milliseconds took = ms_since(start);
  EXPECT_GE(took, 190ms) << "the body went out before the expect-continue timeout";
  EXPECT_LT(took, 3s);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(server.requests()[0].body == upload);
}

/// How long the interim-during-upload tests allow: their uploads take tens
/// of milliseconds; a client that stops sending waits for a response that
/// never comes.
constexpr auto kUploadDeadline = 2s;

TEST_F(ExchangeTest, ContinueArrivingAfterTheExpectTimeoutDoesNotStopTheUpload) {
  // The server sends its 100 late, after the client already started the
  // body, then reads the body and answers. The late 100 is an interim
  // response like any other: the client must keep sending.
  ScriptedServer& server = scripted_server({Script()
                                                .expect_request_head()
                                                .sleep(300ms)
                                                .send("HTTP/1.1 100 Continue\r\n\r\n")
                                                .expect_body()
                                                .respond("got it")});
  TransportOptions options;
  options.expect_continue_timeout = 50ms;
  make_transport(std::move(options));
  const std::string upload = pattern(kLargeUploadBytes);
  auto request = new_request("POST", server.url() + "/upload", RequestBody::from_string(upload));
  request->header.set("Expect", "100-continue");
  request->deadline = Clock::now() + kUploadDeadline;

  // A readable 100 during the upload is not an early final response: taking
  // it for one would stop the upload, and client and server would wait on
  // each other until the deadline.
  EXPECT_EQ(fetch(request), "got it");
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].body_complete);
  EXPECT_TRUE(seen[0].body == upload) << "the body arrived incomplete (" << seen[0].body.size() << " bytes)";
}

TEST_F(ExchangeTest, EarlyHintsDuringALargeUploadDoNotStopTheUpload) {
  // A 103 sent as soon as the head arrived, then the server reads the body
  // slowly enough for the client's send buffer to fill.
  ScriptedServer& server =
      scripted_server({Script()
                           .expect_request_head()
                           .send("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
                           .sleep(200ms)
                           .expect_body()
                           .respond("got it")});
  make_transport();
  auto request =
      new_request("PUT", server.url() + "/upload",
                  RequestBody::from_factory([] { return std::make_unique<PatternSource>(kLargeUploadBytes); },
                                            static_cast<std::int64_t>(kLargeUploadBytes)));
  request->deadline = Clock::now() + kUploadDeadline;

  // As above: a 103 during the upload must not stop it.
  EXPECT_EQ(fetch(request), "got it");
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].body_complete);
  EXPECT_EQ(seen[0].body.size(), kLargeUploadBytes);
}

TEST_F(ExchangeTest, DeadlineInterruptsAnUploadTheServerDoesNotRead) {
  ScriptedServer& server = scripted_server({Script().expect_request_head().sleep(kWait)});
  Transport& t = make_transport();
  auto request =
      new_request("POST", server.url() + "/upload", RequestBody::from_string(pattern(kLargeUploadBytes)));
  const Clock::time_point start = Clock::now();
  request->deadline = start + 300ms;
  Result<Response> response = t.round_trip(request);
  const std::chrono::milliseconds took = ms_since(start);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::timeout) << response.error().message();
  EXPECT_NE(response.error().message().find(server.host_port()), std::string::npos)
      << response.error().message();
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
}

// ---------------------------------------------------------------------------
// Timeouts and cancellation

// Under ASan and TSan, this test (like every test with a deadline) also
// guards the timer thread against reading a cancelled timer's entry.
TEST_F(ExchangeTest, ResponseHeaderTimeoutFailsTheRequestAndTheNextOneUsesAFreshConnection) {
  ScriptedServer& server = scripted_server({Script().expect_request().stall_until_closed()});
  TransportOptions options;
  options.response_header_timeout = 200ms;
  Transport& t = make_transport(std::move(options));

  const Clock::time_point start = Clock::now();
  Result<Response> response = t.round_trip(new_request("GET", server.url() + "/slow"));
  const std::chrono::milliseconds took = ms_since(start);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::timeout);
  EXPECT_NE(response.error().message().find("response header timeout"), std::string::npos)
      << response.error().message();
  EXPECT_NE(response.error().message().find(head_step(server.host_port())), std::string::npos)
      << response.error().message();
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait)) << "the timed-out connection was not closed";

  Response next;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/next"), &next), "ok");
  EXPECT_FALSE(next.conn.reused);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].connection_index, 1u);
}

TEST_F(ExchangeTest, RequestDeadlineInterruptsABodyReadThatStalls) {
  ScriptedServer& server = scripted_server({Script()
                                                .expect_request()
                                                .send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                                                .stall_until_closed()});
  Transport& t = make_transport();
  auto request = new_request("GET", server.url() + "/stall");
  const Clock::time_point start = Clock::now();
  request->deadline = start + 300ms;

  Result<Response> response = t.round_trip(request);
  ASSERT_TRUE(response) << response.error().message();
  Result<std::string> body = response->body.read_all();
  const std::chrono::milliseconds took = ms_since(start);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().kind(), ErrorKind::timeout) << body.error().message();
  EXPECT_NE(body.error().message().find("reading response body from " + server.host_port()),
            std::string::npos)
      << body.error().message();
  EXPECT_NE(body.error().message().find("deadline"), std::string::npos) << body.error().message();
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s) << "the deadline did not interrupt the read promptly";
  EXPECT_EQ(t.stats().in_use, 0u) << "the failed body still holds its connection";
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
}

TEST_F(ExchangeTest, CancelFromAnotherThreadInterruptsABlockedBodyReadPromptly) {
  ScriptedServer& server = scripted_server({Script()
                                                .expect_request()
                                                .send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                                                .stall_until_closed()});
  Transport& t = make_transport();
  std::stop_source stop;
  auto request = new_request("GET", server.url() + "/stall");
  request->cancel = stop.get_token();
  request->deadline = Clock::now() + kSafetyDeadline;

  Result<Response> response = t.round_trip(request);
  ASSERT_TRUE(response) << response.error().message();
  std::array<char, 64> buf{};
  Result<std::size_t> first = response->body.read(buf);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(std::string_view(buf.data(), *first), "partial");

  // The canceller gives the reader time to block in recv(); the latency is
  // measured from the stop request, whenever the read started.
  std::atomic<std::int64_t> stop_requested_ns{0};
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    stop_requested_ns.store(Clock::now().time_since_epoch().count());
    stop.request_stop();
  });
  Result<std::size_t> blocked = response->body.read(buf);
  const Clock::time_point returned = Clock::now();
  canceller.join();
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().kind(), ErrorKind::canceled) << blocked.error().message();
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
      returned - Clock::time_point(Clock::duration(stop_requested_ns.load())));
  std::printf("[ measure  ] cancellation latency of a blocked body read: %lld us\n",
              static_cast<long long>(latency.count()));
  RecordProperty("cancel_latency_us", std::to_string(latency.count()));
  EXPECT_LT(latency, 2s);
  EXPECT_EQ(t.stats().in_use, 0u);
}

// ---------------------------------------------------------------------------
// Interim responses

TEST_F(ExchangeTest, InterimResponsesAreSkippedAndOnlyTheFinalHeadersRemain) {
  TestServer& server = test_server([](const ServerRequest&, ServerResponse& response) {
    response.send_interim(100);
    response.send_interim(103, {{"Link", "</style.css>; rel=preload"}});
    response.add_header("X-Final", "yes");
    response.set_body("final");
  });
  std::mutex mu;
  std::vector<int> interim;
  TransportOptions options;
  options.trace.got_interim_response = [&](std::uint64_t, int status) {
    const std::lock_guard lock(mu);
    interim.push_back(status);
  };
  make_transport(std::move(options));

  Response response;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/hints"), &response), "final");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header.get("X-Final"), "yes");
  EXPECT_FALSE(response.header.has("Link")) << "a field of the 103 leaked into the final response";
  {
    const std::lock_guard lock(mu);
    EXPECT_EQ(interim, (std::vector<int>{100, 103}));
  }
  Response next;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/next"), &next), "final");
  EXPECT_TRUE(next.conn.reused);
}

// ---------------------------------------------------------------------------
// Malformed responses: the right kind, and a message naming step and peer

TEST_F(ExchangeTest, MalformedStatusLineIsAProtocolErrorNamingThePeer) {
  ScriptedServer& server =
      scripted_server({Script().expect_request().send("HTTP/1.1 2x0 OK\r\n\r\n").stall_until_closed()});
  Transport& t = make_transport();
  Result<Response> response = t.round_trip(new_request("GET", server.url() + "/"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::protocol);
  EXPECT_TRUE(response.error().message().starts_with(head_step(server.host_port())))
      << response.error().message();
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
}

TEST_F(ExchangeTest, TruncatedHeadIsAnIoErrorNamingThePeer) {
  ScriptedServer& server = scripted_server(
      {Script().expect_request().close_after("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 20)});
  Transport& t = make_transport();
  Result<Response> response = t.round_trip(new_request("GET", server.url() + "/"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::io);
  EXPECT_TRUE(response.error().message().starts_with(head_step(server.host_port())))
      << response.error().message();
  EXPECT_NE(response.error().message().find("inside the response head"), std::string::npos)
      << response.error().message();
}

TEST_F(ExchangeTest, TruncatedContentLengthBodyFailsWhenTheBodyIsRead) {
  ScriptedServer& server = scripted_server(
      {Script().expect_request().send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").close()});
  Transport& t = make_transport();
  Result<Response> response = t.round_trip(new_request("GET", server.url() + "/"));
  ASSERT_TRUE(response) << "the head is fine: " << response.error().message();
  EXPECT_EQ(response->content_length, 10);
  Result<std::string> body = response->body.read_all();
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().kind(), ErrorKind::body);
  EXPECT_TRUE(body.error().message().starts_with("reading response body from " + server.host_port() + ": "))
      << body.error().message();
  EXPECT_NE(body.error().message().find("3 of 10"), std::string::npos) << body.error().message();
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
}

TEST_F(ExchangeTest, MalformedChunkIsABodyError) {
  ScriptedServer& server =
      scripted_server({Script()
                           .expect_request()
                           .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
                           .stall_until_closed()});
  Transport& t = make_transport();
  Result<Response> response = t.round_trip(new_request("GET", server.url() + "/"));
  ASSERT_TRUE(response) << response.error().message();
  Result<std::string> body = response->body.read_all();
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().kind(), ErrorKind::body);
  EXPECT_TRUE(body.error().message().starts_with("reading response body from " + server.host_port() + ": "))
      << body.error().message();
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
}

TEST_F(ExchangeTest, ResponseHeadOverTheLimitIsHeaderTooLarge) {
  const std::string big_field = "X-Big: " + std::string(2000, 'b') + "\r\n";
  ScriptedServer& server =
      scripted_server({Script()
                           .expect_request()
                           .send("HTTP/1.1 200 OK\r\n" + big_field + "Content-Length: 2\r\n\r\nok")
                           .stall_until_closed()});
  TransportOptions options;
  options.max_response_header_bytes = 1024;
  Transport& t = make_transport(std::move(options));
  Result<Response> response = t.round_trip(new_request("GET", server.url() + "/"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::header_too_large);
  EXPECT_TRUE(response.error().message().starts_with(head_step(server.host_port())))
      << response.error().message();
}

/// Serves `reply` to every request on a connection, so that a client that
/// wrongly reuses the connection gets an answer (and the test a clear failure).
Script answer_each_request_with(std::string reply) {
  return Script().expect_request().send(std::move(reply)).repeat();
}

/// The first request gets `reply` on connection 0; the test checks that the
/// connection is closed after it and the second request uses a new one.
class NotReusedTest : public ExchangeTest {
 protected:
  void expect_not_reused(const std::string& reply, std::string_view body, CloseReason reason) {
    ScriptedServer& server = scripted_server({answer_each_request_with(reply)});
    Transport& t = make_transport();
    Response first;
    EXPECT_EQ(fetch(new_request("GET", server.url() + "/first"), &first), body);
    EXPECT_EQ(t.stats().idle, 0u);
    EXPECT_EQ(t.stats().closed_for(reason), 1u) << "closed for another reason than " << to_string(reason);

    Response second;
    EXPECT_EQ(fetch(new_request("GET", server.url() + "/second"), &second), "ok");
    EXPECT_FALSE(second.conn.reused);
    EXPECT_NE(second.conn.id, first.conn.id);
    const std::vector<ServerRequest> seen = server.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].connection_index, 1u);
  }
};

TEST_F(NotReusedTest, ContentLengthWithTransferEncodingIsReadButTheConnectionIsNotReused) {
  expect_not_reused(
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "abc", CloseReason::not_reusable);
}

TEST_F(NotReusedTest, BytesAfterTheResponseMeanTheConnectionIsNotReused) {
  // Two responses to one request, in one write.
  expect_not_reused(
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\noneHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo", "one",
      CloseReason::unsolicited_bytes);
}

TEST_F(NotReusedTest, Http10ResponseWithoutKeepAliveIsNotReused) {
  expect_not_reused("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", "old", CloseReason::not_reusable);
}

TEST_F(NotReusedTest, ConnectionCloseResponseIsNotReused) {
  expect_not_reused("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye", "bye",
                    CloseReason::not_reusable);
}

TEST_F(NotReusedTest, SwitchingProtocolsResponseIsNotReused) {
  expect_not_reused("HTTP/1.1 101 Switching Protocols\r\nUpgrade: other\r\nConnection: Upgrade\r\n\r\n", "",
                    CloseReason::not_reusable);
}

TEST_F(ExchangeTest, Http10ResponseWithKeepAliveIsReused) {
  ScriptedServer& server = scripted_server(
      {answer_each_request_with("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok")});
  make_transport();
  Response first;
  Response second;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/first"), &first), "ok");
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/second"), &second), "ok");
  EXPECT_TRUE(second.conn.reused);
  EXPECT_EQ(second.conn.id, first.conn.id);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

// ---------------------------------------------------------------------------
// The request as the server sees it

TEST_F(ExchangeTest, DefaultUserAgentIsAddedUnlessTheCallerSetOne) {
  TestServer& server = test_server();
  TransportOptions options;
  options.user_agent = "nethttp-test/9";
  make_transport(std::move(options));
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/default")), "ok");
  auto own = new_request("GET", server.url() + "/own");
  own->header.set("user-agent", "mine/1");
  EXPECT_EQ(fetch(own), "ok");

  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("User-Agent"), "nethttp-test/9");
  EXPECT_EQ(count_fields(seen[0], "User-Agent"), 1u);
  EXPECT_EQ(seen[1].header("User-Agent"), "mine/1");
  EXPECT_EQ(count_fields(seen[1], "User-Agent"), 1u) << seen[1].raw;
}

TEST_F(ExchangeTest, EmptyUserAgentOptionAddsNone) {
  TestServer& server = test_server();
  TransportOptions options;
  options.user_agent.clear();
  make_transport(std::move(options));
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/")), "ok");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(count_fields(server.requests()[0], "User-Agent"), 0u) << server.requests()[0].raw;
}

TEST_F(ExchangeTest, HostFieldCarriesTheNonDefaultPortAndComesFirst) {
  TestServer& server = test_server();
  make_transport();
  auto request = new_request("GET", server.url() + "/path?q=1");
  request->header.set("Host", "ignored.example");  // derived by the transport, as in Go
  EXPECT_EQ(fetch(request), "ok");
  ASSERT_EQ(server.requests().size(), 1u);
  const ServerRequest seen = server.requests().at(0);
  EXPECT_EQ(seen.target, "/path?q=1");
  EXPECT_EQ(seen.header("Host"), server.host_port());
  EXPECT_EQ(count_fields(seen, "Host"), 1u) << seen.raw;
  ASSERT_FALSE(seen.headers.empty());
  EXPECT_EQ(seen.headers.front().first, "Host");
}

TEST_F(ExchangeTest, BytesBodyIsSentWithItsContentLength) {
  TestServer& server = test_server();
  make_transport();
  auto request = new_request("POST", server.url() + "/form", RequestBody::from_string("hello"));
  request->header.set("Content-Length", "999");  // derived by the transport
  EXPECT_EQ(fetch(request), "ok");
  ASSERT_EQ(server.requests().size(), 1u);
  const ServerRequest seen = server.requests().at(0);
  EXPECT_EQ(seen.header("Content-Length"), "5");
  EXPECT_EQ(count_fields(seen, "Content-Length"), 1u) << seen.raw;
  EXPECT_FALSE(seen.header("Transfer-Encoding"));
  EXPECT_FALSE(seen.chunked);
  EXPECT_EQ(seen.body, "hello");
}

TEST_F(ExchangeTest, StreamOfUnknownLengthIsSentChunkedAndTheServerDecodesIt) {
  TestServer& server = test_server();
  make_transport();
  constexpr std::size_t kSize = 100'000;
  auto request = new_request("POST", server.url() + "/stream",
                             RequestBody::from_stream(std::make_unique<PatternSource>(kSize, 1000)));
  EXPECT_EQ(request->body.length(), -1);
  EXPECT_EQ(fetch(request), "ok");
  ASSERT_EQ(server.requests().size(), 1u);
  const ServerRequest seen = server.requests().at(0);
  EXPECT_TRUE(seen.chunked);
  EXPECT_EQ(seen.header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(seen.header("Content-Length"));
  EXPECT_TRUE(seen.body == pattern(kSize))
      << "the chunked body arrived altered (" << seen.body.size() << " bytes)";
}

TEST_F(ExchangeTest, PostWithoutABodySendsContentLengthZero) {
  TestServer& server = test_server();
  make_transport();
  EXPECT_EQ(fetch(new_request("POST", server.url() + "/empty")), "ok");
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/get")), "ok");
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("Content-Length"), "0");
  EXPECT_FALSE(seen[0].header("Transfer-Encoding"));
  EXPECT_FALSE(seen[1].header("Content-Length")) << "a GET without a body got framing fields";
  EXPECT_FALSE(seen[1].header("Transfer-Encoding"));
}

TEST_F(ExchangeTest, RequestCloseSendsConnectionCloseAndTheConnectionIsNotReused) {
  TestServer& server = test_server();
  Transport& t = make_transport();
  auto request = new_request("GET", server.url() + "/once");
  request->close = true;
  Response first;
  EXPECT_EQ(fetch(request, &first), "ok");
  EXPECT_EQ(t.stats().idle, 0u);
  Response second;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/again"), &second), "ok");
  EXPECT_FALSE(second.conn.reused);
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].has_token("Connection", "close"));
  EXPECT_FALSE(seen[1].has_token("Connection", "close"));
  EXPECT_EQ(seen[1].connection_index, 1u);
}

TEST_F(ExchangeTest, RequestHostOverridesTheHostField) {
  TestServer& server = test_server();
  make_transport();
  auto request = new_request("GET", server.url() + "/vhost");
  request->host = "virtual.example:8080";
  EXPECT_EQ(fetch(request), "ok");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].header("Host"), "virtual.example:8080");
}

TEST_F(ExchangeTest, RequestBodySourceErrorFailsTheRequestAndClosesTheConnection) {
  TestServer& server = test_server();
  Transport& t = make_transport();
  auto request = new_request("POST", server.url() + "/upload",
                             RequestBody::from_stream(std::make_unique<FailingSource>(100'000), 200'000));
  request->deadline = Clock::now() + kSafetyDeadline;
  Result<Response> response = t.round_trip(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::io);
  EXPECT_NE(response.error().message().find("reading upload.bin: Input/output error"), std::string::npos)
      << response.error().message();
  EXPECT_EQ(response.error().sys_errno(), 5);
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
  EXPECT_EQ(t.stats().idle, 0u);
  // The server got a head promising 200000 bytes and half of them: it must
  // see the connection end, not a next request.
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(ExchangeTest, RequestBodyShorterThanItsDeclaredLengthIsAnInvalidRequestAndClosesTheConnection) {
  TestServer& server = test_server();
  Transport& t = make_transport();
  auto request = new_request(
      "PUT", server.url() + "/upload",
      RequestBody::from_factory([] { return std::make_unique<PatternSource>(1000); }, std::int64_t{5000}));
  request->deadline = Clock::now() + kSafetyDeadline;
  Result<Response> response = t.round_trip(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::invalid_request) << response.error().message();
  EXPECT_NE(response.error().message().find("1000 of 5000"), std::string::npos) << response.error().message();
  EXPECT_EQ(t.stats().idle, 0u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(ExchangeTest, HeaderValueWithCrLfIsRejectedBeforeAnythingIsSentAndKeepsTheIdleConnection) {
  TestServer& server = test_server();
  Transport& t = make_transport();
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/first")), "ok");
  ASSERT_EQ(t.stats().idle, 1u);

  auto bad = new_request("GET", server.url() + "/bad");
  bad->header.add("X-Bad", "a\r\nInjected: yes");
  Result<Response> response = t.round_trip(bad);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::invalid_request);
  EXPECT_EQ(t.stats().idle, 1u) << "the idle connection was wasted on a request that was never sent";

  // The same connection carries the next request, and the server saw
  // nothing of the rejected one in between.
  Response next;
  EXPECT_EQ(fetch(new_request("GET", server.url() + "/next"), &next), "ok");
  EXPECT_TRUE(next.conn.reused);
  EXPECT_EQ(t.stats().dials, 1u);
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].target, "/next");
  EXPECT_EQ(seen[1].connection_index, 0u);
  EXPECT_EQ(seen[1].exchange_index, 1u);
  for (const ServerRequest& r : seen) EXPECT_EQ(r.raw.find("Injected"), std::string::npos) << r.raw;
}

TEST_F(ExchangeTest, HeaderValueWithCrLfIsRejectedWithoutDialing) {
  // Go validates header fields before getting a connection. Here nobody
  // listens on the port: the request is invalid whatever the network does.
  std::uint16_t port = 0;
  {
    ScriptedServer closed_soon(std::vector<Script>{});
    port = closed_soon.port();
  }
  Transport& t = make_transport();
  auto bad = new_request("GET", "http://127.0.0.1:" + std::to_string(port) + "/bad");
  bad->header.add("X-Bad", "a\nb");
  bad->deadline = Clock::now() + kSafetyDeadline;
  Result<Response> response = t.round_trip(bad);
  ASSERT_FALSE(response);
  // The head is checked before a connection is taken: an unreachable host
  // must not turn an invalid request into a connect error.
  EXPECT_EQ(response.error().kind(), ErrorKind::invalid_request) << response.error().message();
  EXPECT_EQ(t.stats().dials + t.stats().dial_errors, 0u) << "a connection was dialed for an invalid request";
}

// ---------------------------------------------------------------------------
// Trailers

TEST_F(ExchangeTest, TrailersOfAChunkedResponseAreAvailableAfterTheEnd) {
  TestServer& server = test_server([](const ServerRequest&, ServerResponse& response) {
    response.add_trailer("X-Checksum", "abc123");
    response.add_trailer("X-Count", "2");
    response.write("first,");
    response.write("second");
  });
  Transport& t = make_transport();
  Result<Response> response = t.round_trip(new_request("GET", server.url() + "/trailers"));
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->content_length, -1);
  EXPECT_TRUE(response->trailers().empty()) << "trailers before the body was read";
  Result<std::string> body = response->body.read_all();
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, "first,second");
  EXPECT_TRUE(response->body.at_end());
  EXPECT_EQ(response->trailers().get("x-checksum"), "abc123");
  EXPECT_EQ(response->trailers().get("X-Count"), "2");
  EXPECT_FALSE(response->header.has("X-Checksum")) << "a trailer was merged into the header";
  EXPECT_EQ(t.stats().idle, 1u) << "the connection did not go back to the pool at the end of the body";
}

}  // namespace
}  // namespace nethttp
