#include "support/leak_check.h"

#include <thread>

#include "net/timers.h"
#include "support/fd_count.h"
#include "support/wait.h"

namespace nethttp::testing {

void LeakCheckedTest::SetUp() {
  // Process-wide threads that outlive every test: start them first.
  (void)net::Timers::shared();
  std::thread([] {}).join();  // TSan's helper thread
  fds_ = open_fds();
  threads_ = count_threads();
}

void LeakCheckedTest::TearDown() {
  for (const std::unique_ptr<Transport>& transport : transports_) {
    if (checks_.settle_dials) {
      EXPECT_TRUE(wait_for([&] {
        const TransportStats s = transport->stats();
        return s.dialing == 0 && s.waiting == 0;
      })) << "a dial or a waiter is left";
    }
    EXPECT_EQ(transport->stats().in_use, 0u)
        << "a connection is still in use after every response was dropped";
  }
  transports_.clear();
  destroy_servers();
  // Descriptors the test opened and did not close; one that was open before
  // and closed since (the runtime's own) is not a leak.
  EXPECT_TRUE(wait_for([&] { return opened_since(fds_, open_fds()).empty(); }))
      << "fds left open: " << describe(opened_since(fds_, open_fds()));
  if (checks_.threads) {
    // Fewer is no leak: a thread that had just been joined when the test
    // began can still be listed then (the kernel reaps it after the join).
    EXPECT_TRUE(wait_for([&] { return count_threads() <= threads_; }))
        << "threads: " << count_threads() << ", before the test: " << threads_;
  }
}

Transport& LeakCheckedTest::make_transport(TransportOptions options) {
  transports_.push_back(std::make_unique<Transport>(std::move(options)));
  return *transports_.back();
}

}  // namespace nethttp::testing
