// Many threads through one Transport. Run it under TSan: it is how the
// use-after-free of a cancelled deadline in net::Timers::run() was found.
#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/async_round_trip.h"
#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class TransportConcurrency : public LeakCheckedTest {};

TEST_F(TransportConcurrency, SixteenThreadsShareFourConnectionsWithoutErrorsOrLeaks) {
  constexpr int kThreads = 16;
  constexpr int kRequestsPerThread = 200;
  constexpr int kMaxConns = 4;
  TestServer server(
      [](const ServerRequest& request, ServerResponse& response) { response.set_body(request.target); });
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = kMaxConns; }));

  std::atomic<int> failures{0};
  std::atomic<int> mismatches{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        for (int j = 0; j < kRequestsPerThread; ++j) {
          const std::string target = "/t" + std::to_string(i) + "/r" + std::to_string(j);
          Result<Response> r = t.round_trip(get_req(server.url() + target, with_safety_deadline));
          if (!r) {
            ++failures;
            continue;
          }
          Result<std::string> body = r->body.read_all();
          if (!body) {
            ++failures;
          } else if (*body != target) {
            ++mismatches;
          }
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0) << "a response went to the wrong request";
  EXPECT_LE(server.connections_accepted(), static_cast<std::size_t>(kMaxConns));
  const TransportStats s = t.stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.dialing, 0u);
  EXPECT_EQ(s.requests, static_cast<std::uint64_t>(kThreads * kRequestsPerThread));
  EXPECT_EQ(s.dials, server.connections_accepted());
  EXPECT_EQ(s.reuses + s.dials, s.requests);
  EXPECT_EQ(s.idle, s.dials);
}

TEST_F(TransportConcurrency, WaitersThatTimeOutOrAreCanceledLeaveThePoolConsistent) {
  // One connection, eight threads, some requests with short deadlines and
  // some canceled: whatever each outcome, no slot, waiter or fd is lost.
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 40;
  TestServer server;
  Transport& t = make_transport(options([&](TransportOptions& o) { o.max_conns_per_host = 1; }));
  std::atomic<int> ok{0};
  std::atomic<int> gave_up{0};
  std::atomic<int> other{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        for (int j = 0; j < kRequestsPerThread; ++j) {
          std::stop_source stop;
          const int kind = (i + j) % 3;
          Result<Response> r = t.round_trip(get_req(server.url() + "/", [&](Request& q) {
            if (kind == 0) q.deadline = std::chrono::steady_clock::now() + 1ms;
            if (kind == 1) q.cancel = stop.get_token();
            if (kind == 2) with_safety_deadline(q);
          }));
          if (kind == 1) stop.request_stop();  // after the fact: must not disturb anything
          if (!r) {
            const ErrorKind k = r.error().kind();
            (k == ErrorKind::timeout || k == ErrorKind::canceled ? gave_up : other)++;
            continue;
          }
          Result<std::string> body = r->body.read_all();
          if (body && *body == "ok") {
            ++ok;
          } else if (!body && (body.error().kind() == ErrorKind::timeout ||
                               body.error().kind() == ErrorKind::canceled)) {
            ++gave_up;
          } else {
            ++other;
          }
        }
      });
    }
  }
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + gave_up.load(), kThreads * kRequestsPerThread);
  EXPECT_GT(ok.load(), 0);
  const TransportStats s = t.stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_LE(s.idle, 1u);
  // Still usable.
  Result<Response> r = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(r);
  EXPECT_EQ(read_body(*r), "ok");
}

}  // namespace
}  // namespace nethttp::testing
