// The response body owns its connection: reaching the end returns it at
// once, closing early drains a small rest or closes, destruction is close,
// and a body may outlive its Transport.
#include "pool/body_reader.h"

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/scripted_server.h"
#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class BodyReader : public LeakCheckedTest {};

constexpr std::size_t kSmall = 1000;
constexpr std::size_t kBig = std::size_t{256} << 10;  // beyond the default drain_max_bytes (64 KiB)

/// Serves bodies by path.
void handler(const ServerRequest& request, ServerResponse& response) {
  const std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  if (path == "/small") {
    response.set_body(std::string(kSmall, 's'));
  } else if (path == "/big") {
    response.set_body(std::string(kBig, 'b'));
  } else if (path == "/chunked") {
    response.add_trailer("X-Checksum", "42");
    response.set_body("hello, chunks");
  } else if (path == "/chunked-small") {
    response.use_chunked();
    response.set_body(std::string(kSmall, 'c'));
  } else if (path == "/chunked-big") {
    response.use_chunked();
    response.set_body(std::string(kBig, 'c'));
  } else if (path == "/204") {
    response.set_status(204);
  } else if (path == "/304") {
    response.set_status(304);
  } else {
    response.set_body("ok");
  }
}

/// Draining must not be cut short by a slow test machine where these tests
/// expect it to succeed.
TransportOptions patient_drain(TransportOptions options = {}) {
  options.drain_timeout = kWait;
  return options;
}

/// Reads `n` bytes exactly (several reads if needed), never asking for more.
std::string read_exactly(Body& body, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    Result<std::size_t> r = body.read(std::span<char>(out.data() + got, n - got));
    if (!r || *r == 0) return "<short: " + std::to_string(got) + ">";
    got += *r;
  }
  return out;
}

TEST_F(BodyReader, ReturnsTheConnectionTheMomentTheLastByteIsReadWithoutWaitingForEofOrClose) {
  TestServer server(handler);
  Transport& t = make_transport();
  Result<Response> r = t.round_trip(get_req(server.url() + "/small"));
  ASSERT_OK(r);
  EXPECT_EQ(r->content_length, static_cast<std::int64_t>(kSmall));
  EXPECT_EQ(t.stats().in_use, 1u);
  EXPECT_EQ(read_exactly(r->body, kSmall), std::string(kSmall, 's'));
  // Not yet asked for the end (read() returning 0), not closed:
  EXPECT_TRUE(r->body.at_end());
  EXPECT_EQ(t.stats().idle, 1u);
  EXPECT_EQ(t.stats().in_use, 0u);

  std::array<char, 8> buf{};
  Result<std::size_t> end = r->body.read(buf);
  ASSERT_OK(end);
  EXPECT_EQ(*end, 0u);
  Result<Response> next = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(next);
  EXPECT_EQ(next->conn.id, r->conn.id);
}

TEST_F(BodyReader, AChunkedBodyReadToItsEndReturnsTheConnectionAndKeepsItsTrailers) {
  TestServer server(handler);
  Transport& t = make_transport();
  Result<Response> r = t.round_trip(get_req(server.url() + "/chunked"));
  ASSERT_OK(r);
  EXPECT_EQ(r->content_length, -1);
  EXPECT_EQ(read_body(*r), "hello, chunks");
  EXPECT_EQ(t.stats().idle, 1u);
  EXPECT_EQ(r->trailers().get("X-Checksum"), "42");
  Result<Response> next = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(next);
  EXPECT_TRUE(next->conn.reused);
  EXPECT_EQ(read_body(*next), "ok") << "the stream is in step after the trailers";
}

struct CloseCase {
  std::string_view name;
  std::size_t drain_max_bytes;
  std::size_t read_first;  ///< bytes read before close()
  bool reused;
};

TEST_F(BodyReader, CloseBeforeTheEndDrainsARestWithinDrainMaxBytesElseClosesTheConnection) {
  // /small has 1000 bytes; after reading 10, 990 are left.
  const CloseCase cases[] = {
      {"default limit (64 KiB), nothing read", std::size_t{64} << 10, 0, true},
      {"default limit, 10 bytes read", std::size_t{64} << 10, 10, true},
      {"limit equal to the rest", 990, 10, true},
      {"limit one byte short of the rest", 989, 10, false},
      {"limit 0: never drain (Go's behaviour)", 0, 10, false},
      {"limit 0, nothing read", 0, 0, false},
  };
  for (const CloseCase& c : cases) {
    SCOPED_TRACE(c.name);
    TestServer server(handler);
    Transport t(patient_drain(options([&](TransportOptions& o) { o.drain_max_bytes = c.drain_max_bytes; })));
    Result<Response> r = t.round_trip(get_req(server.url() + "/small"));
    ASSERT_OK(r);
    if (c.read_first > 0) {
      EXPECT_EQ(read_exactly(r->body, c.read_first), std::string(c.read_first, 's'));
    }
    r->body.close();
    TransportStats s = t.stats();
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.idle, c.reused ? 1u : 0u);
    EXPECT_EQ(s.closed_for(CloseReason::body_not_drained), c.reused ? 0u : 1u);

    Result<Response> next = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(next);
    EXPECT_EQ(next->conn.reused, c.reused);
    EXPECT_EQ(read_body(*next), "ok") << "a drained connection is in step with the next response";
  }
}

TEST_F(BodyReader, CloseWithALargeRestClosesTheConnection) {
  TestServer server(handler);
  auto log = std::make_shared<TraceLog>();
  Transport& t =
      make_transport(patient_drain(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); })));
  Result<Response> r = t.round_trip(get_req(server.url() + "/big"));
  ASSERT_OK(r);
  EXPECT_EQ(read_exactly(r->body, 10), std::string(10, 'b'));
  r->body.close();
  EXPECT_EQ(t.stats().closed_for(CloseReason::body_not_drained), 1u);
  EXPECT_EQ(t.stats().idle, 0u);
  using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
  EXPECT_EQ(log->closed(), (Closed{{r->conn.id, CloseReason::body_not_drained}}));
  // Reads after close() fail; close() again is harmless.
  std::array<char, 8> buf{};
  EXPECT_FALSE(r->body.read(buf).ok());
  r->body.close();
  EXPECT_EQ(t.stats().closed_for(CloseReason::body_not_drained), 1u);

  Result<Response> next = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(next);
  EXPECT_FALSE(next->conn.reused);
}

TEST_F(BodyReader, CloseDrainsASmallChunkedRestAndClosesOnALargeOne) {
  struct Case {
    std::string_view path;
    bool reused;
  };
  for (const Case c : {Case{"/chunked-small", true}, Case{"/chunked-big", false}}) {
    SCOPED_TRACE(c.path);
    TestServer server(handler);
    Transport t(patient_drain());
    Result<Response> r = t.round_trip(get_req(server.url() + std::string(c.path)));
    ASSERT_OK(r);
    EXPECT_EQ(r->content_length, -1);
    EXPECT_EQ(read_exactly(r->body, 10), std::string(10, 'c'));
    r->body.close();
    EXPECT_EQ(t.stats().in_use, 0u);
    EXPECT_EQ(t.stats().closed_for(CloseReason::body_not_drained), c.reused ? 0u : 1u);
    Result<Response> next = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(next);
    EXPECT_EQ(next->conn.reused, c.reused);
    EXPECT_EQ(read_body(*next), "ok");
  }
}

/// 1000 bytes announced, 10 sent, then nothing until the client closes.
Script stalls_in_the_body() {
  return Script()
      .expect_request()
      .send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(10, 'x'))
      .stall_until_closed();
}

TEST_F(BodyReader, ADeadlinePassingWhileTheBodyIsReadFailsWithTimeoutAndClosesTheConnection) {
  ScriptedServer server({stalls_in_the_body()});
  Transport& t = make_transport();
  Result<Response> r = t.round_trip(
      get_req(server.url() + "/", [](Request& q) { q.deadline = std::chrono::steady_clock::now() + 300ms; }));
  ASSERT_OK(r);
  Result<std::string> body = r->body.read_all();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().kind(), ErrorKind::timeout) << body.error().message();
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST_F(BodyReader, CancelingWhileTheBodyIsReadFailsWithCanceledPromptly) {
  ScriptedServer server({stalls_in_the_body()});
  Transport& t = make_transport();
  std::stop_source stop;
  Result<Response> r =
      t.round_trip(get_req(server.url() + "/", [&](Request& q) { q.cancel = stop.get_token(); }));
  ASSERT_OK(r);
  Gate reading;
  std::optional<Result<std::string>> body;
  std::thread reader([&] {
    reading.open();
    body.emplace(r->body.read_all());
  });
  ASSERT_TRUE(reading.wait());
  stop.request_stop();  // whether or not the reader is already blocked in recv()
  reader.join();
  ASSERT_FALSE(body->ok());
  EXPECT_EQ(body->error().kind(), ErrorKind::canceled) << body->error().message();
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
}

TEST_F(BodyReader, DoesNotWaitForASlowRestBeyondDrainTimeout) {
  // 1000 bytes announced, 100 sent, then nothing.
  ScriptedServer server({Script()
                             .expect_request()
                             .send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'x'))
                             .stall_until_closed()});
  Transport& t = make_transport(options([&](TransportOptions& o) { o.drain_timeout = 50ms; }));
  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(r);
  EXPECT_EQ(read_exactly(r->body, 10), std::string(10, 'x'));
  const auto start = std::chrono::steady_clock::now();
  r->body.close();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(t.stats().closed_for(CloseReason::body_not_drained), 1u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST_F(BodyReader, DestroyingAResponseUnreadIsClose) {
  struct Case {
    std::size_t drain_max_bytes;
    bool reused;
  };
  for (const Case c : {Case{std::size_t{64} << 10, true}, Case{0, false}}) {
    SCOPED_TRACE("drain_max_bytes " + std::to_string(c.drain_max_bytes));
    TestServer server(handler);
    Transport t(patient_drain(options([&](TransportOptions& o) { o.drain_max_bytes = c.drain_max_bytes; })));
    std::uint64_t id = 0;
    {
      Result<Response> r = t.round_trip(get_req(server.url() + "/small"));
      ASSERT_OK(r);
      id = r->conn.id;
      EXPECT_EQ(t.stats().in_use, 1u);
    }
    EXPECT_EQ(t.stats().in_use, 0u);
    EXPECT_EQ(t.stats().idle, c.reused ? 1u : 0u);
    Result<Response> next = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(next);
    EXPECT_EQ(next->conn.id == id, c.reused);
    EXPECT_EQ(read_body(*next), "ok");
  }
}

TEST_F(BodyReader, AResponseWithoutABodyReturnsItsConnectionWithItsHead) {
  struct Case {
    std::string_view method;
    std::string_view path;
    int status;
    std::int64_t content_length;
  };
  const Case cases[] = {
      {"HEAD", "/small", 200, static_cast<std::int64_t>(kSmall)},  // as Go: what a GET would get
      {"GET", "/204", 204, 0},
      {"GET", "/304", 304, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + std::string(c.path));
    TestServer server(handler);
    Transport t;
    Result<Response> r = t.round_trip(make_req(std::string(c.method), server.url() + std::string(c.path)));
    ASSERT_OK(r);
    EXPECT_EQ(r->status, c.status);
    // Before the body is touched:
    EXPECT_TRUE(r->body.at_end());
    EXPECT_EQ(t.stats().idle, 1u);
    EXPECT_EQ(t.stats().in_use, 0u);
    EXPECT_EQ(r->content_length, c.content_length);
    EXPECT_EQ(read_body(*r), "");

    Result<Response> next = t.round_trip(get_req(server.url() + "/"));
    ASSERT_OK(next);
    EXPECT_EQ(next->conn.id, r->conn.id);
    EXPECT_EQ(read_body(*next), "ok");
  }
}

TEST_F(BodyReader, ReportsABodyDroppedUnreadWithItsUrl) {
  enum class Ending { destroyed, closed, partly_read_then_closed, read_to_end, head_request };
  struct Case {
    std::string_view name;
    Ending ending;
    bool reported;
  };
  const Case cases[] = {
      {"destroyed unread", Ending::destroyed, true},
      {"closed unread", Ending::closed, true},
      {"partly read, then closed", Ending::partly_read_then_closed, false},
      {"read to its end", Ending::read_to_end, false},
      {"HEAD: nothing to read", Ending::head_request, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TestServer server(handler);
    auto urls = std::make_shared<std::vector<std::string>>();
    auto mu = std::make_shared<std::mutex>();
    Transport t(options([&](TransportOptions& o) {
      o.on_unread_body = [urls, mu](const std::string& url) {
        const std::lock_guard lock(*mu);
        urls->push_back(url);
      };
    }));
    const std::string url = server.url() + "/small?q=1";
    {
      Result<Response> r = t.round_trip(make_req(c.ending == Ending::head_request ? "HEAD" : "GET", url));
      ASSERT_OK(r);
      switch (c.ending) {
        case Ending::destroyed:
        case Ending::head_request: break;
        case Ending::closed: r->body.close(); break;
        case Ending::partly_read_then_closed:
          EXPECT_EQ(read_exactly(r->body, 1), "s");
          r->body.close();
          break;
        case Ending::read_to_end: EXPECT_EQ(read_body(*r), std::string(kSmall, 's')); break;
      }
    }
    const std::lock_guard lock(*mu);
    if (c.reported) {
      EXPECT_EQ(*urls, std::vector<std::string>{url});
    } else {
      EXPECT_TRUE(urls->empty());
    }
  }
}

TEST_F(BodyReader, ABodyOutlivingItsTransportCanBeReadAndThenClosesItsConnection) {
  TestServer server(handler);
  auto log = std::make_shared<TraceLog>();
  std::optional<Response> kept;
  {
    Transport t(options([&](TransportOptions& o) { o.trace = TraceLog::hooks(log); }));
    Result<Response> r = t.round_trip(get_req(server.url() + "/small"));
    ASSERT_OK(r);
    kept.emplace(std::move(*r));
  }
  EXPECT_EQ(server.open_connections(), 1u);
  EXPECT_EQ(read_body(*kept), std::string(kSmall, 's'));
  ASSERT_TRUE(server.wait_for_open_connections(0, kWait)) << "pooled into a transport that is gone";
  using Closed = std::vector<std::pair<std::uint64_t, CloseReason>>;
  EXPECT_EQ(log->closed(), (Closed{{kept->conn.id, CloseReason::closed_by_user}}));
  kept.reset();
}

TEST_F(BodyReader, ABodyOutlivingItsTransportClosesItsConnectionWhenDestroyedUnread) {
  TestServer server(handler);
  std::optional<Response> kept;
  {
    Transport t;
    Result<Response> r = t.round_trip(get_req(server.url() + "/big"));
    ASSERT_OK(r);
    kept.emplace(std::move(*r));
  }
  kept.reset();
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST_F(BodyReader, ATruncatedBodyFailsAndClosesItsConnection) {
  ScriptedServer server(
      {Script().expect_request().close_after("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", 100)});
  Transport& t = make_transport();
  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(r);
  Result<std::string> body = r->body.read_all();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().kind(), ErrorKind::body) << body.error().message();
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().idle, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
  // The error stays.
  std::array<char, 8> buf{};
  Result<std::size_t> again = r->body.read(buf);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::body);
}

}  // namespace
}  // namespace nethttp::testing
