// Helpers of the pool tests: the leak-checked fixture, a bounded wait for a
// state, a fake clock, a dialer whose N-th dial can be held at a gate, a
// recorder of trace events, and request builders.
//
// Nothing here sleeps to let a state happen: wait_for() polls a predicate
// until it holds (or a generous timeout says the state never came).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "net/timers.h"
#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/trace.h"
#include "nethttp/transport.h"
#include "support/fd_count.h"
#include "support/split_feed.h"  // PrintTo(ErrorKind)

namespace nethttp {

inline void PrintTo(CloseReason reason, std::ostream* os) {
  *os << to_string(reason);
}

}  // namespace nethttp

/// Fails the test (and returns) unless `result` holds a value; shows the error.
#define ASSERT_OK(result) ASSERT_TRUE((result).ok()) << (result).error().message()

namespace nethttp::testing {

using namespace std::chrono_literals;

/// How long a wait for a state may take before the state is declared never
/// to come: long enough for a loaded machine under TSan; waits end as soon
/// as the state holds.
inline constexpr std::chrono::milliseconds kWait = 10s;

/// Polls `done` until it holds or `timeout` passes; returns its last value.
/// The way to wait for another thread's progress (never sleep-then-assert).
template <class Predicate>
bool wait_for(Predicate&& done, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// A one-shot signal between threads.
class Gate {
 public:
  void open() {
    {
      const std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  /// True once open; false if `timeout` passed first.
  bool wait(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  [[nodiscard]] bool is_open() const {
    const std::lock_guard lock(mu_);
    return open_;
  }

 private:
  mutable std::mutex mu_;  // guards open_
  std::condition_variable cv_;
  bool open_ = false;
};

/// The pool's clock, moved only by the test.
class FakeClock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const {
    return base_ + std::chrono::nanoseconds(offset_ns_.load());
  }
  void advance(std::chrono::nanoseconds d) { offset_ns_ += d.count(); }

  /// A ClockFunc reading `clock` (shared: the pool may outlive the test's scope).
  static ClockFunc func(const std::shared_ptr<FakeClock>& clock) {
    return [clock] { return clock->now(); };
  }

 private:
  const std::chrono::steady_clock::time_point base_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> offset_ns_{0};
};

/// A blocking TCP connection to 127.0.0.1:port, as a dial hook returns it.
inline Result<int> connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error(ErrorKind::connect, "socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return Error(ErrorKind::connect, "connect to 127.0.0.1:" + std::to_string(port), err);
  }
  return fd;
}

/// A dial hook that connects to one port (whatever host was asked for),
/// counts dials, can hold one of them (the N-th, from 1) until the test
/// opens `release`, and can fail one (ErrorKind::connect). Shared with the
/// hook: the dial thread may outlive the test's scope.
class GatedDialer {
 public:
  explicit GatedDialer(std::uint16_t port, int hold_dial = 0, int fail_dial = 0)
      : port_(port), hold_dial_(hold_dial), fail_dial_(fail_dial) {}

  static DialFunc func(const std::shared_ptr<GatedDialer>& dialer) {
    return [dialer](const DialRequest&) { return dialer->dial(); };
  }

  /// Opened when the held dial has started (and is now waiting).
  Gate held;
  /// Lets the held dial go on.
  Gate release;

  [[nodiscard]] int dials_started() const { return started_.load(); }

 private:
  Result<int> dial() {
    const int n = ++started_;
    if (n == hold_dial_) {
      held.open();
      if (!release.wait()) return Error(ErrorKind::connect, "the test never released the held dial");
    }
    if (n == fail_dial_) return Error(ErrorKind::connect, "connection refused by the test");
    return connect_loopback(port_);
  }

  const std::uint16_t port_;
  const int hold_dial_;
  const int fail_dial_;
  std::atomic<int> started_{0};
};

/// Records trace events as text, in the order they happened (the hooks run
/// on requesting and dial threads, never concurrently for one request).
class TraceLog {
 public:
  static Trace hooks(const std::shared_ptr<TraceLog>& log) {
    Trace t;
    t.get_conn = [log](std::string_view key) { log->add("get_conn " + std::string(key)); };
    t.got_conn = [log](std::uint64_t id, bool reused, bool was_idle, std::chrono::nanoseconds idle) {
      {
        const std::lock_guard lock(log->mu_);
        log->idle_times_.push_back(idle);
      }
      log->add("got_conn " + std::to_string(id) + (reused ? " reused" : " new") + (was_idle ? " idle" : ""));
    };
    t.put_idle = [log](std::uint64_t id) { log->add("put_idle " + std::to_string(id)); };
    t.dns_start = [log](std::string_view host) { log->add("dns_start " + std::string(host)); };
    t.dns_done = [log](std::string_view host, const Error* e) {
      log->add("dns_done " + std::string(host) + (e != nullptr ? " error" : ""));
    };
    t.connect_start = [log](std::string_view address) { log->add("connect_start " + std::string(address)); };
    t.connect_done = [log](std::string_view address, const Error* e) {
      log->add("connect_done " + std::string(address) + (e != nullptr ? " error" : ""));
    };
    t.wrote_headers = [log](std::uint64_t id) { log->add("wrote_headers " + std::to_string(id)); };
    t.wrote_request = [log](std::uint64_t id, const Error* e) {
      log->add("wrote_request " + std::to_string(id) + (e != nullptr ? " error" : ""));
    };
    t.got_first_response_byte = [log](std::uint64_t id) {
      log->add("got_first_response_byte " + std::to_string(id));
    };
    t.conn_closed = [log](std::uint64_t id, CloseReason why) {
      {
        const std::lock_guard lock(log->mu_);
        log->closed_.emplace_back(id, why);
      }
      log->add("conn_closed " + std::to_string(id) + " " + std::string(to_string(why)));
    };
    return t;
  }

  [[nodiscard]] std::vector<std::string> events() const {
    const std::lock_guard lock(mu_);
    return events_;
  }
  /// Events of one kind (the text up to the first space), in order.
  [[nodiscard]] std::vector<std::string> events(std::string_view kind) const {
    std::vector<std::string> out;
    for (const std::string& e : events()) {
      if (e.substr(0, e.find(' ')) == kind) out.push_back(e);
    }
    return out;
  }
  [[nodiscard]] std::vector<std::pair<std::uint64_t, CloseReason>> closed() const {
    const std::lock_guard lock(mu_);
    return closed_;
  }
  [[nodiscard]] std::vector<std::chrono::nanoseconds> idle_times() const {
    const std::lock_guard lock(mu_);
    return idle_times_;
  }
  void clear() {
    const std::lock_guard lock(mu_);
    events_.clear();
    closed_.clear();
    idle_times_.clear();
  }

 private:
  void add(std::string event) {
    const std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }

  mutable std::mutex mu_;  // guards the following fields
  std::vector<std::string> events_;
  std::vector<std::pair<std::uint64_t, CloseReason>> closed_;
  std::vector<std::chrono::nanoseconds> idle_times_;
};

/// Transport options: the defaults, then `edit` (designated initializers
/// would warn about every field left out).
template <class Edit>
TransportOptions options(Edit&& edit) {
  TransportOptions o;
  edit(o);
  return o;
}

/// A request for round_trip(); `edit` sets deadline, cancel, headers...
inline std::shared_ptr<const Request> make_req(std::string method, const std::string& url,
                                               RequestBody body = {},
                                               const std::function<void(Request&)>& edit = {}) {
  Result<Request> request = make_request(std::move(method), url, std::move(body));
  if (!request) {
    ADD_FAILURE() << request.error().message();
    return std::make_shared<const Request>();
  }
  if (edit) edit(*request);
  return std::make_shared<const Request>(std::move(*request));
}

inline std::shared_ptr<const Request> get_req(const std::string& url,
                                              const std::function<void(Request&)>& edit = {}) {
  return make_req("GET", url, {}, edit);
}

/// Reads the rest of a response's body; "<error: ...>" if that fails.
inline std::string read_body(Response& response) {
  Result<std::string> body = response.body.read_all();
  return body ? *body : "<error: " + body.error().message() + ">";
}

/// Every test ends with a leak check: the transport it made has no
/// connection in use, nobody waiting or dialing; and once the transport and
/// the servers are gone, the process has the file descriptors and threads it
/// had before the test (dial threads are detached: they are waited for).
class LeakCheckedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Process-wide threads that outlive every test: start them first.
    (void)net::Timers::shared();
    std::thread([] {}).join();  // TSan's helper thread
    fds_ = count_open_fds();
    threads_ = count_threads();
  }

  void TearDown() override {
    if (transport_) {
      EXPECT_TRUE(wait_for([&] {
        const TransportStats s = transport_->stats();
        return s.dialing == 0 && s.waiting == 0;
      })) << "a dial or a waiter is left";
      const TransportStats s = transport_->stats();
      EXPECT_EQ(s.in_use, 0u) << "a connection is still in use after every response was dropped";
      transport_.reset();
    }
    EXPECT_TRUE(wait_for([&] { return count_open_fds() == fds_; }))
        << "open fds: " << count_open_fds() << ", before the test: " << fds_;
    EXPECT_TRUE(wait_for([&] { return count_threads() == threads_; }))
        << "threads: " << count_threads() << ", before the test: " << threads_;
  }

  /// The test's transport, checked and destroyed in TearDown().
  Transport& make_transport(TransportOptions options = {}) {
    transport_ = std::make_unique<Transport>(std::move(options));
    return *transport_;
  }

 private:
  int fds_ = 0;
  int threads_ = 0;
  std::unique_ptr<Transport> transport_;
};

}  // namespace nethttp::testing
