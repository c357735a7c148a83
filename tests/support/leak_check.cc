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
  fds_ = count_open_fds();
  threads_ = count_threads();
}

void LeakCheckedTest::TearDown() {
  if (transport_) {
    if (checks_.settle_dials) {
      EXPECT_TRUE(wait_for([&] {
        const TransportStats s = transport_->stats();
        return s.dialing == 0 && s.waiting == 0;
      })) << "a dial or a waiter is left";
    }
    EXPECT_EQ(transport_->stats().in_use, 0u)
        << "a connection is still in use after every response was dropped";
    transport_.reset();
  }
  destroy_servers();
  EXPECT_TRUE(wait_for([&] { return count_open_fds() == fds_; }))
      << "open fds: " << count_open_fds() << ", before the test: " << fds_;
  if (checks_.threads) {
    EXPECT_TRUE(wait_for([&] { return count_threads() == threads_; }))
        << "threads: " << count_threads() << ", before the test: " << threads_;
  }
}

Transport& LeakCheckedTest::make_transport(TransportOptions options) {
  transport_ = std::make_unique<Transport>(std::move(options));
  return *transport_;
}

}  // namespace nethttp::testing
