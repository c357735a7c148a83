// A connected pair of Unix stream sockets for the net layer's tests.
#pragma once

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "net/fd.h"

namespace nethttp::net {

/// Both ends owned: `a` for the code under test, `b` for the test's side.
struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  Fd a;
  Fd b;
};

}  // namespace nethttp::net
