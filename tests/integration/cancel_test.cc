// Cancellation and timeouts through the Client, one test per place a request
// can block: waiting for a dial (DNS), a connect in progress, writing the
// request, waiting for the response head, reading the body (plain and
// decoded), waiting for a pool slot. Each test cancels from another thread
// once the request is blocked there, prints the latency from the stop
// request to the return ("[ measure  ]" lines, also RecordProperty), and
// checks that the pool is left consistent: nothing in use, the connection
// closed, and a request queued behind the cancelled one served.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "support/async_round_trip.h"
#include "support/body_sources.h"
#include "support/dead_ports.h"
#include "support/dialers.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/scripted_server.h"
#include "support/wait.h"

namespace nethttp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::Gate;
using testing::GatedDialer;
using testing::kWait;
using testing::LeakCheckedTest;
using testing::PatternSource;
using testing::Script;
using testing::ScriptedServer;
using testing::UnansweredListener;
using testing::wait_for;
using testing::with_safety_deadline;

/// Bound on a cancellation's latency in these tests: far above what it
/// takes (docs/BENCHMARKS.md has the measured figures), far below a hang.
constexpr auto kPrompt = 1s;

/// The body of the upload tests: far more than socket buffers hold.
constexpr std::uint64_t kUploadBytes = std::uint64_t{64} << 20;

/// Answers with a head announcing 100 bytes and 7 of them, then sends
/// nothing more until the client closes.
Script partial_body_then_stall() {
  return Script()
      .expect_request()
      .send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
      .stall_until_closed();
}

/// What a cancelled call returned, and how long after the stop request.
template <class R>
struct Canceled {
  R result;
  std::chrono::microseconds latency;
};

/// Runs `call` on this thread while another waits until `blocked()` holds,
/// gives the call a moment to block in the kernel, and requests `stop`.
template <class Call>
auto cancel_when_blocked(std::stop_source& stop, const std::function<bool()>& blocked, Call&& call)
    -> Canceled<decltype(call())> {
  std::atomic<std::int64_t> stop_requested{0};
  std::thread canceller([&] {
    EXPECT_TRUE(wait_for(blocked)) << "the request never got to the step to cancel";
    std::this_thread::sleep_for(50ms);
    stop_requested.store(Clock::now().time_since_epoch().count());
    stop.request_stop();
  });
  auto result = call();
  const Clock::time_point returned = Clock::now();
  canceller.join();
  const Clock::time_point requested{Clock::duration(stop_requested.load())};
  return {std::move(result), std::chrono::duration_cast<std::chrono::microseconds>(returned - requested)};
}

/// Sends on its own thread (the waiter queued behind a cancelled request).
class Waiter {
 public:
  Waiter(Client& client, Request request)
      : thread_([&client, this, request = std::move(request)]() mutable {
          result_ = client.send(std::move(request));
          if (result_) body_ = result_->body.read_all().value_or("(body failed)");
          done_.open();
        }) {}
  ~Waiter() {
    if (thread_.joinable()) thread_.join();
  }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  /// The body it got, or "error: <message>".
  std::string outcome() {
    if (!done_.wait()) return "still waiting";
    thread_.join();
    return result_ ? body_ : "error: " + result_.error().message();
  }

 private:
  Result<Response> result_ = Error(ErrorKind::io, "not sent");
  std::string body_;
  Gate done_;
  std::thread thread_;
};

class ClientCancel : public LeakCheckedTest {
 protected:
  /// A client over the test's transport (which the fixture owns).
  Client& make_client(TransportOptions options = {}, ClientOptions policy = {}) {
    client_ =
        std::make_unique<Client>(testing::borrow(make_transport(std::move(options))), std::move(policy));
    return *client_;
  }
  /// A ScriptedServer: connection i plays scripts[i], later ones answer 200 "ok".
  ScriptedServer& scripted_server(std::vector<Script> scripts = {}) {
    return keep_server(std::make_shared<ScriptedServer>(std::move(scripts)));
  }

  /// A request with the test's stop token and a safety deadline.
  Request request(const std::string& method, const std::string& url, RequestBody body = {}) {
    Request made = uncancelable(method, url, std::move(body));
    made.cancel = stop_.get_token();
    return made;
  }
  /// One the test's stop token does not cancel (a waiter's).
  static Request uncancelable(const std::string& method, const std::string& url, RequestBody body = {}) {
    Result<Request> made = make_request(method, url, std::move(body));
    EXPECT_TRUE(made) << made.error().message();
    with_safety_deadline(*made);
    return *std::move(made);
  }

  template <class R>
  void expect_canceled(const char* step, const Canceled<R>& canceled, std::string_view message_part) {
    ASSERT_FALSE(canceled.result) << step << ": the call succeeded";
    EXPECT_EQ(canceled.result.error().kind(), ErrorKind::canceled) << canceled.result.error().message();
    EXPECT_NE(canceled.result.error().message().find(message_part), std::string::npos)
        << canceled.result.error().message();
    std::printf("[ measure  ] cancellation latency, %s: %lld us\n", step,
                static_cast<long long>(canceled.latency.count()));
    RecordProperty(std::string("cancel_latency_us.") + step, std::to_string(canceled.latency.count()));
    EXPECT_LT(canceled.latency, kPrompt) << step;
  }

  /// For cancel_when_blocked(): once `server` has the request to cancel,
  /// queues another one behind it (max_conns_per_host 1) in `waiter`; holds
  /// once that one waits.
  std::function<bool()> queue_behind_the_request(ScriptedServer& server, Client& client,
                                                 std::unique_ptr<Waiter>& waiter) {
    return [this, &server, &client, &waiter] {
      if (server.requests().empty()) return false;
      if (!waiter) waiter = std::make_unique<Waiter>(client, uncancelable("GET", server.url() + "/next"));
      return transport().stats().waiting == 1;
    };
  }

  void TearDown() override {
    client_.reset();
    LeakCheckedTest::TearDown();
  }

  std::stop_source stop_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientCancel, WhileWaitingForADialThatDoesNotFinish) {
  // The dial hook stands for a DNS lookup that hangs: getaddrinfo() cannot
  // be interrupted, so the request stops waiting and the dial goes on.
  ScriptedServer& server = scripted_server();
  auto dialer = std::make_shared<GatedDialer>(server.port(), /*hold_dial=*/1);
  TransportOptions options;
  options.dial = GatedDialer::func(dialer);
  Client& client = make_client(std::move(options));

  auto canceled = cancel_when_blocked(
      stop_, [&] { return dialer->held.is_open(); },
      [&] { return client.send(request("GET", server.url() + "/a")); });
  expect_canceled("waiting for a dial", canceled, "waiting for a connection to http://127.0.0.1:");
  EXPECT_EQ(transport().stats().waiting, 0u);

  // The dial completes for nobody: its connection is parked and serves the next request.
  dialer->release.open();
  ASSERT_TRUE(wait_for([&] { return transport().stats().idle == 1; }));
  Result<Response> next = client.get(server.url() + "/b");
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(dialer->dials_started(), 1);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(ClientCancel, WhileConnecting) {
  const UnansweredListener unanswered;
  Gate connecting;
  TransportOptions options;
  // Bounds the dial that goes on after the request gave up.
  options.connect_timeout = 500ms;
  options.trace.connect_start = [&](std::string_view) { connecting.open(); };
  Client& client = make_client(std::move(options));
  const std::string url = "http://127.0.0.1:" + std::to_string(unanswered.port()) + "/";

  auto canceled = cancel_when_blocked(
      stop_, [&] { return connecting.is_open(); }, [&] { return client.send(request("GET", url)); });
  expect_canceled("connecting", canceled, "request canceled");
  EXPECT_TRUE(wait_for([&] { return transport().stats().dialing == 0; }))
      << "the connect timeout did not end the abandoned dial";
  EXPECT_EQ(transport().stats().dial_errors, 1u);
}

TEST_F(ClientCancel, WhileWritingABodyTheServerDoesNotRead) {
  ScriptedServer& server = scripted_server({Script().expect_request_head().sleep(kWait)});
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));

  std::unique_ptr<Waiter> waiter;
  auto canceled = cancel_when_blocked(stop_, queue_behind_the_request(server, client, waiter), [&] {
    return client.send(
        request("PUT", server.url() + "/upload",
                RequestBody::from_factory([] { return std::make_unique<PatternSource>(kUploadBytes); },
                                          static_cast<std::int64_t>(kUploadBytes))));
  });
  expect_canceled("writing the request body", canceled, "writing request body to " + server.host_port());
  EXPECT_EQ(waiter->outcome(), "ok") << "the request queued behind was not served";
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u);
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(ClientCancel, WhileWaitingForTheResponseHead) {
  ScriptedServer& server = scripted_server({Script().expect_request().stall_until_closed()});
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));

  std::unique_ptr<Waiter> waiter;
  auto canceled = cancel_when_blocked(stop_, queue_behind_the_request(server, client, waiter),
                                      [&] { return client.send(request("GET", server.url() + "/slow")); });
  expect_canceled("waiting for the response head", canceled,
                  "reading response headers from " + server.host_port());
  EXPECT_EQ(waiter->outcome(), "ok");
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u);
}

TEST_F(ClientCancel, WhileReadingTheBody) {
  ScriptedServer& server = scripted_server({partial_body_then_stall()});
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));

  Result<Response> response = client.send(request("GET", server.url() + "/stall"));
  ASSERT_TRUE(response) << response.error().message();
  Waiter waiter(client, uncancelable("GET", server.url() + "/next"));
  ASSERT_TRUE(wait_for([&] { return transport().stats().waiting == 1; }));

  auto canceled = cancel_when_blocked(
      stop_, [] { return true; }, [&] { return response->body.read_all(); });
  expect_canceled("reading the body", canceled, "reading response body from " + server.host_port());
  EXPECT_EQ(waiter.outcome(), "ok");
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u);
}

TEST_F(ClientCancel, WhileReadingADecodedBody) {
  // The gzip header and nothing more: the decoder waits for the rest.
  const std::string gzip_header("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  ScriptedServer& server = scripted_server(
      {Script()
           .expect_request()
           .send("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1000\r\n\r\n" + gzip_header)
           .stall_until_closed()});
  Client& client = make_client();

  Result<Response> response = client.send(request("GET", server.url() + "/gz"));
  ASSERT_TRUE(response) << response.error().message();
  ASSERT_TRUE(response->uncompressed);
  auto canceled = cancel_when_blocked(
      stop_, [] { return true; }, [&] { return response->body.read_all(); });
  expect_canceled("reading a gzip body", canceled, "reading response body from " + server.host_port());
  EXPECT_EQ(transport().stats().in_use, 0u);
}

TEST_F(ClientCancel, WhileWaitingForAPoolSlot) {
  ScriptedServer& server = scripted_server();
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));

  Result<Response> holder = client.get(server.url() + "/held");
  ASSERT_TRUE(holder) << holder.error().message();
  auto canceled = cancel_when_blocked(
      stop_, [&] { return transport().stats().waiting == 1; },
      [&] { return client.send(request("GET", server.url() + "/a")); });
  expect_canceled("waiting for a pool slot", canceled, "waiting for a connection to");
  EXPECT_EQ(transport().stats().waiting, 0u);

  // The slot the cancelled request waited for serves the next one.
  ASSERT_EQ(holder->body.read_all().value_or(""), "ok");
  Result<Response> next = client.get(server.url() + "/b");
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_TRUE(next->conn.reused);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

// ---------------------------------------------------------------------------
// Timeouts: each says which one fired.

TEST_F(ClientCancel, ConnectTimeoutIsATimeoutNamingTheConnectTimeout) {
  const UnansweredListener unanswered;
  TransportOptions options;
  options.connect_timeout = 200ms;
  Client& client = make_client(std::move(options));
  Result<Response> response = client.get("http://127.0.0.1:" + std::to_string(unanswered.port()) + "/");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::timeout);
  EXPECT_NE(response.error().message().find("connect timeout (200 ms)"), std::string::npos)
      << response.error().message();
  EXPECT_EQ(transport().stats().dialing, 0u);
}

TEST_F(ClientCancel, ResponseHeaderTimeoutIsATimeoutNamingTheResponseHeaderTimeout) {
  ScriptedServer& server = scripted_server({Script().expect_request().stall_until_closed()});
  TransportOptions options;
  options.response_header_timeout = 200ms;
  Client& client = make_client(std::move(options));
  Result<Response> response = client.get(server.url() + "/slow");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind(), ErrorKind::timeout);
  EXPECT_NE(response.error().message().find("response header timeout (200 ms)"), std::string::npos)
      << response.error().message();
}

TEST_F(ClientCancel, ClientTimeoutIsATimeoutNamingTheClientTimeout) {
  ScriptedServer& server = scripted_server({partial_body_then_stall()});
  ClientOptions policy;
  policy.timeout = 200ms;
  Client& client = make_client({}, policy);
  Result<Response> response = client.get(server.url() + "/stall");
  ASSERT_TRUE(response) << response.error().message();
  Result<std::string> body = response->body.read_all();
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().kind(), ErrorKind::timeout);
  EXPECT_NE(body.error().message().find("reading response body from " + server.host_port()),
            std::string::npos)
      << body.error().message();
  EXPECT_NE(body.error().message().find("deadline exceeded"), std::string::npos) << body.error().message();
}

TEST_F(ClientCancel, ClientTimeoutFailsABodyThatTricklesInPastIt) {
  // Every read gets a byte within 20 ms: only a deadline over the whole
  // body (not one per read) stops it.
  ScriptedServer& server = scripted_server({Script()
                                                .expect_request()
                                                .send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                                                .send_slowly(std::string(1000, 'x'), 1, 20ms)});
  ClientOptions policy;
  policy.timeout = 300ms;
  Client& client = make_client({}, policy);
  const Clock::time_point start = Clock::now();
  Result<Response> response = client.get(server.url() + "/trickle");
  ASSERT_TRUE(response) << response.error().message();
  Result<std::string> body = response->body.read_all();
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().kind(), ErrorKind::timeout) << body.error().message();
  EXPECT_LT(Clock::now() - start, 5s) << "the trickle went on to its end (20 s)";
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u);
}

TEST_F(ClientCancel, IdleTimeoutClosesThePooledConnectionAndNeverFailsARequest) {
  ScriptedServer& server = scripted_server();
  std::atomic<int> idle_closes{0};
  TransportOptions options;
  options.idle_conn_timeout = 100ms;
  options.trace.conn_closed = [&](std::uint64_t, CloseReason why) {
    if (why == CloseReason::idle_timeout) ++idle_closes;
  };
  Client& client = make_client(std::move(options));
  ASSERT_EQ(client.get(server.url() + "/a").value().body.read_all().value_or(""), "ok");
  ASSERT_TRUE(wait_for([&] { return idle_closes.load() == 1; })) << "the idle timeout did not close it";
  EXPECT_EQ(transport().stats().closed_for(CloseReason::idle_timeout), 1u);
  Result<Response> next = client.get(server.url() + "/b");
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_FALSE(next->conn.reused);
}

}  // namespace
}  // namespace nethttp
