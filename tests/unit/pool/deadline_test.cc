// Request deadlines arm a timer on the process-wide timer thread; a request
// that ends before its deadline cancels it.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "support/test_server.h"
#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

class RequestDeadline : public LeakCheckedTest {};

// Regression (TSan: heap-use-after-free in net::Timers::run()): the timer
// thread waited on a reference into the entry that an ending request's
// IoWatch cancels (erases). A deadline that is cancelled while it is the
// timer thread's next one, then an earlier deadline that wakes the thread,
// is the sequence that read the freed entry. Only sanitizers can see it.
TEST_F(RequestDeadline, ADeadlineCanceledWhileTheTimerThreadWaitsForItLeavesNothingDangling) {
  TestServer server;
  Transport& t = make_transport();
  const auto in = [](std::chrono::milliseconds d) {
    return [d](Request& r) { r.deadline = std::chrono::steady_clock::now() + d; };
  };
  // The timer thread now waits for this deadline...
  Result<Response> first = t.round_trip(get_req(server.url() + "/", in(1'000ms)));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "ok");  // ...which ends unused and is cancelled.
  // An earlier deadline wakes the timer thread.
  Result<Response> second = t.round_trip(get_req(server.url() + "/", in(500ms)));
  ASSERT_OK(second);
  EXPECT_EQ(read_body(*second), "ok");
  EXPECT_EQ(second->conn.id, first->conn.id) << "a deadline that did not fire leaves the connection usable";
}

TEST_F(RequestDeadline, ADeadlineThatDidNotFireDoesNotInterruptThePooledConnectionLater) {
  TestServer server;
  Transport& t = make_transport();
  Result<Response> first = t.round_trip(
      get_req(server.url() + "/", [](Request& r) { r.deadline = std::chrono::steady_clock::now() + 100ms; }));
  ASSERT_OK(first);
  EXPECT_EQ(read_body(*first), "ok");
  // Wait past the deadline: the idle connection must still be whole.
  const auto past = std::chrono::steady_clock::now() + 150ms;
  ASSERT_TRUE(wait_for([&] { return std::chrono::steady_clock::now() >= past; }));
  Result<Response> second = t.round_trip(get_req(server.url() + "/"));
  ASSERT_OK(second);
  EXPECT_EQ(second->conn.id, first->conn.id);
  EXPECT_EQ(read_body(*second), "ok");
  EXPECT_EQ(t.stats().closed_for(CloseReason::peer_closed), 0u);
}

}  // namespace
}  // namespace nethttp::testing
