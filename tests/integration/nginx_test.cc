// The Transport against a real server: Debian's nginx, started by each test
// in its own prefix (tests/support/nginx.h). nginx decides when connections
// end (keepalive_requests, keepalive_timeout); its stub_status counts the
// connections it accepted, which must match the connections the Transport
// reports. Every test ends with a leak check: no connection in use once the
// responses are gone, no fd left once the Transport and nginx are gone.
#include "support/nginx.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/wait.h"

namespace nethttp {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::kSafetyDeadline;
using testing::kSmallBody;
using testing::LeakCheckedTest;
using testing::LeakChecks;
using testing::line_value;
using testing::NginxOptions;
using testing::NginxServer;
using testing::pattern_bytes;

/// What a test keeps of one response: its connection and body.
struct Fetched {
  int status = 0;
  ConnInfo conn;
  Header header;
  std::int64_t content_length = 0;
  std::string body;
};

/// Owns nginx and the Transport of one test and checks for leaks.
class NginxTest : public LeakCheckedTest {
 protected:
  // The checks these tests always made: connections and fds (no wait for
  // dials, no thread count).
  NginxTest() : LeakCheckedTest(LeakChecks{.settle_dials = false, .threads = false}) {}

  /// nginx goes after the Transport, before the fd count is compared.
  void destroy_servers() override {
    nginx_.reset();
    LeakCheckedTest::destroy_servers();
  }

  /// Starts nginx; use as ASSERT_TRUE(start_nginx(...)).
  ::testing::AssertionResult start_nginx(NginxOptions options = {}) {
    nginx_.emplace(std::move(options));
    return nginx_->start();
  }
  NginxServer& nginx() { return *nginx_; }

  /// Sends `method` `path` to nginx and reads the whole body; nullopt (and
  /// a test failure) on any error.
  std::optional<Fetched> fetch(std::string_view path, std::string method = "GET") {
    Result<Request> made = make_request(std::move(method), nginx_->url(path));
    if (!made) {
      ADD_FAILURE() << made.error().message();
      return std::nullopt;
    }
    auto request = std::make_shared<Request>(std::move(made).value());
    request->deadline = Clock::now() + kSafetyDeadline;
    Result<Response> response = transport().round_trip(request);
    if (!response) {
      ADD_FAILURE() << path << ": " << response.error().message();
      return std::nullopt;
    }
    Result<std::string> body = response->body.read_all();
    if (!body) {
      ADD_FAILURE() << path << ": " << body.error().message();
      return std::nullopt;
    }
    return Fetched{response->status, response->conn, std::move(response->header), response->content_length,
                   std::move(*body)};
  }

 private:
  std::optional<NginxServer> nginx_;
};

TEST_F(NginxTest, KeepaliveRequestsOfThreeGiveFourConnectionsForTenSequentialRequests) {
  NginxOptions options;
  options.keepalive_requests = 3;
  options.keepalive_timeout = 1s;
  ASSERT_TRUE(start_nginx(options));
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, bool>> got;  // (conn id, reused) per got_conn
  TransportOptions transport_options;
  transport_options.trace.got_conn = [&](std::uint64_t id, bool reused, bool, std::chrono::nanoseconds) {
    const std::lock_guard lock(mu);
    got.emplace_back(id, reused);
  };
  Transport& t = make_transport(std::move(transport_options));

  std::vector<ConnInfo> conns;
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE("request " + std::to_string(i + 1));
    std::optional<Fetched> f = fetch("/small");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->status, 200);
    EXPECT_EQ(f->body, kSmallBody);
    // nginx says Connection: close on the third request of each connection.
    EXPECT_EQ(f->header.get("Connection"), i % 3 == 2 ? "close" : "keep-alive");
    conns.push_back(f->conn);
  }

  // Requests 1-3 share a connection, then 4-6, 7-9, and 10 is alone.
  for (std::size_t i = 0; i < conns.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i + 1));
    const bool first_on_its_connection = i % 3 == 0;
    EXPECT_EQ(conns[i].reused, !first_on_its_connection);
    if (first_on_its_connection && i > 0) {
      EXPECT_NE(conns[i].id, conns[i - 1].id);
    } else if (i > 0) {
      EXPECT_EQ(conns[i].id, conns[i - 1].id);
    }
  }
  {
    const std::lock_guard lock(mu);
    ASSERT_EQ(got.size(), conns.size()) << "one got_conn per request";
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, conns[i].id);
      EXPECT_EQ(got[i].second, conns[i].reused);
    }
  }
  EXPECT_EQ(nginx().accepted_connections(), 4u);
  EXPECT_EQ(nginx().handled_requests(), 10u);
  const TransportStats stats = t.stats();
  EXPECT_EQ(stats.dials, 4u);
  EXPECT_EQ(stats.reuses, 6u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(stats.closed_for(CloseReason::not_reusable), 3u);
  EXPECT_EQ(stats.idle, 1u);
}

TEST_F(NginxTest, ConnectionIdleLongerThanTheServersKeepaliveTimeoutIsReplacedAndTheRequestSucceeds) {
  NginxOptions options;
  options.keepalive_timeout = 1s;
  ASSERT_TRUE(start_nginx(options));
  Transport& t = make_transport();

  std::optional<Fetched> first = fetch("/small");
  ASSERT_TRUE(first);
  ASSERT_EQ(t.stats().idle, 1u);
  // The point of this test is real time: nginx closes the idle connection
  // after its keepalive_timeout, without telling the client beforehand.
  std::this_thread::sleep_for(1500ms);

  std::optional<Fetched> second = fetch("/small");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, kSmallBody);
  EXPECT_FALSE(second->conn.reused);
  EXPECT_NE(second->conn.id, first->conn.id);
  EXPECT_EQ(nginx().accepted_connections(), 2u);
  const TransportStats stats = t.stats();
  EXPECT_EQ(stats.dials, 2u);
  // Found closed at checkout (the expected way), or failed and retried.
  EXPECT_EQ(stats.closed_for(CloseReason::peer_closed) + stats.retries, 1u)
      << "peer_closed " << stats.closed_for(CloseReason::peer_closed) << ", retries " << stats.retries;
  std::printf("[ measure  ] stale connection after nginx's keepalive_timeout: %s\n",
              stats.retries == 0 ? "discarded at checkout (peer_closed)" : "failed and retried");
}

TEST_F(NginxTest, ConcurrentRequestsFromEightThreadsShareAtMostFourConnections) {
  ASSERT_TRUE(start_nginx());  // keepalive_requests 1000: nginx never closes here
  TransportOptions options;
  options.max_conns_per_host = 4;
  make_transport(std::move(options));
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 50;

  std::mutex mu;
  std::map<std::uint64_t, std::set<std::string>> nginx_serials_by_conn;  // client conn id → nginx $connection
  int succeeded = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < kRequestsPerThread; ++j) {
        std::optional<Fetched> f = fetch("/request");
        if (!f) return;
        EXPECT_EQ(f->status, 200);
        const std::lock_guard lock(mu);
        nginx_serials_by_conn[f->conn.id].insert(line_value(f->body, "connection"));
        ++succeeded;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(succeeded, kThreads * kRequestsPerThread);
  std::set<std::string> serials;
  for (const auto& [id, seen] : nginx_serials_by_conn) {
    EXPECT_EQ(seen.size(), 1u) << "client connection " << id << " reached several nginx connections";
    serials.insert(seen.begin(), seen.end());
  }
  EXPECT_EQ(serials.size(), nginx_serials_by_conn.size())
      << "two client connections reached one nginx connection";
  EXPECT_LE(nginx_serials_by_conn.size(), 4u);
  std::printf("[ measure  ] %d requests from %d threads used %zu connections\n", succeeded, kThreads,
              nginx_serials_by_conn.size());
  const std::optional<std::uint64_t> accepted = nginx().accepted_connections();
  ASSERT_TRUE(accepted);
  EXPECT_EQ(*accepted, nginx_serials_by_conn.size()) << "nginx accepted connections that carried no request";
  EXPECT_EQ(transport().stats().dials, *accepted);
  EXPECT_EQ(nginx().handled_requests(), static_cast<std::uint64_t>(kThreads * kRequestsPerThread));
}

TEST_F(NginxTest, LargeAndChunkedBodiesArriveIntact) {
  ASSERT_TRUE(start_nginx());
  make_transport();

  std::optional<Fetched> bytes = fetch("/bytes/1048576");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->status, 200);
  EXPECT_EQ(bytes->content_length, 1048576);
  EXPECT_EQ(bytes->body.size(), 1048576u);
  EXPECT_TRUE(bytes->body == pattern_bytes(1048576)) << "the /bytes/1048576 body differs from its file";

  std::optional<Fetched> chunked = fetch("/chunked/65536");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 200);
  EXPECT_EQ(chunked->content_length, -1);
  EXPECT_EQ(chunked->header.get("Transfer-Encoding"), "chunked");
  EXPECT_EQ(chunked->body.size(), 65536u);
  EXPECT_TRUE(chunked->body == pattern_bytes(65536)) << "the /chunked/65536 body differs from its file";
  EXPECT_TRUE(chunked->conn.reused);
  EXPECT_EQ(nginx().accepted_connections(), 1u);
}

TEST_F(NginxTest, HeadResponseHasAnEmptyBodyAndTheConnectionIsReusedAfterIt) {
  ASSERT_TRUE(start_nginx());
  Transport& t = make_transport();

  std::optional<Fetched> head = fetch("/small", "HEAD");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->header.get("Content-Length"), "13");
  EXPECT_EQ(t.stats().idle, 1u);

  std::optional<Fetched> get = fetch("/small");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, kSmallBody);
  EXPECT_TRUE(get->conn.reused);
  EXPECT_EQ(get->conn.id, head->conn.id);
  EXPECT_EQ(nginx().accepted_connections(), 1u);
}

TEST_F(NginxTest, NoContentAndNotModifiedHaveEmptyBodiesAndTheConnectionIsReused) {
  ASSERT_TRUE(start_nginx());
  Transport& t = make_transport();

  std::optional<Fetched> no_content = fetch("/status/204");
  ASSERT_TRUE(no_content);
  EXPECT_EQ(no_content->status, 204);
  EXPECT_EQ(no_content->body, "");
  EXPECT_EQ(no_content->content_length, 0);

  std::optional<Fetched> not_modified = fetch("/status/304");
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");
  EXPECT_EQ(not_modified->content_length, 0);
  EXPECT_TRUE(not_modified->conn.reused);
  EXPECT_EQ(not_modified->conn.id, no_content->conn.id);

  std::optional<Fetched> after = fetch("/small");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, kSmallBody);
  EXPECT_TRUE(after->conn.reused);
  EXPECT_EQ(after->conn.id, no_content->conn.id);
  EXPECT_EQ(nginx().accepted_connections(), 1u);
  EXPECT_EQ(t.stats().dials, 1u);
}

}  // namespace
}  // namespace nethttp
