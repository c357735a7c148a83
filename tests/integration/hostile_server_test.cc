// The hostile-server suite (issue 8), at the Transport: every way a server
// can break an exchange — closing or resetting at each byte of a response,
// stalling in each phase, bytes before the request or after the response,
// lying framing, oversized heads and trailers, endless chunk extensions,
// floods of 1xx responses, heads that are not HTTP. Each case checks the
// error kind and that the message names the step and the peer, that the
// failure came within its deadline (a hang detector, not a speed bound),
// that the connection was not reused, and that the next request goes out
// on a new connection and gets its own answer.
//
// Cases covered elsewhere are not repeated here:
// - a stall before the status line: exchange_test.cc
//   ResponseHeaderTimeoutFailsTheRequestAndTheNextOneUsesAFreshConnection,
//   cancel_test.cc WhileWaitingForTheResponseHead;
// - a stall or a trickle inside a Content-Length body: exchange_test.cc
//   RequestDeadlineInterruptsABodyReadThatStalls, cancel_test.cc
//   ClientTimeoutFailsABodyThatTricklesInPastIt;
// - an upload the server stops reading: exchange_test.cc
//   DeadlineInterruptsAnUploadTheServerDoesNotRead;
// - the retry of a GET that failed on a reused connection:
//   unit/pool/transport_test.cc TransportRetry.*;
// - stray bytes on an idle connection: unit/pool/idle_conn_test.cc
//   DiscardsAnIdleConnectionAccordingToWhatTheServerDidToIt;
// - two responses in one write, Content-Length with Transfer-Encoding:
//   exchange_test.cc NotReusedTest.*.
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"
#include "support/dialers.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/scripted_server.h"
#include "support/wait.h"

namespace nethttp {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;
using Clock = std::chrono::steady_clock;
using testing::kSafetyDeadline;
using testing::kWait;
using testing::LeakCheckedTest;
using testing::Script;
using testing::ScriptedServer;
using testing::ServerRequest;

/// How long past its deadline a failing request may return: generous for a
/// loaded machine under ASan; only a hang reaches it.
constexpr std::chrono::milliseconds kMargin = 2s;

/// The deadline of requests that must fail at once: reaching it means the
/// client waited for something the server was never going to send.
constexpr std::chrono::milliseconds kPromptly = 5s;

/// The deadline (or timeout) of the stall cases.
constexpr std::chrono::milliseconds kStall = 300ms;

constexpr std::string_view kHeadStep = "reading response headers from";
constexpr std::string_view kBodyStep = "reading response body from";

/// More than the default max_response_header_bytes (1 MiB).
constexpr std::size_t kOverTheHeaderLimit = std::size_t{2} << 20;

std::chrono::milliseconds ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

/// A request to `url` that fails with timeout rather than hang past `deadline`.
std::shared_ptr<Request> new_request(std::string method, const std::string& url,
                                     std::chrono::milliseconds deadline = kSafetyDeadline) {
  Result<Request> made = make_request(std::move(method), url);
  if (!made) {
    ADD_FAILURE() << made.error().message();
    return std::make_shared<Request>();
  }
  made->deadline = Clock::now() + deadline;
  return std::make_shared<Request>(std::move(made).value());
}

/// How the library's messages start: "STEP 127.0.0.1:PORT: ".
std::string where(std::string_view step, const ScriptedServer& server) {
  return std::string(step) + " " + server.host_port() + ": ";
}

std::string repeated(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

/// Answers one request with `bytes`, then neither sends more nor closes.
Script answers_then_stalls(std::string bytes) {
  return Script().expect_request().send(std::move(bytes)).stall_until_closed();
}

/// Answers one request with `bytes`, then closes.
Script answers_then_closes(std::string bytes) {
  return Script().expect_request().send(std::move(bytes)).close();
}

/// After a failed exchange: the next request on the same transport goes out
/// on a new connection (the server's next one) and gets its own answer, the
/// "ok" of ScriptedServer::ok_responder(), not anything left on the old one.
void expect_next_request_on_a_new_connection(Transport& t, const ScriptedServer& server) {
  const std::size_t accepted = server.connections_accepted();
  Result<Response> next = t.round_trip(new_request("GET", server.url() + "/next"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_FALSE(next->conn.reused) << "the broken connection was reused";
  Result<std::string> body = next->body.read_all();
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body, "ok") << "the next request got another answer than its own";
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().target, "/next");
  EXPECT_EQ(seen.back().connection_index, accepted) << "not sent on a new connection";
  EXPECT_EQ(seen.back().exchange_index, 0u);
}

/// Where a case fails: round_trip() itself, or reading the body after it.
enum class Phase : std::uint8_t { head, body };

/// One way connection 0 of a server misbehaves, and how the client must fail.
struct Failure {
  std::string_view name;
  Script script;  ///< connection 0; later connections answer "ok"
  Phase phase;
  ErrorKind kind;
  /// Expected in the message after the step and the peer; may be empty.
  std::string_view detail;
  /// The request's deadline: reached only when the client waits for bytes
  /// that never come.
  std::chrono::milliseconds deadline = kPromptly;
  /// TransportOptions::response_header_timeout; 0: none.
  std::chrono::milliseconds header_timeout{0};
  /// Makes the request a POST of a small body with "Expect: 100-continue".
  bool expect_continue = false;
};

class HostileServer : public LeakCheckedTest {
 protected:
  /// A server kept until the test ends whose connection 0 plays `script`.
  ScriptedServer& scripted_server(Script script) {
    return keep_server(std::make_shared<ScriptedServer>(std::vector<Script>{std::move(script)}));
  }

  /// Plays `c` on a server and transport of its own and checks the outcome:
  /// the kind and message, the time taken, the connection closed for
  /// `error` and never retried, and a clean next request.
  void expect_failure(const Failure& c) {
    SCOPED_TRACE(c.name);
    ScriptedServer server({c.script});
    TransportOptions options;
    options.response_header_timeout = c.header_timeout;
    Transport t(std::move(options));
    auto request = new_request("GET", server.url() + "/hostile", c.deadline);
    if (c.expect_continue) {
      request->method = "POST";
      request->body = RequestBody::from_string("payload");
      request->header.add("Expect", "100-continue");
    }

    const Clock::time_point start = Clock::now();
    Result<Response> response = t.round_trip(request);
    std::optional<Error> error;
    if (c.phase == Phase::head) {
      ASSERT_FALSE(response) << "a response came: " << response->status;
      error = response.error();
    } else {
      ASSERT_TRUE(response) << "the head is fine: " << response.error().message();
      Result<std::string> body = response->body.read_all();
      ASSERT_FALSE(body) << "the body was read whole: " << body->size() << " bytes";
      error = body.error();
    }
    const std::chrono::milliseconds took = ms_since(start);
    const std::chrono::milliseconds limit = c.header_timeout > 0ms ? c.header_timeout : c.deadline;
    EXPECT_LT(took, limit + kMargin) << "the failure did not come within its deadline";
    EXPECT_EQ(error->kind(), c.kind) << error->message();
    const std::string prefix = where(c.phase == Phase::head ? kHeadStep : kBodyStep, server);
    EXPECT_TRUE(error->message().starts_with(prefix)) << error->message();
    EXPECT_NE(error->message().find(c.detail, prefix.size()), std::string::npos) << error->message();

    const TransportStats s = t.stats();
    EXPECT_EQ(s.closed_for(CloseReason::error), 1u);
    EXPECT_EQ(s.retries, 0u) << "a failure on a fresh connection was retried";
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.idle, 0u) << "the broken connection was pooled";
    expect_next_request_on_a_new_connection(t, server);
  }

  void expect_failures(const std::vector<Failure>& cases) {
    for (const Failure& c : cases) expect_failure(c);
  }
};

// ---------------------------------------------------------------------------
// Close or reset at each byte offset

/// A response as the pieces whose boundaries decide how a truncation fails.
struct Wire {
  std::string_view name;
  std::string interim;  ///< 1xx responses before the final head
  std::string head;     ///< the final head, up to and including its empty line
  std::string body;     ///< the body as framed on the wire
  std::string decoded;  ///< the body a reader gets
  std::string trailer;  ///< the value of the X-Sum trailer; empty: none

  [[nodiscard]] std::string bytes() const { return interim + head + body; }
};

std::vector<Wire> wires() {
  const std::string length_head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Case: length\r\n\r\n";
  return {
      {"Content-Length", "", length_head, "0123456789", "0123456789", ""},
      {"chunked with a trailer", "",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
       "4\r\n0123\r\n6;ext=1\r\n456789\r\n0\r\nX-Sum: 45\r\n\r\n", "0123456789", "45"},
      {"after a 100 Continue", "HTTP/1.1 100 Continue\r\n\r\n", length_head, "0123456789", "0123456789", ""},
  };
}

/// What the client must say when the connection ends after `n` bytes of a
/// response head (`n` short of the final head's end).
std::string truncated_head_detail(const Wire& w, std::size_t n) {
  if (n == 0) return "connection closed by peer before any response byte";
  if (!w.interim.empty() && n == w.interim.size())
    return "connection closed by peer after an interim (1xx) response";
  const std::size_t in_head = n >= w.interim.size() ? n - w.interim.size() : n;
  return "connection closed by peer inside the response head after " + std::to_string(in_head) + " bytes";
}

// A fresh connection each time: no retry may hide a failure (the retry on a
// reused connection is TransportRetry's, unit/pool/transport_test.cc).
TEST_F(HostileServer, CloseAtEveryByteOfAResponseFailsInTheHeadOrTheBodyAndNeverReusesTheConnection) {
  for (const Wire& w : wires()) {
    const std::string response = w.bytes();
    const std::size_t head_end = w.interim.size() + w.head.size();
    for (std::size_t n = 0; n <= response.size(); ++n) {
      SCOPED_TRACE(std::string(w.name) + ", closed after " + std::to_string(n) + " of " +
                   std::to_string(response.size()) + " bytes");
      ScriptedServer server({Script().expect_request().close_after(response, n)});
      Transport t;
      Result<Response> r = t.round_trip(new_request("GET", server.url() + "/r", kPromptly));
      if (n < head_end) {
        ASSERT_FALSE(r) << "a truncated head was taken for a response";
        EXPECT_EQ(r.error().kind(), ErrorKind::io) << r.error().message();
        EXPECT_EQ(r.error().message(), where(kHeadStep, server) + truncated_head_detail(w, n));
      } else {
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->status, 200);
        Result<std::string> body = r->body.read_all();
        if (n < response.size()) {
          ASSERT_FALSE(body) << "a truncated body was read whole: " << *body;
          EXPECT_EQ(body.error().kind(), ErrorKind::body) << body.error().message();
          EXPECT_TRUE(
              body.error().message().starts_with(where(kBodyStep, server) + "connection closed by peer"))
              << body.error().message();
        } else {
          ASSERT_TRUE(body) << body.error().message();
          EXPECT_EQ(*body, w.decoded);
          EXPECT_EQ(r->trailers().get("X-Sum").value_or(""), w.trailer);
        }
      }
      EXPECT_EQ(t.stats().retries, 0u);
      EXPECT_EQ(t.stats().in_use, 0u);
      if (n < response.size()) {
        EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
        expect_next_request_on_a_new_connection(t, server);
      }
      if (::testing::Test::HasFailure()) return;  // the first broken offset says it all
    }
  }
}

TEST_F(HostileServer, ResetInsideAResponseIsAnIoErrorInTheHeadOrTheBody) {
  for (const Wire& w : wires()) {
    const std::string response = w.bytes();
    const std::size_t head_end = w.interim.size() + w.head.size();
    for (const std::size_t n : {std::size_t{0}, std::size_t{5}, head_end - 1, head_end, head_end + 3}) {
      SCOPED_TRACE(std::string(w.name) + ", reset after " + std::to_string(n) + " bytes");
      ScriptedServer server({Script().expect_request().send(response.substr(0, n)).reset()});
      Transport t;
      Result<Response> r = t.round_trip(new_request("GET", server.url() + "/r", kPromptly));
      std::optional<Error> error;
      if (n < head_end) {
        ASSERT_FALSE(r) << "a truncated head was taken for a response";
        error = r.error();
      } else {
        ASSERT_TRUE(r) << r.error().message();
        Result<std::string> body = r->body.read_all();
        ASSERT_FALSE(body) << "a truncated body was read whole: " << *body;
        error = body.error();
      }
      EXPECT_EQ(error->kind(), ErrorKind::io) << error->message();
      EXPECT_TRUE(error->message().starts_with(where(n < head_end ? kHeadStep : kBodyStep, server)))
          << error->message();
      EXPECT_NE(error->message().find("reset"), std::string::npos) << error->message();
      EXPECT_EQ(t.stats().retries, 0u);
      EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
      expect_next_request_on_a_new_connection(t, server);
    }
  }
}

// ---------------------------------------------------------------------------
// Stalls

TEST_F(HostileServer, StallInAnyPhaseIsATimeoutWithinTheDeadline) {
  const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";
  expect_failures({
      {"in the status line", answers_then_stalls("HTTP/1.1 20"), Phase::head, ErrorKind::timeout,
       "request deadline exceeded", kStall},
      {"in a header field, under a response header timeout",
       answers_then_stalls("HTTP/1.1 200 OK\r\nContent-Le"), Phase::head, ErrorKind::timeout,
       "response header timeout", kSafetyDeadline, kStall},
      {"trickling the head a byte at a time, under a response header timeout",
       Script().expect_request().send_slowly(
           "HTTP/1.1 200 OK\r\nX-Slow: " + std::string(100, 's') + "\r\nContent-Length: 2\r\n\r\nok", 1,
           20ms),
       Phase::head, ErrorKind::timeout, "response header timeout", kSafetyDeadline, kStall},
      {"after a 100 Continue nobody asked for", answers_then_stalls(continue_100), Phase::head,
       ErrorKind::timeout, "request deadline exceeded", kStall},
      {"after a 100 Continue, under a response header timeout", answers_then_stalls(continue_100),
       Phase::head, ErrorKind::timeout, "response header timeout", kSafetyDeadline, kStall},
      {"after the 100 Continue the request asked for, once its body is read",
       Script().expect_request_head().send(continue_100).expect_body().stall_until_closed(), Phase::head,
       ErrorKind::timeout, "request deadline exceeded", kStall, 0ms, /*expect_continue=*/true},
      {"inside chunk data", answers_then_stalls(chunked_head + "a\r\n01234"), Phase::body, ErrorKind::timeout,
       "request deadline exceeded", kStall},
      {"between two chunks", answers_then_stalls(chunked_head + "4\r\n0123\r\n"), Phase::body,
       ErrorKind::timeout, "request deadline exceeded", kStall},
      {"inside a chunk-size line", answers_then_stalls(chunked_head + "4\r\n0123\r\n6;ex"), Phase::body,
       ErrorKind::timeout, "request deadline exceeded", kStall},
      {"before the CRLF after chunk data", answers_then_stalls(chunked_head + "4\r\n0123"), Phase::body,
       ErrorKind::timeout, "request deadline exceeded", kStall},
      {"inside the trailers", answers_then_stalls(chunked_head + "4\r\n0123\r\n0\r\nX-Sum: 4"), Phase::body,
       ErrorKind::timeout, "request deadline exceeded", kStall},
  });
}

// ---------------------------------------------------------------------------
// Bytes before the request

/// A dial hook for `port` whose first dial returns only once the server has
/// sent something on the new connection: those bytes are there before the
/// transport writes its request, whatever the threads' timing.
DialFunc first_dial_waits_for_bytes(std::uint16_t port) {
  auto dials = std::make_shared<std::atomic<int>>(0);
  return [port, dials](const DialRequest&) -> Result<int> {
    Result<int> fd = testing::connect_loopback(port);
    if (fd && dials->fetch_add(1) == 0) {
      pollfd p{*fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kWait.count())) != 1)
        ADD_FAILURE() << "the server sent nothing on the new connection";
    }
    return fd;
  };
}

// What a server sends before it was asked anything answers nothing: it is
// not the response to the request written after it.
TEST_F(HostileServer, BytesBeforeTheRequestFailItAndAreNeverTakenForItsResponse) {
  struct Case {
    std::string_view name;
    std::string early;
  };
  const Case cases[] = {
      {"a whole response", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"},
      {"a 408 Request Timeout",
       "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
      {"garbage", "garbage\r\n\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // Had the bytes been taken for the response, the request would still
    // reach the server, and get "wrong".
    ScriptedServer server({Script().send(c.early).sleep(50ms).expect_request().respond("wrong")});
    TransportOptions options;
    options.dial = first_dial_waits_for_bytes(server.port());
    Transport t(std::move(options));
    Result<Response> r = t.round_trip(new_request("GET", server.url() + "/first", kPromptly));
    if (r) {
      Result<std::string> body = r->body.read_all();
      ADD_FAILURE() << "bytes sent before the request were taken for its response: " << r->status << " "
                    << std::move(body).value_or("(unreadable body)");
      continue;
    }
    EXPECT_EQ(r.error().kind(), ErrorKind::protocol) << r.error().message();
    EXPECT_TRUE(r.error().message().starts_with(where("before writing request to", server)))
        << r.error().message();
    EXPECT_NE(r.error().message().find("before any request"), std::string::npos) << r.error().message();
    EXPECT_EQ(t.stats().retries, 0u);
    expect_next_request_on_a_new_connection(t, server);
    EXPECT_EQ(server.requests().size(), 1u) << "the failed request was sent after all";
  }
}

// ---------------------------------------------------------------------------
// Bytes after the response

// Whatever follows the end of a response (a Content-Length that lies short,
// a response to nothing, a body where framing says none) is no answer to the
// next request: the connection goes, and the next request gets its own.
TEST_F(HostileServer, BytesAfterTheResponseAreNeverTakenForTheNextResponse) {
  const std::string stray = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray";
  // Long enough that read_all() takes its end straight from the socket into
  // its own buffer, leaving what follows in the socket, not the read buffer.
  const std::string long_body(std::size_t{16} << 10, 'L');
  struct Case {
    std::string_view name;
    std::string method;
    std::string reply;
    std::string body;  ///< what the first request reads
  };
  const Case cases[] = {
      {"Content-Length shorter than the body", "GET",
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdefgh\r\n", "abc"},
      {"a response after a chunked body", "GET",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + stray, "abc"},
      {"a response after a long body read straight from the socket", "GET",
       "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(long_body.size()) + "\r\n\r\n" + long_body +
           stray,
       long_body},
      {"a body after a 204", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nstray", ""},
      {"a body after a 304", "GET", "HTTP/1.1 304 Not Modified\r\n\r\n" + stray, ""},
      {"a body after the response to HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // Every request on connection 0 gets the same reply: a wrongly reused
    // connection would give the stray bytes, then that reply again.
    ScriptedServer server({Script().expect_request().send(c.reply).repeat()});
    Transport t;
    Result<Response> first = t.round_trip(new_request(c.method, server.url() + "/first"));
    ASSERT_TRUE(first) << first.error().message();
    Result<std::string> body = first->body.read_all();
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_EQ(*body, c.body);
    expect_next_request_on_a_new_connection(t, server);
    EXPECT_EQ(t.stats().closed_for(CloseReason::unsolicited_bytes), 1u);
    EXPECT_EQ(t.stats().in_use, 0u);
  }
}

// ---------------------------------------------------------------------------
// Oversized heads and trailers

TEST_F(HostileServer, HeadOverTheDefaultLimitIsHeaderTooLargeWithoutWaitingForItsEnd) {
  // Each is followed by a stall: a client waiting for the end of the line
  // or head would hit the deadline instead. 1xx responses count towards the
  // head's limit (codec::ParserLimits), so a flood of them is one more head
  // over the limit.
  const std::string_view detail = "response head exceeds 1048576 bytes";
  expect_failures({
      {"one endless header line",
       answers_then_stalls("HTTP/1.1 200 OK\r\nX-Big: " + std::string(kOverTheHeaderLimit, 'b')), Phase::head,
       ErrorKind::header_too_large, detail},
      {"an endless status line", answers_then_stalls("HTTP/1.1 200 " + std::string(kOverTheHeaderLimit, 'r')),
       Phase::head, ErrorKind::header_too_large, detail},
      {"200000 header fields",
       answers_then_stalls("HTTP/1.1 200 OK\r\n" + repeated("X-Many: 1\r\n", 200'000) +
                           "Content-Length: 2\r\n\r\nok"),
       Phase::head, ErrorKind::header_too_large, detail},
      {"a flood of 100 Continue",
       answers_then_stalls(repeated("HTTP/1.1 100 Continue\r\n\r\n", kOverTheHeaderLimit / 25)), Phase::head,
       ErrorKind::header_too_large, detail},
      {"a flood of 103 Early Hints",
       answers_then_stalls(repeated("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
                                    kOverTheHeaderLimit / 50)),
       Phase::head, ErrorKind::header_too_large, detail},
  });
}

TEST_F(HostileServer, ManyHeaderFieldsUnderTheLimitAreReadAndTheConnectionIsKept) {
  constexpr std::size_t kFields = 20'000;
  ScriptedServer& server = scripted_server(
      Script()
          .expect_request()
          .send("HTTP/1.1 200 OK\r\n" + repeated("X-Many: 1\r\n", kFields) + "Content-Length: 2\r\n\r\nok")
          .repeat());
  Transport& t = make_transport();
  for (int i = 0; i < 2; ++i) {
    Result<Response> r = t.round_trip(new_request("GET", server.url() + "/many"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->header.values("X-Many").size(), kFields);
    EXPECT_EQ(r->body.read_all().value_or("(failed)"), "ok");
    EXPECT_EQ(r->conn.reused, i == 1);
  }
}

TEST_F(HostileServer, TrailersOverTheLimitAreHeaderTooLargeWhenTheBodyIsRead) {
  expect_failures({
      {"110 KB of trailer fields",
       answers_then_stalls("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" +
                           repeated("X-Trailer: " + std::string(100, 't') + "\r\n", 1000)),
       Phase::body, ErrorKind::header_too_large, "response trailers exceed 65536 bytes"},
      {"one endless trailer line",
       answers_then_stalls("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Big: " +
                           std::string(std::size_t{1} << 20, 't')),
       Phase::body, ErrorKind::header_too_large, "response trailers exceed 65536 bytes"},
  });
}

// ---------------------------------------------------------------------------
// Chunked framing: extensions, sizes

TEST_F(HostileServer, EndlessChunkExtensionIsABodyErrorWithoutWaitingForItsEnd) {
  expect_failures({
      {"a chunk-size line that never ends",
       answers_then_stalls("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=" +
                           std::string(std::size_t{1} << 20, 'b')),
       Phase::body, ErrorKind::body, "chunk-size line longer than 4096 bytes"},
  });
}

// Each chunk-size line stays under its limit, but the extensions outweigh
// the data many times over: a server making the client read megabytes for
// a few bytes of body (Go's fix for CVE-2023-39326 caps the non-data bytes
// at 16 per data byte plus 16 KiB).
TEST_F(HostileServer, ChunkExtensionsOutweighingTheDataAreABodyError) {
  const std::string chunk = "1;ext=" + std::string(4000, 'e') + "\r\nx\r\n";
  expect_failures({
      {"1000 one-byte chunks with 4000-byte extensions",
       answers_then_stalls("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + repeated(chunk, 1000) +
                           "0\r\n\r\n"),
       Phase::body, ErrorKind::body, ""},
  });
}

TEST_F(HostileServer, ShortChunkExtensionsAreSkippedAndTheConnectionIsKept) {
  constexpr std::size_t kChunks = 2000;
  const std::string body = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                           repeated("1;name=value;flag\r\nx\r\n", kChunks) +
                           "40;one=" + std::string(1000, 'e') + "\r\n" + std::string(64, 'y') +
                           "\r\n0\r\n\r\n";
  ScriptedServer& server = scripted_server(Script().expect_request().send(body).repeat());
  Transport& t = make_transport();
  for (int i = 0; i < 2; ++i) {
    Result<Response> r = t.round_trip(new_request("GET", server.url() + "/extensions"));
    ASSERT_TRUE(r) << r.error().message();
    Result<std::string> read = r->body.read_all();
    ASSERT_TRUE(read) << read.error().message();
    EXPECT_EQ(*read, std::string(kChunks, 'x') + std::string(64, 'y'));
    EXPECT_EQ(r->conn.reused, i == 1);
  }
}

TEST_F(HostileServer, ChunkSizesTheClientCannotHonourAreBodyErrors) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  expect_failures({
      {"a chunk of 2^63-1 bytes that ends after a few",
       answers_then_closes(head + "7fffffffffffffff\r\nshort"), Phase::body, ErrorKind::body,
       "connection closed by peer inside a chunked body"},
      {"a chunk size over 64 bits", answers_then_closes(head + "1" + std::string(16, 'f') + "\r\n"),
       Phase::body, ErrorKind::body, "chunk size does not fit in 64 bits"},
      {"a negative chunk size", answers_then_closes(head + "-1\r\n"), Phase::body, ErrorKind::body,
       "expected a hex chunk size"},
      {"a bare LF after the chunk size", answers_then_closes(head + "3\nabc\r\n0\r\n\r\n"), Phase::body,
       ErrorKind::body, "malformed chunked body"},
  });
}

// ---------------------------------------------------------------------------
// Interim responses under the limit

TEST_F(HostileServer, ThousandsOfInterimResponsesUnderTheLimitAreSkipped) {
  constexpr int kInterim = 5000;
  ScriptedServer& server = scripted_server(
      Script()
          .expect_request()
          .send(repeated("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", kInterim))
          .respond("final")
          .repeat());
  std::atomic<int> interim{0};
  TransportOptions options;
  options.trace.got_interim_response = [&](std::uint64_t, int) { ++interim; };
  Transport& t = make_transport(std::move(options));
  Result<Response> r = t.round_trip(new_request("GET", server.url() + "/hints"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->header.has("Link"));
  EXPECT_EQ(r->body.read_all().value_or("(failed)"), "final");
  EXPECT_EQ(interim.load(), kInterim);
  EXPECT_EQ(t.stats().idle, 1u) << "a clean exchange did not keep its connection";
}

// ---------------------------------------------------------------------------
// Malformed heads

TEST_F(HostileServer, MalformedHeadIsAProtocolErrorAndTheConnectionIsNotReused) {
  // Each head is followed by a body: only the head can be what fails.
  auto answer = [](std::string head) { return answers_then_stalls(std::move(head) + "\r\nok"); };
  expect_failures({
      {"HTTP/2.0 in the status line", answer("HTTP/2.0 200 OK\r\nContent-Length: 2\r\n"), Phase::head,
       ErrorKind::protocol, "unsupported HTTP version"},
      {"a four-digit status", answer("HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n"), Phase::head,
       ErrorKind::protocol, "malformed status code"},
      {"a NUL in the reason phrase", answer("HTTP/1.1 200 O\0K\r\nContent-Length: 2\r\n"s), Phase::head,
       ErrorKind::protocol, "NUL in status line"},
      {"a negative Content-Length", answer("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n"), Phase::head,
       ErrorKind::protocol, "invalid Content-Length"},
      {"a Content-Length over 64 bits", answer("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n"),
       Phase::head, ErrorKind::protocol, "invalid Content-Length"},
      {"a Content-Length with a sign", answer("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n"), Phase::head,
       ErrorKind::protocol, "invalid Content-Length"},
      {"two Content-Length fields that differ",
       answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 20\r\n"), Phase::head,
       ErrorKind::protocol, "conflicting Content-Length values 2 and 20"},
      {"a Content-Length list that differs", answer("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n"),
       Phase::head, ErrorKind::protocol, "conflicting Content-Length values 2 and 3"},
      {"chunked applied twice", answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n"),
       Phase::head, ErrorKind::protocol, "chunked applied more than once"},
      {"an empty Transfer-Encoding", answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n"), Phase::head,
       ErrorKind::protocol, "empty Transfer-Encoding"},
      {"whitespace before the colon", answer("HTTP/1.1 200 OK\r\nContent-Length : 2\r\n"), Phase::head,
       ErrorKind::protocol, "whitespace before the colon"},
      {"obs-fold before the first field", answer("HTTP/1.1 200 OK\r\n Content-Length: 2\r\n"), Phase::head,
       ErrorKind::protocol, "line starting with whitespace before the first field"},
      {"a bare CR inside a Location",
       answer("HTTP/1.1 302 Found\r\nLocation: /a\rSet-Cookie: x=y\r\nContent-Length: 2\r\n"), Phase::head,
       ErrorKind::protocol, "bare CR in the value of \"Location\""},
      {"a NUL inside a Set-Cookie", answer("HTTP/1.1 200 OK\r\nSet-Cookie: a=\0b\r\nContent-Length: 2\r\n"s),
       Phase::head, ErrorKind::protocol, "NUL in the value of \"Set-Cookie\""},
  });
}

// A server that does not speak HTTP (a banner of SSH, SMTP...) or answers in
// HTTP/0.9 style: its first line is enough to know it is no status line. A
// client that waits for an empty line first hangs as long as such a server
// keeps the connection open (forever without a deadline), where Go fails
// at the first line ("malformed HTTP response").
TEST_F(HostileServer, PeerThatDoesNotSpeakHttpIsAProtocolErrorAtItsFirstLine) {
  expect_failures({
      {"an SSH banner, then waiting for the client's", answers_then_stalls("SSH-2.0-OpenSSH_9.6\r\n"),
       Phase::head, ErrorKind::protocol, "malformed status line", 1s},
      {"an SMTP greeting", answers_then_stalls("220 mail.example.com ESMTP ready\r\n"), Phase::head,
       ErrorKind::protocol, "malformed status line", 1s},
      {"an HTTP/0.9-style reply, then close", answers_then_closes("<html><body>hello</body></html>\n"),
       Phase::head, ErrorKind::protocol, "malformed status line"},
  });
}

// A transfer coding other than chunked cannot be undone by the client: the
// body would arrive still coded. Refused, as Go does, and never reused.
TEST_F(HostileServer, TransferEncodingOtherThanChunkedIsAProtocolErrorAndNeverReused) {
  for (const std::string_view coding : {"gzip"sv, "gzip, chunked"sv, "identity"sv}) {
    SCOPED_TRACE(coding);
    ScriptedServer server({answers_then_closes(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + std::string(coding) + "\r\n\r\n5\r\nbytes\r\n0\r\n\r\n")});
    Transport t;
    Result<Response> r = t.round_trip(new_request("GET", server.url() + "/coded"));
    ASSERT_FALSE(r) << "took a coded body as is";
    EXPECT_EQ(r.error().kind(), ErrorKind::protocol) << r.error().message();
    EXPECT_NE(r.error().message().find("unsupported transfer coding"), std::string::npos)
        << r.error().message();
    EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
    expect_next_request_on_a_new_connection(t, server);
  }
}

}  // namespace
}  // namespace nethttp
