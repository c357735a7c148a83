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
