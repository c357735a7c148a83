// The leak-checked fixture: every test ends with a check that the transports
// it made have no connection in use, and that once the transports and the
// servers are gone the process has the file descriptors (and threads) it had
// before the test.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/transport.h"
#include "support/fd_count.h"

namespace nethttp::testing {

/// What LeakCheckedTest::TearDown() checks besides "no connection in use"
/// and "the fds of before the test".
struct LeakChecks {
  /// Wait (bounded) for the transport's dials and waiters to end before the
  /// in-use check (dial threads are detached: they are waited for).
  bool settle_dials = true;
  /// The thread count is back to where it was before the test.
  bool threads = true;
};

/// `transport` for a Client that must not own it (a fixture does).
inline std::shared_ptr<Transport> borrow(Transport& transport) {
  return std::shared_ptr<Transport>(&transport, [](Transport*) {});
}

/// Owns the Transports and the servers of one test and checks in TearDown()
/// that nothing leaked: no connection in use once the test's responses are
/// gone, and every fd (and thread) back to its count before the test once
/// the Transports and the servers are destroyed.
class LeakCheckedTest : public ::testing::Test {
 protected:
  LeakCheckedTest() = default;
  explicit LeakCheckedTest(LeakChecks checks) : checks_(checks) {}

  void SetUp() override;
  void TearDown() override;

  /// A transport for the test, checked and destroyed in TearDown() (every
  /// one the test made, not only the last).
  Transport& make_transport(TransportOptions options = {});
  /// The transport made last.
  Transport& transport() { return *transports_.back(); }

  /// Keeps `server` until TearDown(), which destroys it after the transports.
  template <class Server>
  Server& keep_server(std::shared_ptr<Server> server) {
    servers_.push_back(server);
    return *server;
  }
  /// Destroys the servers (after the transports, before the counts are
  /// compared); a fixture holding servers of its own extends it.
  virtual void destroy_servers() { servers_.clear(); }

 private:
  LeakChecks checks_;
  FdSnapshot fds_;
  int threads_ = -1;
  std::vector<std::unique_ptr<Transport>> transports_;
  std::vector<std::shared_ptr<void>> servers_;
};

}  // namespace nethttp::testing
