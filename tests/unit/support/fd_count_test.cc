// The leak-check helpers.
#include "support/fd_count.h"

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

namespace nethttp::testing {
namespace {

TEST(FdCount, CountsAnFdWhileItIsOpen) {
  const int before = count_open_fds();
  ASSERT_GT(before, 0);
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(count_open_fds(), before + 1);
  ::close(fd);
  EXPECT_EQ(count_open_fds(), before);
}

TEST(FdCount, OpenedSinceNamesTheFdsOpenedAndStillOpenButNotTheOnesClosed) {
  const int kept = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(kept, 0);
  const FdSnapshot before = open_fds();
  EXPECT_EQ(before.at(kept), "/dev/null");
  ::close(kept);
  const int leaked = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  const FdSnapshot opened = opened_since(before, open_fds());
  EXPECT_EQ(describe(opened), std::to_string(leaked) + " -> /dev/zero");
  ::close(leaked);
  EXPECT_TRUE(opened_since(before, open_fds()).empty());
}

TEST(FdCount, AnFdNumberReusedForAnotherFileCountsAsOpened) {
  const int first = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const FdSnapshot before = open_fds();
  ::close(first);
  const int second = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(second, first);
  EXPECT_EQ(opened_since(before, open_fds()).count(second), 1u);
  ::close(second);
}

TEST(FdCount, CountsAThreadWhileItRuns) {
  std::thread([] {}).join();  // TSan starts a helper thread with the first thread
  const int before = count_threads();
  ASSERT_GE(before, 1);
  int during = 0;
  std::thread t([&] { during = count_threads(); });
  t.join();
  EXPECT_EQ(during, before + 1);
  EXPECT_EQ(count_threads(), before);
}

}  // namespace
}  // namespace nethttp::testing
