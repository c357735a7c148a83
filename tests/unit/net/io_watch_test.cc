// IoWatch: a deadline interrupts the socket; a disarmed watch never does.
#include "net/io_watch.h"

#include <poll.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "net/fd.h"
#include "net/socket_io.h"
#include "unit/net/socket_pair.h"

namespace nethttp::net {
namespace {

using namespace std::chrono_literals;

TEST(IoWatch, ADeadlineThatPassesInterruptsTheSocketAndSaysWhy) {
  SocketPair pair;
  const IoWatch watch(pair.a.get(), Clock::now() + 10ms, std::stop_token());
  Result<bool> ready = wait_for(pair.a.get(), POLLIN, Clock::now() + 5s);
  ASSERT_TRUE(ready && *ready);
  EXPECT_EQ(watch.fired(), IoWatch::Fired::deadline);
  EXPECT_EQ(probe_idle(pair.a.get()), IdleProbe::closed);
}

TEST(IoWatch, ADisarmedWatchNeverFiresAndItsAnswerIsFinal) {
  SocketPair pair;
  IoWatch watch(pair.a.get(), Clock::now() + 20ms, std::stop_token());
  watch.disarm();
  watch.disarm();  // idempotent
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(watch.fired(), IoWatch::Fired::none);
  // The socket was not shut down: still quiet and usable.
  EXPECT_EQ(probe_idle(pair.a.get()), IdleProbe::quiet);
  ASSERT_TRUE(send_all(pair.b.get(), "x", Clock::now() + 5s));
  EXPECT_EQ(probe_idle(pair.a.get()), IdleProbe::unsolicited);
}

TEST(IoWatch, ADisarmedWatchIgnoresALaterStop) {
  SocketPair pair;
  std::stop_source stop;
  IoWatch watch(pair.a.get(), std::nullopt, stop.get_token());
  watch.disarm();
  stop.request_stop();
  EXPECT_EQ(watch.fired(), IoWatch::Fired::none);
  EXPECT_EQ(probe_idle(pair.a.get()), IdleProbe::quiet);
}

}  // namespace
}  // namespace nethttp::net
