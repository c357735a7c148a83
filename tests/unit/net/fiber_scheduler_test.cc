// The fiber scheduler on its own: ordering, parking on sockets, deadlines,
// wake-ups from other threads, and the epoll watch surviving fd reuse.
#include "net/fiber_scheduler.h"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/fd.h"
#include "net/socket_io.h"
#include "nethttp/fibers.h"
#include "unit/net/socket_pair.h"

namespace nethttp::net {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kStack = std::size_t{128} << 10;

std::string read_some(int fd) {
  std::string buf(64, '\0');
  Result<std::size_t> n = recv_some(fd, buf);
  EXPECT_TRUE(n) << n.error().message();
  buf.resize(n ? *n : 0);
  return buf;
}

TEST(FiberScheduler, RunsFibersInSpawnOrderUntilEachReturns) {
  FiberScheduler scheduler(kStack);
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) {
    scheduler.spawn([&, i] {
      EXPECT_EQ(FiberScheduler::current(), &scheduler);
      order.push_back(i);
    });
  }
  EXPECT_EQ(FiberScheduler::current(), nullptr);
  scheduler.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(FiberScheduler::current(), nullptr);
}

TEST(FiberScheduler, AFiberSpawnedByAFiberRunsBeforeRunReturns) {
  FiberScheduler scheduler(kStack);
  bool inner_ran = false;
  scheduler.spawn([&] { scheduler.spawn([&] { inner_ran = true; }); });
  scheduler.run();
  EXPECT_TRUE(inner_ran);
}

TEST(FiberScheduler, FibersSpawnedWhileABatchRunsAllRunOnce) {
  // Each of the first batch's fibers adds many more while the batch is
  // being run: the run list must not move under the loop.
  FiberScheduler scheduler(kStack);
  constexpr int kSpawners = 3;
  constexpr int kEach = 200;
  std::vector<int> runs(kSpawners * kEach, 0);
  for (int s = 0; s < kSpawners; ++s) {
    scheduler.spawn([&, s] {
      for (int i = 0; i < kEach; ++i)
        scheduler.spawn([&, n = s * kEach + i] { ++runs[static_cast<std::size_t>(n)]; });
    });
  }
  scheduler.run();
  EXPECT_EQ(runs, std::vector<int>(kSpawners * kEach, 1));
}

TEST(FiberScheduler, AReadParksTheFiberAndTheOthersRunMeanwhile) {
  SocketPair pair;
  FiberScheduler scheduler(kStack);
  std::vector<std::string> events;
  scheduler.spawn([&] {
    events.push_back("reader waits");
    events.push_back("reader got " + read_some(pair.a.get()));
  });
  scheduler.spawn([&] {
    events.push_back("writer sends");
    ASSERT_TRUE(send_all(pair.b.get(), "ping", Clock::now() + 5s));
  });
  scheduler.run();
  EXPECT_EQ(events, (std::vector<std::string>{"reader waits", "writer sends", "reader got ping"}));
}

TEST(FiberScheduler, AReadSeesTheEndOfTheStream) {
  SocketPair pair;
  FiberScheduler scheduler(kStack);
  std::string got = "unset";
  scheduler.spawn([&] { got = read_some(pair.a.get()); });
  scheduler.spawn([&] { pair.b.reset(); });
  scheduler.run();
  EXPECT_EQ(got, "");
}

TEST(FiberScheduler, AWaitWithADeadlineReturnsFalseWhenItPasses) {
  SocketPair pair;
  FiberScheduler scheduler(kStack);
  Result<bool> ready = true;
  Clock::duration waited{};
  scheduler.spawn([&] {
    const auto start = Clock::now();
    ready = wait_for(pair.a.get(), POLLIN, start + 50ms);
    waited = Clock::now() - start;
  });
  scheduler.run();
  ASSERT_TRUE(ready);
  EXPECT_FALSE(*ready);
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 5s);
}

TEST(FiberScheduler, ARemoteInterruptWakesAParkedRead) {
  SocketPair pair;
  FiberScheduler scheduler(kStack);
  std::atomic<bool> parked{false};
  std::string got = "unset";
  scheduler.spawn([&] {
    parked = true;
    got = read_some(pair.a.get());
  });
  std::jthread interrupter([&] {
    while (!parked) std::this_thread::yield();
    std::this_thread::sleep_for(20ms);  // let it park in epoll, not in the first recv
    interrupt(pair.a.get());
  });
  scheduler.run();
  EXPECT_EQ(got, "");  // shutdown: reads see the end at once
}

TEST(FiberScheduler, ASignalWakesAFiberFromAnotherThread) {
  FiberScheduler scheduler(kStack);
  Mutex mu;
  Signal signal;
  bool done = false;  // guarded by mu
  std::atomic<bool> waiting{false};
  bool woken = false;
  scheduler.spawn([&] {
    UniqueLock lock(mu);
    waiting = true;
    while (!done) woken = signal.wait_until(lock, Clock::now() + 10s);
  });
  std::jthread notifier([&] {
    while (!waiting) std::this_thread::yield();
    const LockGuard guard(mu);
    done = true;
    signal.notify();
  });
  scheduler.run();
  EXPECT_TRUE(woken);
}

TEST(FiberScheduler, ASignalWakesAFiberFromAnotherFiber) {
  FiberScheduler scheduler(kStack);
  Mutex mu;
  Signal signal;
  bool done = false;
  std::vector<std::string> events;
  scheduler.spawn([&] {
    UniqueLock lock(mu);
    while (!done) ASSERT_TRUE(signal.wait_until(lock, std::nullopt));
    events.push_back("waiter woke");
  });
  scheduler.spawn([&] {
    const LockGuard guard(mu);
    done = true;
    signal.notify();
    events.push_back("notifier done");
  });
  scheduler.run();
  EXPECT_EQ(events, (std::vector<std::string>{"notifier done", "waiter woke"}));
}

TEST(FiberScheduler, ASignalWaitTimesOutAndALateNotifyIsIgnored) {
  FiberScheduler scheduler(kStack);
  Mutex mu;
  Signal signal;
  bool timed_out = false;
  bool second_wait_woken = false;
  scheduler.spawn([&] {
    UniqueLock lock(mu);
    timed_out = !signal.wait_until(lock, Clock::now() + 20ms);
    // A notify for the first park must not end this one early.
    signal.notify();
    second_wait_woken = signal.wait_until(lock, Clock::now() + 30ms);
  });
  scheduler.run();
  EXPECT_TRUE(timed_out);
  EXPECT_FALSE(second_wait_woken);
}

TEST(FiberScheduler, AReusedFdNumberIsWatchedAfresh) {
  // The first socket is watched, then closed; the next one gets the same
  // number. A stale watch would never report it and the read would hang.
  FiberScheduler scheduler(kStack);
  std::vector<std::string> got;
  scheduler.spawn([&] {
    for (int round = 0; round < 3; ++round) {
      SocketPair pair;
      std::jthread writer([&] {
        std::this_thread::sleep_for(10ms);
        (void)send_all(pair.b.get(), "round", Clock::now() + 5s);
      });
      // Bounded: a stale watch never reports the bytes, so the wait would
      // last until its deadline (then poll() finds them) instead of ~10 ms.
      const auto start = Clock::now();
      Result<bool> ready = wait_for(pair.a.get(), POLLIN, start + 3s);
      ASSERT_TRUE(ready && *ready) << "round " << round;
      EXPECT_LT(Clock::now() - start, 2s) << "round " << round;
      got.push_back(read_some(pair.a.get()));
    }
  });
  scheduler.run();
  EXPECT_EQ(got, (std::vector<std::string>{"round", "round", "round"}));
}

TEST(FiberScheduler, AnEmptyReadLetsTheNextReadParkAtOnceWithoutLosingBytes) {
  SocketPair pair;
  FiberScheduler scheduler(kStack);
  std::string got;
  scheduler.spawn([&] {
    std::string buf(8, '\0');
    // Watched first (a short wait), then found empty: from here a read may
    // park without trying.
    ASSERT_TRUE(wait_for(pair.a.get(), POLLIN, Clock::now() + 1ms));
    Result<std::optional<std::size_t>> none = try_recv(pair.a.get(), buf);
    ASSERT_TRUE(none);
    ASSERT_FALSE(*none);
    EXPECT_TRUE(FiberScheduler::current()->known_empty(pair.a.get()));
    scheduler.spawn([&] { ASSERT_TRUE(send_all(pair.b.get(), "late", Clock::now() + 5s)); });
    got = read_some(pair.a.get());
  });
  scheduler.run();
  EXPECT_EQ(got, "late");
}

TEST(FiberScheduler, AShortReadIsNotTakenForAnEmptySocketTheEndMayFollow) {
  // The peer's last bytes and its FIN are both in before the read: a read
  // that parked after taking the bytes would get no new report of the end.
  SocketPair pair;
  FiberScheduler scheduler(kStack);
  std::string got = "unset";
  Clock::duration waited{};
  scheduler.spawn([&] {
    ASSERT_TRUE(wait_for(pair.a.get(), POLLIN, Clock::now() + 1ms));  // watched from here on
    ASSERT_TRUE(send_all(pair.b.get(), "last", Clock::now() + 5s));
    pair.b.reset();
    std::string buf(8, '\0');
    Result<std::optional<std::size_t>> short_read = try_recv(pair.a.get(), buf);
    ASSERT_TRUE(short_read && *short_read && **short_read == 4);
    EXPECT_FALSE(FiberScheduler::current()->known_empty(pair.a.get()));
    const auto start = Clock::now();
    got = read_some(pair.a.get());
    waited = Clock::now() - start;
  });
  // Bounds a wrong park: the interrupt reports the socket after 2 s.
  std::jthread watchdog([fd = pair.a.get()](std::stop_token stop) {
    const auto until = Clock::now() + 2s;
    while (!stop.stop_requested() && Clock::now() < until) std::this_thread::sleep_for(10ms);
    if (!stop.stop_requested()) interrupt(fd);
  });
  scheduler.run();
  watchdog.request_stop();
  EXPECT_EQ(got, "");
  EXPECT_LT(waited, 1s);
}

TEST(FiberScheduler, BytesThatArriveAfterAnEmptyReadClearTheKnowledge) {
  SocketPair pair;
  FiberScheduler scheduler(kStack);
  bool empty_before = false;
  bool empty_after = true;
  std::string got;
  scheduler.spawn([&] {
    std::string buf(8, '\0');
    ASSERT_TRUE(wait_for(pair.a.get(), POLLIN, Clock::now() + 1ms));
    (void)try_recv(pair.a.get(), buf);
    empty_before = FiberScheduler::current()->known_empty(pair.a.get());
    // Another fiber writes, then this one waits for something else: the
    // loop sees the socket's report meanwhile.
    scheduler.spawn([&] { ASSERT_TRUE(send_all(pair.b.get(), "data", Clock::now() + 5s)); });
    SocketPair other;
    ASSERT_TRUE(wait_for(other.a.get(), POLLIN, Clock::now() + 30ms));
    empty_after = FiberScheduler::current()->known_empty(pair.a.get());
    got = read_some(pair.a.get());
  });
  scheduler.run();
  EXPECT_TRUE(empty_before);
  EXPECT_FALSE(empty_after);
  EXPECT_EQ(got, "data");
}

TEST(FiberGroup, RunsHundredsOfParkedFibersOnOneThread) {
  // Each fiber waits on its own socket; one writer feeds them all.
  constexpr int kFibers = 400;  // 800 descriptors: under the usual limit of 1024
  std::vector<SocketPair> pairs(kFibers);
  FiberGroup group(FiberGroup::Options{.stack_size = kStack});
  std::atomic<int> done{0};
  const std::thread::id runner = std::this_thread::get_id();
  bool all_on_runner = true;
  for (int i = 0; i < kFibers; ++i) {
    group.spawn([&, i] {
      if (std::this_thread::get_id() != runner) all_on_runner = false;
      if (read_some(pairs[static_cast<std::size_t>(i)].a.get()) == "x") ++done;
    });
  }
  group.spawn([&] {
    for (SocketPair& p : pairs) ASSERT_TRUE(send_all(p.b.get(), "x", Clock::now() + 5s));
  });
  group.run();
  EXPECT_EQ(done, kFibers);
  EXPECT_TRUE(all_on_runner);
}

TEST(FiberGroup, AGroupNeverRunDropsItsFibersUnstarted) {
  bool ran = false;
  {
    FiberGroup group;
    group.spawn([&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace nethttp::net
