// FiberGroup (nethttp/fibers.h) against real servers: many requests in
// flight on one thread through one Client; the pool's waiters woken by
// fibers, by threads and by dial threads; every wait (a response head, a
// full send buffer, 100-continue, a drain, a pool slot) parking one fiber
// while the others go on; deadlines and cancellation of a parked fiber from
// a thread and from a fiber; TLS; errors; fd numbers reused under the
// scheduler's epoll watches; fibers spawned by fibers. Each test asserts what
// the fibers got and what the pool did (Transport::stats()), and ends with
// the leak check (nothing in use, every fd and thread back).
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "nethttp/fibers.h"
#include "nethttp/transport.h"
#include "support/async_round_trip.h"
#include "support/body_sources.h"
#include "support/dead_ports.h"
#include "support/dialers.h"
#include "support/leak_check.h"
#include "support/nginx.h"
#include "support/printers.h"
#include "support/scripted_server.h"
#include "support/test_server.h"
#include "support/tls_certs.h"
#include "support/wait.h"

namespace nethttp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ExpectContinue;
using testing::Gate;
using testing::kSmallBody;
using testing::kWait;
using testing::LeakCheckedTest;
using testing::line_value;
using testing::NginxOptions;
using testing::NginxServer;
using testing::NginxTlsOptions;
using testing::pattern;
using testing::pattern_byte;
using testing::pattern_bytes;
using testing::PatternSource;
using testing::RefusingPort;
using testing::Script;
using testing::ScriptedServer;
using testing::ServerRequest;
using testing::ServerResponse;
using testing::TestPki;
using testing::TestServer;
using testing::TestServerOptions;
using testing::wait_for;
using testing::with_safety_deadline;

/// Bound on a cancellation's or a timeout's lateness: far above what it
/// takes, far below a hang.
constexpr auto kPrompt = 1s;

/// Bound on one FiberGroup::run() here: the slowest test (64 MiB up and
/// back under TSan) takes seconds; only a fiber that never wakes gets near.
constexpr std::chrono::milliseconds kRunLimit = 120s;

/// The deadline of the large uploads: the safety deadline is for small
/// exchanges, and a sanitizer build moves tens of MiB slowly.
constexpr auto kUploadDeadline = 60s;

/// The upload to a ScriptedServer that reads nothing at first: its limit
/// (RequestLimits::max_body_bytes), far more than the loopback buffers of a
/// socket nobody reads hold.
constexpr std::size_t kUploadToScriptBytes = std::size_t{16} << 20;
/// The upload to nginx.
constexpr std::uint64_t kUploadToNginxBytes = std::uint64_t{64} << 20;

/// Runs `group` to its end. Nothing can unpark a fiber from outside, so a
/// lost wake-up would hang run() for good: past `limit` the program ends
/// naming the test, a failure instead of a hang.
void run_bounded(FiberGroup& group, std::chrono::milliseconds limit = kRunLimit) {
  Gate returned;
  std::thread watchdog([&returned, limit] {
    if (returned.wait(limit)) return;
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::fprintf(stderr, "FiberGroup::run() has not returned after %lld s in %s.%s: a fiber never woke\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(limit).count()),
                 test != nullptr ? test->test_suite_name() : "?", test != nullptr ? test->name() : "?");
    std::abort();
  });
  group.run();
  returned.open();
  watchdog.join();
}

/// Whether the thread `tid` of this process is blocked in epoll_wait now
/// (/proc/self/task/TID/syscall); nullopt when that cannot be read. For the
/// thread that runs a FiberGroup it means: every fiber is parked.
std::optional<bool> in_epoll_wait(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;  // NOLINT(google-runtime-int): the kernel's syscall numbers are longs
  if (!(in >> number)) return std::nullopt;
  return number == SYS_epoll_wait || number == SYS_epoll_pwait
#ifdef SYS_epoll_pwait2
         || number == SYS_epoll_pwait2
#endif
      ;
}

/// For wait_for(): the thread `tid` runs a FiberGroup whose fibers are all
/// parked (or /proc cannot tell, and the caller goes on without knowing).
bool all_parked(pid_t tid) {
  return in_epoll_wait(tid).value_or(true);
}

/// "error <kind>: <message>", for outcomes compared as strings.
std::string describe(const Error& error) {
  return "error " + std::string(to_string(error.kind())) + ": " + error.message();
}

/// A request with the safety deadline: a fiber that a bug leaves parked
/// fails with a timeout instead of hanging the group.
Request request(const std::string& method, const std::string& url, RequestBody body = {}) {
  Result<Request> made = make_request(method, url, std::move(body));
  EXPECT_TRUE(made) << made.error().message();
  if (!made) return Request{};
  with_safety_deadline(*made);
  return *std::move(made);
}

/// Sends `r` and reads the whole body: the body, or "error <kind>: <message>".
std::string outcome(Client& client, Request r) {
  Result<Response> response = client.send(std::move(r));
  if (!response) return describe(response.error());
  Result<std::string> body = response->body.read_all();
  return body ? *std::move(body) : describe(body.error());
}

std::string fetch(Client& client, const std::string& url) {
  return outcome(client, request("GET", url));
}

/// The first of `wrong` (for a failure message), or "".
std::string first_of(const std::vector<std::string>& wrong) {
  return wrong.empty() ? std::string() : wrong.front();
}

/// What GETs of "ok" pages made by fibers of one group got.
struct FiberFetches {
  int ok = 0;
  std::vector<std::string> wrong;  ///< every answer but "ok"
};

/// Runs `fibers` fibers in a new group, each fetching `base`/F-I for I in
/// [0, each) one after another through `client`.
FiberFetches fetch_in_fibers(Client& client, const std::string& base, int fibers, int each) {
  FiberFetches got;
  FiberGroup group;
  for (int f = 0; f < fibers; ++f) {
    group.spawn([&, f] {
      for (int i = 0; i < each; ++i) {
        std::string body = fetch(client, base + "/" + std::to_string(f) + "-" + std::to_string(i));
        if (body == "ok") {
          ++got.ok;
        } else {
          got.wrong.push_back(std::move(body));
        }
      }
    });
  }
  run_bounded(group);
  return got;
}

/// Records which threads ran the fibers (a lock, so that the record stays
/// right even if fibers did run elsewhere, which is what it checks).
class ThreadLog {
 public:
  void here() {
    const std::lock_guard lock(mu_);
    ids_.insert(std::this_thread::get_id());
  }
  [[nodiscard]] std::set<std::thread::id> ids() const {
    const std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  mutable std::mutex mu_;  // guards ids_
  std::set<std::thread::id> ids_;
};

/// The connections that carried a request (the got_conn hook). A dial may
/// end after its request was served by a connection given back meanwhile
/// (late binding): that connection waits idle, so the dials can outnumber
/// the connections used, and reuses are counted against the latter.
class ConnLog {
 public:
  /// Records the transport's connections into `log` (shared with the hook).
  static void attach(const std::shared_ptr<ConnLog>& log, TransportOptions& options) {
    options.trace.got_conn = [log](std::uint64_t id, bool, bool, std::chrono::nanoseconds) {
      const std::lock_guard lock(log->mu_);
      log->ids_.insert(id);
    };
  }
  [[nodiscard]] std::uint64_t count() const {
    const std::lock_guard lock(mu_);
    return ids_.size();
  }

 private:
  mutable std::mutex mu_;  // guards ids_
  std::set<std::uint64_t> ids_;
};

/// How many connections of a ScriptedServer carried its requests.
std::uint64_t connections_used(const std::vector<ServerRequest>& seen) {
  std::set<std::size_t> used;
  for (const ServerRequest& r : seen) used.insert(r.connection_index);
  return used.size();
}

/// A dial hook to 127.0.0.1:port whose dials, after the first `free` ones,
/// wait until the test opens `go` (at most kWait). A dial thread can be
/// quicker than a fiber (all the more under TSan): the first fibers could
/// get a connection, and even finish, before the last ones have asked. A
/// fiber spawned after the others opens `go` once all have queued, which
/// makes the dials and the waiters exact. Shared with the hook: dial
/// threads may outlive the test's scope.
class HeldDialer {
 public:
  explicit HeldDialer(std::uint16_t port, int free = 0) : port_(port), free_(free) {}

  static DialFunc func(const std::shared_ptr<HeldDialer>& dialer) {
    return [dialer](const DialRequest&) { return dialer->dial(); };
  }

  Gate go;

 private:
  Result<int> dial() {
    if (++started_ > free_ && !go.wait(kWait)) {
      return Error(ErrorKind::connect, "the test never let the held dials go");
    }
    return testing::connect_loopback(port_);
  }

  const std::uint16_t port_;
  const int free_;
  std::atomic<int> started_{0};
};

/// What became of a connection whose body was closed early or dropped
/// unread, as the next request and the pool's counters tell.
struct BodyFate {
  std::string read;  ///< what was read before the close: "<n> bytes", or the error
  bool next_reused = false;
  std::uint64_t not_drained = 0;  ///< closed_for(body_not_drained)
  int unread_reports = 0;         ///< on_unread_body calls
  bool operator==(const BodyFate&) const = default;
};

std::ostream& operator<<(std::ostream& os, const BodyFate& fate) {
  return os << "{read " << fate.read << ", next reused " << fate.next_reused << ", not drained "
            << fate.not_drained << ", unread reports " << fate.unread_reports << "}";
}

/// Where body_fate() runs its scenario.
enum class On { fiber, thread };

/// Owns the clients, transports and servers of one test; the leak check
/// runs after each.
class FiberTest : public LeakCheckedTest {
 protected:
  /// A client over a new transport of the fixture's.
  Client& make_client(TransportOptions options = {}) {
    clients_.push_back(std::make_unique<Client>(testing::borrow(make_transport(std::move(options)))));
    return *clients_.back();
  }
  /// Connection i plays scripts[i], later ones `fallback` (200 "ok" by default).
  ScriptedServer& scripted_server(std::vector<Script> scripts = {},
                                  Script fallback = ScriptedServer::ok_responder()) {
    return keep_server(std::make_shared<ScriptedServer>(std::move(scripts), std::move(fallback)));
  }
  TestServer& test_server(TestServer::Handler handler, TestServerOptions options = {}) {
    return keep_server(std::make_shared<TestServer>(std::move(handler), std::move(options)));
  }
  /// A started nginx; a failure to start fails the test (every request then fails too).
  NginxServer& nginx(NginxOptions options = {}) {
    auto server = std::make_shared<NginxServer>(std::move(options));
    EXPECT_TRUE(server->start());
    return keep_server(std::move(server));
  }

  /// GETs `path` from `server`, reads `read_first` bytes of the body, then
  /// closes it (`close_explicitly`) or lets the response go unclosed, on a
  /// fiber or on a thread of its own, over a transport of its own; then
  /// one more GET tells whether the connection came back.
  BodyFate body_fate(NginxServer& server, const std::string& path, std::size_t read_first,
                     bool close_explicitly, On on) {
    auto unread = std::make_shared<std::atomic<int>>(0);
    TransportOptions options;
    options.on_unread_body = [unread](const std::string&) { ++*unread; };
    Client& client = make_client(std::move(options));
    BodyFate fate;
    auto scenario = [&] {
      {
        Result<Response> response = client.send(request("GET", server.url(path)));
        if (!response) {
          fate.read = describe(response.error());
          return;
        }
        std::array<char, 512> buf{};
        std::size_t got = 0;
        while (got < read_first) {
          const std::size_t want = std::min(buf.size(), read_first - got);
          Result<std::size_t> n = response->body.read(std::span<char>(buf.data(), want));
          if (!n) {
            fate.read = describe(n.error());
            return;
          }
          if (*n == 0) break;
          got += *n;
        }
        fate.read = std::to_string(got) + " bytes";
        if (close_explicitly) response->body.close();
      }  // the response goes: its body's destructor closes it, if it is not closed
      Result<Response> next = client.send(request("GET", server.url("/small")));
      if (!next) {
        fate.read += ", next " + describe(next.error());
        return;
      }
      fate.next_reused = next->conn.reused;
      EXPECT_EQ(next->body.read_all().value_or("(body failed)"), kSmallBody);
    };
    if (on == On::fiber) {
      FiberGroup group;
      group.spawn(scenario);
      run_bounded(group);
    } else {
      std::thread thread(scenario);
      thread.join();
    }
    fate.not_drained = client.transport().stats().closed_for(CloseReason::body_not_drained);
    fate.unread_reports = unread->load();
    return fate;
  }

  /// The last transport's counters once no dial is in flight: a dial that
  /// ends after its request was served by another connection (late
  /// binding) may still be going when run() returns.
  TransportStats settled_stats() {
    EXPECT_TRUE(wait_for([&] { return transport().stats().dialing == 0; })) << "a dial never ended";
    return transport().stats();
  }

  void TearDown() override {
    clients_.clear();
    LeakCheckedTest::TearDown();
  }

 private:
  std::vector<std::unique_ptr<Client>> clients_;
};

// ---------------------------------------------------------------------------
// Many fibers, one client, one thread

TEST_F(FiberTest, SixtyFourFibersShareOneClientOnTheThreadThatRunsThem) {
  NginxServer& server = nginx();
  auto used = std::make_shared<ConnLog>();
  auto dialer = std::make_shared<HeldDialer>(server.port());
  TransportOptions options;
  options.dial = HeldDialer::func(dialer);
  ConnLog::attach(used, options);
  Client& client = make_client(std::move(options));
  constexpr int kFibers = 64;
  constexpr int kRequestsEach = 4;
  // Every framing nginx has, below and above the 4 KiB read buffer.
  const std::vector<std::pair<std::string, std::string>> targets = {
      {"/small", std::string(kSmallBody)},
      {"/bytes/1024", pattern_bytes(1024)},
      {"/chunked/65536", pattern_bytes(65536)},
      {"/bytes/65536", pattern_bytes(65536)},
  };
  ThreadLog ran_on;
  std::vector<std::string> wrong;
  int in_flight = 0;
  int most_in_flight = 0;
  int finished = 0;
  FiberGroup group;
  for (int i = 0; i < kFibers; ++i) {
    group.spawn([&, i] {
      for (int r = 0; r < kRequestsEach; ++r) {
        const auto& [path, expected] = targets[static_cast<std::size_t>(i + r) % targets.size()];
        ran_on.here();
        most_in_flight = std::max(most_in_flight, ++in_flight);
        const std::string got = fetch(client, server.url(path));
        --in_flight;
        ran_on.here();  // after the parks too
        if (got != expected)
          wrong.push_back("fiber " + std::to_string(i) + " " + path + ": " + got.substr(0, 300));
      }
      ++finished;
    });
  }
  std::size_t queued = 0;
  group.spawn([&] {
    // Runs once every fiber above has parked, each waiting for a dial.
    queued = transport().stats().waiting;
    dialer->go.open();
  });
  run_bounded(group);

  EXPECT_EQ(finished, kFibers);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong, the first: " << first_of(wrong);
  EXPECT_EQ(ran_on.ids(), std::set<std::thread::id>{std::this_thread::get_id()})
      << "a fiber ran on a thread other than run()'s";
  // Fibers run one at a time: only parking let them all have a request in flight.
  EXPECT_EQ(queued, std::size_t{kFibers});
  EXPECT_EQ(most_in_flight, kFibers);
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.requests, std::uint64_t{kFibers * kRequestsEach});
  EXPECT_EQ(stats.dials, std::uint64_t{kFibers}) << "one dial per fiber waiting, no more";
  EXPECT_LE(used->count(), stats.dials);
  EXPECT_EQ(stats.reuses, stats.requests - used->count()) << "a request not on a reused connection";
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(stats.idle, stats.dials) << "every connection went back to the pool";
  // nginx may accept a connection after the client's connect() returned.
  std::optional<std::uint64_t> accepted;
  EXPECT_TRUE(wait_for([&] { return (accepted = server.accepted_connections()) == stats.dials; }))
      << (accepted ? std::to_string(*accepted) : "?") << " connections accepted, " << stats.dials
      << " dialed";
}

TEST_F(FiberTest, AThousandFibersQueueForAHundredConnectionsAndAllGetTheirBodies) {
  // What fibers are for: a thousand requests in flight on one thread, all
  // queued in the pool before the first connection exists.
  NginxServer& server = nginx();
  auto used = std::make_shared<ConnLog>();
  auto dialer = std::make_shared<HeldDialer>(server.port());
  TransportOptions options;
  options.max_conns_per_host = 100;
  options.dial = HeldDialer::func(dialer);
  ConnLog::attach(used, options);
  Client& client = make_client(std::move(options));
  constexpr int kFibers = 1000;
  std::vector<std::string> wrong;
  int finished = 0;
  int in_flight = 0;
  int most_in_flight = 0;
  ThreadLog ran_on;
  FiberGroup group;
  for (int i = 0; i < kFibers; ++i) {
    group.spawn([&, i] {
      most_in_flight = std::max(most_in_flight, ++in_flight);
      const std::string got = fetch(client, server.url("/small"));
      --in_flight;
      ran_on.here();
      if (got != kSmallBody) wrong.push_back("fiber " + std::to_string(i) + ": " + got.substr(0, 300));
      ++finished;
    });
  }
  std::size_t queued = 0;
  group.spawn([&] {
    queued = transport().stats().waiting;
    dialer->go.open();
  });
  run_bounded(group);

  EXPECT_EQ(finished, kFibers);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong, the first: " << first_of(wrong);
  EXPECT_EQ(queued, std::size_t{kFibers});
  EXPECT_EQ(most_in_flight, kFibers);
  EXPECT_EQ(ran_on.ids(), std::set<std::thread::id>{std::this_thread::get_id()});
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dials, 100u);
  EXPECT_EQ(stats.reuses, kFibers - used->count());
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_EQ(stats.idle, stats.dials);
}

// ---------------------------------------------------------------------------
// The pool's waiters are fibers

TEST_F(FiberTest, FibersWaitingForTheOnlyConnectionGetItInTheOrderTheyAsked) {
  ScriptedServer& server = scripted_server();
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));
  constexpr int kFibers = 20;
  std::vector<std::string> got(kFibers);
  FiberGroup group;
  for (int i = 0; i < kFibers; ++i) {
    group.spawn(
        [&, i] { got[static_cast<std::size_t>(i)] = fetch(client, server.url() + "/" + std::to_string(i)); });
  }
  run_bounded(group);

  std::vector<std::string> order;
  std::vector<std::string> asked;
  for (int i = 0; i < kFibers; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)], "ok") << "fiber " << i;
    asked.push_back("/" + std::to_string(i));
  }
  // One connection carried every request, in the order the fibers queued:
  // each fiber that read its body to the end woke the next one in line.
  for (const ServerRequest& seen : server.requests()) order.push_back(seen.target);
  EXPECT_EQ(order, asked);
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dials, 1u);
  EXPECT_EQ(stats.reuses, std::uint64_t{kFibers - 1});
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(FiberTest, TwentyFibersShareTwoConnectionsEachHandedOnInQueueOrder) {
  ScriptedServer& server = scripted_server();
  TransportOptions options;
  options.max_conns_per_host = 2;
  auto dialer = std::make_shared<HeldDialer>(server.port());
  options.dial = HeldDialer::func(dialer);
  Client& client = make_client(std::move(options));
  constexpr int kFibers = 20;
  std::vector<std::string> got(kFibers);
  FiberGroup group;
  for (int i = 0; i < kFibers; ++i) {
    group.spawn(
        [&, i] { got[static_cast<std::size_t>(i)] = fetch(client, server.url() + "/" + std::to_string(i)); });
  }
  group.spawn([&] { dialer->go.open(); });  // every fiber above has queued: both dials started
  run_bounded(group);

  for (int i = 0; i < kFibers; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], "ok") << "fiber " << i;
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dials, 2u);
  EXPECT_EQ(stats.reuses, kFibers - connections_used(server.requests()));
  EXPECT_EQ(stats.waiting, 0u);
  // The second may carry nothing, and be accepted after the client's connect() returned.
  EXPECT_TRUE(server.wait_for_connections_accepted(2, kWait));
  ASSERT_EQ(server.connections_accepted(), 2u);
  // The queue is FIFO, so on each connection the fibers come in the order
  // they were spawned (which of the two a fiber gets depends on timing).
  const std::vector<ServerRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), std::size_t{kFibers});
  std::array<int, 2> last = {-1, -1};
  for (const ServerRequest& r : seen) {
    ASSERT_LT(r.connection_index, 2u);
    const int fiber = std::stoi(r.target.substr(1));
    EXPECT_GT(fiber, last[r.connection_index]) << "connection " << r.connection_index << " served "
                                               << r.target << " after /" << last[r.connection_index];
    last[r.connection_index] = fiber;
  }
}

// ---------------------------------------------------------------------------
// A parked fiber does not stop the others; its deadline still ends it

TEST_F(FiberTest, AFiberParkedOnAResponseHeadTimesOutWhileTheOthersGoOn) {
  ScriptedServer& stalling = scripted_server({}, Script().expect_request().stall_until_closed());
  ScriptedServer& ok = scripted_server();
  Client& client = make_client();
  constexpr int kGets = 20;
  constexpr auto kDeadline = 1s;
  std::optional<Result<Response>> stalled;
  Clock::duration stalled_for{};
  bool stalled_returned = false;
  int done_while_parked = 0;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("GET", stalling.url() + "/stall");
    const Clock::time_point start = Clock::now();
    r.deadline = start + kDeadline;
    stalled.emplace(client.send(std::move(r)));
    stalled_for = Clock::now() - start;
    stalled_returned = true;
  });
  group.spawn([&] {
    for (int i = 0; i < kGets; ++i) {
      const std::string got = fetch(client, ok.url() + "/" + std::to_string(i));
      EXPECT_EQ(got, "ok");
      if (got == "ok" && !stalled_returned) ++done_while_parked;
    }
  });
  run_bounded(group);

  ASSERT_TRUE(stalled.has_value());
  ASSERT_FALSE(*stalled) << "the stalled request got a response";
  const Error& error = stalled->error();
  EXPECT_EQ(error.kind(), ErrorKind::timeout) << error.message();
  EXPECT_NE(error.message().find("reading response headers from " + stalling.host_port()), std::string::npos)
      << error.message();
  EXPECT_LT(stalled_for, kDeadline + kPrompt);
  EXPECT_EQ(done_while_parked, kGets) << "the parked fiber held the others up";
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u);
  EXPECT_EQ(ok.connections_accepted(), 1u);
}

TEST_F(FiberTest, ResponseHeaderTimeoutEndsAParkedFiberNamingTheTimeoutAndThePeer) {
  ScriptedServer& stalling = scripted_server({}, Script().expect_request().stall_until_closed());
  ScriptedServer& ok = scripted_server();
  TransportOptions options;
  options.response_header_timeout = 200ms;
  Client& client = make_client(std::move(options));
  constexpr int kGets = 5;
  std::optional<Result<Response>> stalled;
  Clock::duration stalled_for{};
  bool stalled_returned = false;
  int done_while_parked = 0;
  FiberGroup group;
  group.spawn([&] {
    const Clock::time_point start = Clock::now();
    stalled.emplace(client.send(request("GET", stalling.url() + "/slow")));
    stalled_for = Clock::now() - start;
    stalled_returned = true;
  });
  group.spawn([&] {
    for (int i = 0; i < kGets; ++i) {
      if (fetch(client, ok.url() + "/" + std::to_string(i)) == "ok" && !stalled_returned) ++done_while_parked;
    }
  });
  run_bounded(group);

  ASSERT_TRUE(stalled.has_value());
  ASSERT_FALSE(*stalled) << "the stalled request got a response";
  const Error& error = stalled->error();
  EXPECT_EQ(error.kind(), ErrorKind::timeout) << error.message();
  EXPECT_NE(error.message().find("response header timeout (200 ms)"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find(stalling.host_port()), std::string::npos) << error.message();
  EXPECT_LT(stalled_for, 200ms + kPrompt);
  EXPECT_EQ(done_while_parked, kGets);
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u);
}

// ---------------------------------------------------------------------------
// Cancellation of a parked fiber

TEST_F(FiberTest, CancelFromAnotherThreadEndsAFiberParkedOnTheResponseHead) {
  ScriptedServer& server = scripted_server({Script().expect_request().stall_until_closed()});
  Client& client = make_client();
  std::stop_source stop;
  std::atomic<Clock::rep> stop_requested{0};
  const pid_t group_thread = ::gettid();
  std::thread canceller([&] {
    EXPECT_TRUE(server.wait_for_requests(1, kWait)) << "the request never reached the server";
    // The request was written: once the group's thread sleeps in epoll_wait,
    // the fiber is parked on the response head.
    EXPECT_TRUE(wait_for([&] { return all_parked(group_thread); })) << "the fiber never parked";
    stop_requested.store(Clock::now().time_since_epoch().count());
    stop.request_stop();
  });
  std::optional<Result<Response>> canceled;
  Clock::time_point returned;
  std::string next;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("GET", server.url() + "/slow");
    r.cancel = stop.get_token();
    canceled.emplace(client.send(std::move(r)));
    returned = Clock::now();
    next = fetch(client, server.url() + "/next");
  });
  run_bounded(group);
  canceller.join();

  ASSERT_TRUE(canceled.has_value());
  ASSERT_FALSE(*canceled) << "the stalled request got a response";
  EXPECT_EQ(canceled->error().kind(), ErrorKind::canceled) << canceled->error().message();
  EXPECT_NE(canceled->error().message().find("reading response headers from " + server.host_port()),
            std::string::npos)
      << canceled->error().message();
  EXPECT_LT(returned - Clock::time_point(Clock::duration(stop_requested.load())), kPrompt);
  // The pool is consistent: the interrupted connection closed, a new one serves the next request.
  EXPECT_EQ(next, "ok");
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_EQ(stats.closed_for(CloseReason::error), 1u);
  EXPECT_EQ(stats.dials, 2u);
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(FiberTest, CancelFromAnotherFiberEndsAFiberParkedOnTheResponseHead) {
  auto stalling =
      std::make_shared<ScriptedServer>(std::vector<Script>{Script().expect_request().stall_until_closed()});
  keep_server(stalling);
  // Answers only once the stalling server has the request: the fiber that
  // asks it learns, without polling, that the other one is parked on the head.
  ScriptedServer& go = keep_server(std::make_shared<ScriptedServer>([stalling](std::size_t) {
    EXPECT_TRUE(stalling->wait_for_requests(1, kWait)) << "the request never reached the stalling server";
    return Script().expect_request().respond("go");
  }));
  Client& client = make_client();
  std::stop_source stop;
  std::optional<Result<Response>> canceled;
  Clock::time_point stop_requested;
  Clock::time_point returned;
  std::string told;
  std::string next;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("GET", stalling->url() + "/slow");
    r.cancel = stop.get_token();
    canceled.emplace(client.send(std::move(r)));
    returned = Clock::now();
    next = fetch(client, stalling->url() + "/next");
  });
  group.spawn([&] {
    told = fetch(client, go.url() + "/when-parked");
    stop_requested = Clock::now();
    stop.request_stop();
  });
  run_bounded(group);

  EXPECT_EQ(told, "go");
  ASSERT_TRUE(canceled.has_value());
  ASSERT_FALSE(*canceled) << "the stalled request got a response";
  EXPECT_EQ(canceled->error().kind(), ErrorKind::canceled) << canceled->error().message();
  EXPECT_NE(canceled->error().message().find("reading response headers from " + stalling->host_port()),
            std::string::npos)
      << canceled->error().message();
  EXPECT_LT(returned - stop_requested, kPrompt);
  EXPECT_EQ(next, "ok");
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_EQ(stats.closed_for(CloseReason::error), 1u);
  EXPECT_EQ(stalling->connections_accepted(), 2u);
}

TEST_F(FiberTest, CancelFromAnotherFiberEndsAFiberWaitingForAPoolSlot) {
  ScriptedServer& server = scripted_server();
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));
  // The only connection is held by a body this thread has not read yet.
  Result<Response> holder = client.send(request("GET", server.url() + "/held"));
  ASSERT_TRUE(holder) << holder.error().message();
  std::stop_source stop;
  std::optional<Result<Response>> canceled;
  std::size_t waiting_seen = 0;
  Clock::time_point stop_requested;
  Clock::time_point returned;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("GET", server.url() + "/a");
    r.cancel = stop.get_token();
    canceled.emplace(client.send(std::move(r)));
    returned = Clock::now();
  });
  group.spawn([&] {
    // Spawned second, it first runs once the first fiber has parked in the pool's queue.
    waiting_seen = transport().stats().waiting;
    stop_requested = Clock::now();
    stop.request_stop();  // the stop callback wakes the waiter from this thread
  });
  run_bounded(group);

  EXPECT_EQ(waiting_seen, 1u);
  ASSERT_TRUE(canceled.has_value());
  ASSERT_FALSE(*canceled) << "the waiter got a connection";
  EXPECT_EQ(canceled->error().kind(), ErrorKind::canceled) << canceled->error().message();
  EXPECT_NE(canceled->error().message().find("waiting for a connection to " + server.url()),
            std::string::npos)
      << canceled->error().message();
  EXPECT_LT(returned - stop_requested, kPrompt);
  EXPECT_EQ(transport().stats().waiting, 0u);

  // The slot the cancelled fiber waited for serves the next fiber.
  ASSERT_EQ(holder->body.read_all().value_or("(body failed)"), "ok");
  std::optional<bool> next_reused;
  FiberGroup after;
  after.spawn([&] {
    Result<Response> next = client.send(request("GET", server.url() + "/b"));
    ASSERT_TRUE(next) << next.error().message();
    next_reused = next->conn.reused;
    EXPECT_EQ(next->body.read_all().value_or("(body failed)"), "ok");
  });
  run_bounded(after);
  EXPECT_EQ(next_reused, std::optional<bool>(true));
  EXPECT_EQ(transport().stats().dials, 1u);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(FiberTest, CancelFromAnotherThreadEndsAFiberWaitingForAPoolSlot) {
  ScriptedServer& server = scripted_server();
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));
  Result<Response> holder = client.send(request("GET", server.url() + "/held"));
  ASSERT_TRUE(holder) << holder.error().message();
  std::stop_source stop;
  std::atomic<Clock::rep> stop_requested{0};
  const pid_t group_thread = ::gettid();
  std::thread canceller([&] {
    EXPECT_TRUE(wait_for([&] { return transport().stats().waiting == 1 && all_parked(group_thread); }))
        << "the fiber never parked in the pool's queue";
    stop_requested.store(Clock::now().time_since_epoch().count());
    stop.request_stop();  // the stop callback wakes the parked fiber through the scheduler's eventfd
  });
  std::optional<Result<Response>> canceled;
  Clock::time_point returned;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("GET", server.url() + "/a");
    r.cancel = stop.get_token();
    canceled.emplace(client.send(std::move(r)));
    returned = Clock::now();
  });
  run_bounded(group);
  canceller.join();

  ASSERT_TRUE(canceled.has_value());
  ASSERT_FALSE(*canceled) << "the waiter got a connection";
  EXPECT_EQ(canceled->error().kind(), ErrorKind::canceled) << canceled->error().message();
  EXPECT_NE(canceled->error().message().find("waiting for a connection to " + server.url()),
            std::string::npos)
      << canceled->error().message();
  EXPECT_LT(returned - Clock::time_point(Clock::duration(stop_requested.load())), kPrompt);
  EXPECT_EQ(transport().stats().waiting, 0u);
  ASSERT_EQ(holder->body.read_all().value_or("(body failed)"), "ok");
  Result<Response> next = client.send(request("GET", server.url() + "/b"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_TRUE(next->conn.reused);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(FiberTest, DeadlineEndsAFiberWaitingForAPoolSlotWhileAnotherFiberGetsOne) {
  // The fiber's park in the pool's queue has a timer: the scheduler, not
  // a notify, ends it.
  ScriptedServer& busy = scripted_server();
  ScriptedServer& other = scripted_server();
  TransportOptions options;
  options.max_conns_per_host = 1;
  Client& client = make_client(std::move(options));
  Result<Response> holder = client.send(request("GET", busy.url() + "/held"));
  ASSERT_TRUE(holder) << holder.error().message();
  constexpr auto kDeadline = 200ms;
  std::optional<Result<Response>> timed_out;
  Clock::duration waited{};
  std::string elsewhere;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("GET", busy.url() + "/a");
    const Clock::time_point start = Clock::now();
    r.deadline = start + kDeadline;
    timed_out.emplace(client.send(std::move(r)));
    waited = Clock::now() - start;
  });
  group.spawn([&] { elsewhere = fetch(client, other.url() + "/b"); });
  run_bounded(group);

  ASSERT_TRUE(timed_out.has_value());
  ASSERT_FALSE(*timed_out) << "the waiter got a connection";
  EXPECT_EQ(timed_out->error().kind(), ErrorKind::timeout) << timed_out->error().message();
  EXPECT_NE(timed_out->error().message().find("waiting for a connection to " + busy.url()), std::string::npos)
      << timed_out->error().message();
  EXPECT_LT(waited, kDeadline + kPrompt);
  EXPECT_EQ(elsewhere, "ok");
  EXPECT_EQ(transport().stats().waiting, 0u);
  ASSERT_EQ(holder->body.read_all().value_or("(body failed)"), "ok");
  EXPECT_EQ(busy.connections_accepted(), 1u);
}

// ---------------------------------------------------------------------------
// Uploads: the send path parks on a full socket buffer

TEST_F(FiberTest, UploadFillingTheSocketBuffersParksWhileAnotherFiberCompletesGets) {
  // The upload server reads nothing until the other fiber has done its
  // GETs: the uploading fiber must park on its full send buffer for those
  // to happen at all.
  constexpr int kGets = 10;
  auto gets_done = std::make_shared<Gate>();
  ScriptedServer& upload = keep_server(std::make_shared<ScriptedServer>([gets_done](std::size_t) {
    EXPECT_TRUE(gets_done->wait(kWait)) << "the GETs did not happen while the upload was parked";
    return Script().expect_request().respond("stored", 201);
  }));
  ScriptedServer& ok = scripted_server();
  Client& client = make_client();
  std::optional<Result<Response>> put;
  std::string put_body;
  bool upload_returned = false;
  int gets_while_uploading = 0;
  FiberGroup group;
  group.spawn([&] {
    Request r = request(
        "PUT", upload.url() + "/big",
        RequestBody::from_factory([] { return std::make_unique<PatternSource>(kUploadToScriptBytes); },
                                  static_cast<std::int64_t>(kUploadToScriptBytes)));
    r.deadline = Clock::now() + kUploadDeadline;
    put.emplace(client.send(std::move(r)));
    if (*put) put_body = (*put)->body.read_all().value_or("(body failed)");
    upload_returned = true;
  });
  group.spawn([&] {
    for (int i = 0; i < kGets; ++i) {
      if (fetch(client, ok.url() + "/" + std::to_string(i)) == "ok" && !upload_returned)
        ++gets_while_uploading;
    }
    gets_done->open();
  });
  run_bounded(group);

  EXPECT_EQ(gets_while_uploading, kGets) << "the upload held the thread";
  ASSERT_TRUE(put.has_value());
  ASSERT_TRUE(*put) << (*put).error().message();
  EXPECT_EQ((*put)->status, 201);
  EXPECT_EQ(put_body, "stored");
  const std::vector<ServerRequest> seen = upload.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body.size(), kUploadToScriptBytes);
  EXPECT_TRUE(seen[0].body == pattern(kUploadToScriptBytes)) << "the upload arrived altered";
}

TEST_F(FiberTest, DeadlineEndsAFiberParkedOnAFullSendBufferWhileAnotherFiberGoesOn) {
  // The server reads the head and no more: the upload parks on EPOLLOUT
  // until the deadline's interrupt (a shutdown of the socket) wakes it.
  ScriptedServer& server = scripted_server({Script().expect_request_head().sleep(kWait)});
  ScriptedServer& ok = scripted_server();
  Client& client = make_client();
  constexpr auto kDeadline = 300ms;
  constexpr int kGets = 5;
  std::optional<Result<Response>> timed_out;
  Clock::duration took{};
  bool upload_returned = false;
  int gets_while_uploading = 0;
  FiberGroup group;
  group.spawn([&] {
    Request r =
        request("PUT", server.url() + "/upload",
                RequestBody::from_factory([] { return std::make_unique<PatternSource>(kUploadToNginxBytes); },
                                          static_cast<std::int64_t>(kUploadToNginxBytes)));
    const Clock::time_point start = Clock::now();
    r.deadline = start + kDeadline;
    timed_out.emplace(client.send(std::move(r)));
    took = Clock::now() - start;
    upload_returned = true;
  });
  group.spawn([&] {
    for (int i = 0; i < kGets; ++i) {
      if (fetch(client, ok.url() + "/" + std::to_string(i)) == "ok" && !upload_returned)
        ++gets_while_uploading;
    }
  });
  run_bounded(group);

  ASSERT_TRUE(timed_out.has_value());
  ASSERT_FALSE(*timed_out) << "a server that never read the body answered";
  EXPECT_EQ(timed_out->error().kind(), ErrorKind::timeout) << timed_out->error().message();
  EXPECT_NE(timed_out->error().message().find("writing request body to " + server.host_port()),
            std::string::npos)
      << timed_out->error().message();
  EXPECT_LT(took, kDeadline + kPrompt);
  EXPECT_EQ(gets_while_uploading, kGets);
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u);
}

TEST_F(FiberTest, SixtyFourMebibyteUploadToNginxCompletesAlongsideSmallGets) {
  // nginx's WebDAV PUT reads the whole body before answering and stores
  // it, so the upload is read back and compared byte by byte.
  NginxOptions options;
  options.extra_locations =
      "location /upload/ {\n      client_max_body_size 0;\n      dav_methods PUT;\n"
      "      create_full_put_path on;\n    }";
  NginxServer& server = nginx(std::move(options));
  Client& client = make_client();
  constexpr int kGets = 50;
  std::string put_outcome;
  int put_status = 0;
  std::uint64_t read_back = 0;
  std::uint64_t mismatches = 0;
  std::string read_back_error;
  int gets_ok = 0;
  FiberGroup group;
  group.spawn([&] {
    Request put =
        request("PUT", server.url("/upload/big.bin"),
                RequestBody::from_factory([] { return std::make_unique<PatternSource>(kUploadToNginxBytes); },
                                          static_cast<std::int64_t>(kUploadToNginxBytes)));
    put.deadline = Clock::now() + kUploadDeadline;
    Result<Response> stored = client.send(std::move(put));
    if (!stored) {
      put_outcome = describe(stored.error());
      return;
    }
    put_status = stored->status;
    put_outcome = stored->body.read_all().value_or("(body failed)");
    if (put_status != 201) return;
    Request get = request("GET", server.url("/upload/big.bin"));
    get.deadline = Clock::now() + kUploadDeadline;
    Result<Response> back = client.send(std::move(get));
    if (!back) {
      read_back_error = describe(back.error());
      return;
    }
    Result<std::uint64_t> copied = back->body.write_to([&](std::string_view piece) -> Result<void> {
      for (std::size_t i = 0; i < piece.size(); ++i) {
        if (piece[i] != pattern_byte(read_back + i)) ++mismatches;
      }
      read_back += piece.size();
      return {};
    });
    if (!copied) read_back_error = describe(copied.error());
  });
  group.spawn([&] {
    for (int i = 0; i < kGets; ++i) {
      if (fetch(client, server.url("/small")) == kSmallBody) ++gets_ok;
    }
  });
  run_bounded(group);

  EXPECT_EQ(put_status, 201) << put_outcome << server.error_log();
  EXPECT_EQ(read_back_error, "");
  EXPECT_EQ(read_back, kUploadToNginxBytes);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(gets_ok, kGets);
  EXPECT_EQ(transport().stats().in_use, 0u);
}

// ---------------------------------------------------------------------------
// Expect: 100-continue

TEST_F(FiberTest, ExpectContinueIgnoredByTheServerParksForTheTimeoutThenSendsTheBody) {
  TestServerOptions server_options;
  server_options.expect_continue = ExpectContinue::ignore;
  TestServer& server =
      test_server([](const ServerRequest& r,
                     ServerResponse& response) { response.set_body(std::to_string(r.body.size())); },
                  server_options);
  TransportOptions options;
  options.expect_continue_timeout = 200ms;
  Client& client = make_client(std::move(options));
  const std::string upload = pattern(100 << 10);
  constexpr int kGets = 5;
  std::string posted;
  Clock::duration took{};
  bool post_returned = false;
  int gets_while_waiting = 0;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("POST", server.url() + "/upload", RequestBody::from_string(upload));
    r.header.set("Expect", "100-continue");
    const Clock::time_point start = Clock::now();
    posted = outcome(client, std::move(r));
    took = Clock::now() - start;
    post_returned = true;
  });
  group.spawn([&] {
    for (int i = 0; i < kGets; ++i) {
      if (fetch(client, server.url() + "/get") == "0" && !post_returned) ++gets_while_waiting;
    }
  });
  run_bounded(group);

  EXPECT_EQ(posted, std::to_string(upload.size()));
  // The body must not go before the timeout: here the lower bound is the behaviour.
  EXPECT_GE(took, 190ms) << "the body went out before the expect-continue timeout";
  EXPECT_LT(took, 200ms + kPrompt);
  EXPECT_EQ(gets_while_waiting, kGets) << "the wait for the 100 held the thread";
  const std::vector<ServerRequest> seen = server.requests();
  const auto with_body =
      std::find_if(seen.begin(), seen.end(), [](const ServerRequest& r) { return r.method == "POST"; });
  ASSERT_NE(with_body, seen.end());
  EXPECT_TRUE(with_body->body == upload) << "the body arrived altered";
}

TEST_F(FiberTest, ExpectContinueAnsweredWithAContinueSendsTheBodyAtOnce) {
  TestServer& server = test_server([](const ServerRequest& r, ServerResponse& response) {
    response.set_body(std::to_string(r.body.size()));
  });
  std::vector<int> interim;  // written by the fiber's trace hook, on this thread
  TransportOptions options;
  options.expect_continue_timeout = 5s;  // the 100 must come well before it
  options.trace.got_interim_response = [&interim](std::uint64_t, int status) { interim.push_back(status); };
  Client& client = make_client(std::move(options));
  const std::string upload = pattern(300 << 10);
  std::string posted;
  Clock::duration took{};
  std::optional<bool> next_reused;
  FiberGroup group;
  group.spawn([&] {
    Request r = request("POST", server.url() + "/upload", RequestBody::from_string(upload));
    r.header.set("Expect", "100-continue");
    const Clock::time_point start = Clock::now();
    posted = outcome(client, std::move(r));
    took = Clock::now() - start;
    Result<Response> next = client.send(request("GET", server.url() + "/next"));
    ASSERT_TRUE(next) << next.error().message();
    next_reused = next->conn.reused;
    EXPECT_EQ(next->body.read_all().value_or("(body failed)"), "0");
  });
  run_bounded(group);

  EXPECT_EQ(posted, std::to_string(upload.size()));
  EXPECT_LT(took, 2s) << "waited for the expect-continue timeout despite the 100";
  EXPECT_EQ(interim, std::vector<int>{100});
  ASSERT_GE(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].header("Expect"), "100-continue");
  EXPECT_TRUE(server.requests()[0].body == upload) << "the body arrived altered";
  EXPECT_EQ(next_reused, std::optional<bool>(true));
}

// ---------------------------------------------------------------------------
// Bodies closed early or dropped: the same fate as on a thread

TEST_F(FiberTest, BodyClosedEarlyInAFiberIsDrainedOrClosedAsOnAThread) {
  NginxServer& server = nginx();
  // 63 KiB left: within drain_max_bytes, drained, the connection kept.
  const BodyFate drainable = body_fate(server, "/bytes/65536", 1024, /*close_explicitly=*/true, On::fiber);
  EXPECT_EQ(drainable, (BodyFate{"1024 bytes", true, 0, 0}));
  EXPECT_EQ(drainable, body_fate(server, "/bytes/65536", 1024, true, On::thread));
  // Almost 1 MiB left: too much to drain, the connection closed.
  const BodyFate undrainable = body_fate(server, "/bytes/1048576", 1024, true, On::fiber);
  EXPECT_EQ(undrainable, (BodyFate{"1024 bytes", false, 1, 0}));
  EXPECT_EQ(undrainable, body_fate(server, "/bytes/1048576", 1024, true, On::thread));
}

TEST_F(FiberTest, BodyLeftUnreadInAFiberIsDrainedOrClosedAsOnAThreadAndReported) {
  NginxServer& server = nginx();
  const BodyFate drainable = body_fate(server, "/bytes/1024", 0, /*close_explicitly=*/false, On::fiber);
  EXPECT_EQ(drainable, (BodyFate{"0 bytes", true, 0, 1}));
  EXPECT_EQ(drainable, body_fate(server, "/bytes/1024", 0, false, On::thread));
  const BodyFate undrainable = body_fate(server, "/bytes/1048576", 0, false, On::fiber);
  EXPECT_EQ(undrainable, (BodyFate{"0 bytes", false, 1, 1}));
  EXPECT_EQ(undrainable, body_fate(server, "/bytes/1048576", 0, false, On::thread));
}

TEST_F(FiberTest, ABodyReceivedInAFiberCanBeReadOnTheThreadAfterRunReturns) {
  NginxServer& server = nginx();
  Client& client = make_client();
  std::vector<Response> kept;
  {
    FiberGroup group;
    for (int i = 0; i < 4; ++i) {
      group.spawn([&] {
        Result<Response> response = client.send(request("GET", server.url("/bytes/65536")));
        ASSERT_TRUE(response) << response.error().message();
        kept.push_back(*std::move(response));
      });
    }
    run_bounded(group);
  }
  // The group (and its epoll set) is gone: the reads block the thread as usual.
  ASSERT_EQ(kept.size(), 4u);
  for (Response& response : kept) {
    EXPECT_EQ(response.body.read_all().value_or("(body failed)"), pattern_bytes(65536));
  }
  EXPECT_EQ(transport().stats().idle, 4u);
}

TEST_F(FiberTest, ADrainThatOutlastsTheDrainTimeoutInAFiberClosesTheConnection) {
  // The rest (990 bytes) is small enough to drain but trickles in: the
  // drain's park has a timer (drain_timeout), and its end closes the
  // connection, as on a thread.
  auto trickle = [] {
    return Script()
        .expect_request()
        .send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(10, 'x'))
        .send_slowly(std::string(990, 'x'), 1, 20ms);
  };
  ScriptedServer& server = scripted_server({trickle(), trickle()});
  auto fate = [&](On on) {
    Client& client = make_client();
    std::string read;
    Clock::duration closing{};
    auto scenario = [&] {
      Result<Response> response = client.send(request("GET", server.url() + "/trickle"));
      if (!response) {
        read = describe(response.error());
        return;
      }
      std::array<char, 10> buf{};
      std::size_t got = 0;
      while (got < buf.size()) {
        Result<std::size_t> n = response->body.read(std::span<char>(buf.data() + got, buf.size() - got));
        if (!n || *n == 0) break;
        got += *n;
      }
      read = std::to_string(got) + " bytes";
      const Clock::time_point start = Clock::now();
      response->body.close();
      closing = Clock::now() - start;
    };
    if (on == On::fiber) {
      FiberGroup group;
      group.spawn(scenario);
      run_bounded(group);
    } else {
      std::thread thread(scenario);
      thread.join();
    }
    EXPECT_LT(closing, client.transport().options().drain_timeout + kPrompt)
        << "the drain outlasted its timeout";
    return read + ", closed for body_not_drained: " +
           std::to_string(client.transport().stats().closed_for(CloseReason::body_not_drained));
  };
  const std::string in_fiber = fate(On::fiber);
  EXPECT_EQ(in_fiber, "10 bytes, closed for body_not_drained: 1");
  EXPECT_EQ(in_fiber, fate(On::thread));
}

// ---------------------------------------------------------------------------
// Errors

TEST_F(FiberTest, ErrorsInFibersHaveTheirKindAndNameThePeer) {
  const RefusingPort refusing;
  ScriptedServer& truncating =
      scripted_server({}, Script()
                              .expect_request()
                              .send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(10, 'x'))
                              .close());
  ScriptedServer& ok = scripted_server();
  Client& client = make_client();
  std::optional<Result<Response>> refused;
  std::optional<Result<std::string>> truncated;
  std::string fine;
  FiberGroup group;
  group.spawn([&] { refused.emplace(client.send(request("GET", refusing.url("/refused")))); });
  group.spawn([&] {
    Result<Response> response = client.send(request("GET", truncating.url() + "/cut"));
    ASSERT_TRUE(response) << "the head is fine: " << response.error().message();
    truncated.emplace(response->body.read_all());
  });
  group.spawn([&] { fine = fetch(client, ok.url() + "/fine"); });
  run_bounded(group);

  ASSERT_TRUE(refused.has_value());
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().kind(), ErrorKind::connect) << refused->error().message();
  EXPECT_NE(refused->error().message().find("127.0.0.1:" + std::to_string(refusing.port())),
            std::string::npos)
      << refused->error().message();
  EXPECT_NE(refused->error().message().find("refused"), std::string::npos) << refused->error().message();
  ASSERT_TRUE(truncated.has_value());
  ASSERT_FALSE(*truncated);
  EXPECT_EQ(truncated->error().kind(), ErrorKind::body) << truncated->error().message();
  EXPECT_TRUE(
      truncated->error().message().starts_with("reading response body from " + truncating.host_port() + ": "))
      << truncated->error().message();
  EXPECT_NE(truncated->error().message().find("10 of 100"), std::string::npos)
      << truncated->error().message();
  EXPECT_EQ(fine, "ok");
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dial_errors, 1u);
  EXPECT_EQ(stats.closed_for(CloseReason::error), 1u);
}

// ---------------------------------------------------------------------------
// Threads and fibers together

TEST_F(FiberTest, OneClientServesThreadsAndAFiberGroupAtOnce) {
  NginxServer& server = nginx();
  auto used = std::make_shared<ConnLog>();
  TransportOptions options;
  ConnLog::attach(used, options);
  Client& client = make_client(std::move(options));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  constexpr int kFibers = 16;
  constexpr int kPerFiber = 10;
  constexpr int kTotal = kThreads * kPerThread + kFibers * kPerFiber;
  const std::string kilobyte = pattern_bytes(1024);
  std::atomic<int> ok_count{0};
  std::mutex mu;  // guards wrong
  std::vector<std::string> wrong;
  auto one = [&](const std::string& who, int i) {
    const bool small = i % 2 == 0;
    const std::string got = fetch(client, server.url(small ? "/small" : "/bytes/1024"));
    if (got == (small ? std::string(kSmallBody) : kilobyte)) {
      ++ok_count;
    } else {
      const std::lock_guard lock(mu);
      wrong.push_back(who + ": " + got.substr(0, 300));
    }
  };
  Gate start;  // the threads begin with the fibers
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      EXPECT_TRUE(start.wait());
      for (int i = 0; i < kPerThread; ++i) one("thread " + std::to_string(t), i);
    });
  }
  FiberGroup group;
  for (int f = 0; f < kFibers; ++f) {
    group.spawn([&, f] {
      for (int i = 0; i < kPerFiber; ++i) one("fiber " + std::to_string(f), i);
    });
  }
  start.open();
  run_bounded(group);
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(ok_count.load(), kTotal) << "the first wrong: " << first_of(wrong);
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.requests, std::uint64_t{kTotal});
  EXPECT_LE(stats.dials, std::uint64_t{kThreads + kFibers}) << "more connections than requesters";
  EXPECT_LE(used->count(), stats.dials);
  EXPECT_EQ(stats.reuses, stats.requests - used->count());
  // nginx may accept a connection after the client's connect() returned.
  std::optional<std::uint64_t> accepted;
  EXPECT_TRUE(wait_for([&] { return (accepted = server.accepted_connections()) == stats.dials; }))
      << (accepted ? std::to_string(*accepted) : "?") << " connections accepted, " << stats.dials
      << " dialed";
}

TEST_F(FiberTest, ThreadsAndFibersWaitingForTwoConnectionsHandThemToEachOther) {
  // Two connections for 20 requesters: a thread giving one back wakes a
  // parked fiber through its scheduler's eventfd, a fiber giving one back
  // wakes a thread's condition variable or another fiber directly.
  ScriptedServer& server = scripted_server();
  auto dialer = std::make_shared<HeldDialer>(server.port());
  TransportOptions options;
  options.max_conns_per_host = 2;
  options.dial = HeldDialer::func(dialer);
  Client& client = make_client(std::move(options));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  constexpr int kFibers = 16;
  constexpr int kPerFiber = 5;
  constexpr int kTotal = kThreads * kPerThread + kFibers * kPerFiber;
  std::atomic<int> ok_count{0};
  std::mutex mu;  // guards wrong
  std::vector<std::string> wrong;
  auto one = [&](const std::string& who) {
    const std::string got = fetch(client, server.url() + "/" + who);
    if (got == "ok") {
      ++ok_count;
    } else {
      const std::lock_guard lock(mu);
      wrong.push_back(who + ": " + got);
    }
  };
  Gate start;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      EXPECT_TRUE(start.wait());
      for (int i = 0; i < kPerThread; ++i) one("thread-" + std::to_string(t));
    });
  }
  FiberGroup group;
  for (int f = 0; f < kFibers; ++f) {
    group.spawn([&, f] {
      for (int i = 0; i < kPerFiber; ++i) one("fiber-" + std::to_string(f));
    });
  }
  group.spawn([&] { dialer->go.open(); });  // the fibers above have queued: both dials started
  start.open();
  run_bounded(group);
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(ok_count.load(), kTotal) << "the first wrong: " << first_of(wrong);
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dials, 2u);
  EXPECT_EQ(stats.reuses, kTotal - connections_used(server.requests()));
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_TRUE(server.wait_for_connections_accepted(2, kWait));
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(FiberTest, TwoFiberGroupsOnTwoThreadsShareTheSameTwoConnections) {
  // Each connection is watched by both groups' epoll sets in turn.
  ScriptedServer& server = scripted_server();
  auto dialer = std::make_shared<HeldDialer>(server.port());
  TransportOptions options;
  options.max_conns_per_host = 2;
  options.dial = HeldDialer::func(dialer);
  Client& client = make_client(std::move(options));
  constexpr int kFibers = 8;
  constexpr int kEach = 10;
  std::atomic<int> ok_count{0};
  auto fill = [&](FiberGroup& group, ThreadLog& ran_on, const std::string& name) {
    for (int f = 0; f < kFibers; ++f) {
      group.spawn([&, f, name] {
        for (int i = 0; i < kEach; ++i) {
          ran_on.here();
          if (fetch(client, server.url() + "/" + name + "-" + std::to_string(f)) == "ok") ++ok_count;
        }
        ran_on.here();
      });
    }
  };
  Gate start;
  ThreadLog ran_on_other;
  std::thread::id other_id;
  std::thread other([&] {
    other_id = std::this_thread::get_id();
    FiberGroup group;
    fill(group, ran_on_other, "a");
    EXPECT_TRUE(start.wait());
    run_bounded(group);
  });
  ThreadLog ran_on_this;
  FiberGroup group;
  fill(group, ran_on_this, "b");
  group.spawn([&] { dialer->go.open(); });  // this group's fibers have queued: both dials started
  start.open();
  run_bounded(group);
  other.join();

  EXPECT_EQ(ok_count.load(), 2 * kFibers * kEach);
  EXPECT_EQ(ran_on_this.ids(), std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(ran_on_other.ids(), std::set<std::thread::id>{other_id});
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dials, 2u);
  EXPECT_EQ(stats.reuses, 2 * kFibers * kEach - connections_used(server.requests()));
  EXPECT_TRUE(server.wait_for_connections_accepted(2, kWait));
  EXPECT_EQ(server.connections_accepted(), 2u);
}

// ---------------------------------------------------------------------------
// Fd numbers reused under the scheduler's watches

TEST_F(FiberTest, NewConnectionsOnTheFdNumbersOfClosedOnesAreWaitedOnCorrectly) {
  // A connection per request: each closes after its response and the next
  // dial gets a number the scheduler already watched, for another socket.
  ScriptedServer& server = scripted_server();
  struct FdLog {
    std::mutex mu;  // guards fds
    std::vector<int> fds;
  };
  auto log = std::make_shared<FdLog>();
  TransportOptions options;
  options.disable_keep_alives = true;
  options.dial = [log, port = server.port()](const DialRequest&) -> Result<int> {
    Result<int> fd = testing::connect_loopback(port);
    if (fd) {
      const std::lock_guard lock(log->mu);
      log->fds.push_back(*fd);
    }
    return fd;
  };
  Client& client = make_client(std::move(options));
  constexpr int kFibers = 4;
  constexpr int kEach = 50;
  const FiberFetches got = fetch_in_fibers(client, server.url(), kFibers, kEach);

  EXPECT_EQ(got.ok, kFibers * kEach) << "the first wrong: " << first_of(got.wrong);
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dials, std::uint64_t{kFibers * kEach});
  EXPECT_EQ(stats.reuses, 0u);
  std::set<int> distinct;
  {
    const std::lock_guard lock(log->mu);
    distinct.insert(log->fds.begin(), log->fds.end());
    EXPECT_EQ(log->fds.size(), std::size_t{kFibers * kEach});
  }
  // The case under test happened: numbers came back for new sockets.
  EXPECT_LT(distinct.size(), std::size_t{kFibers * kEach / 2});
}

TEST_F(FiberTest, ConnectionsTheServerClosesAfterEachResponseAreReplacedWithoutAHang) {
  // The server closes without saying so: the pooled connection is found
  // closed at checkout (or fails and the GET is retried on a new one), and
  // its replacement usually gets the same fd number.
  ScriptedServer& server = scripted_server({}, Script().expect_request().respond("ok").close());
  Client& client = make_client();
  constexpr int kFibers = 4;
  constexpr int kEach = 25;
  const FiberFetches got = fetch_in_fibers(client, server.url(), kFibers, kEach);

  EXPECT_EQ(got.ok, kFibers * kEach) << "the first wrong: " << first_of(got.wrong);
  const std::vector<ServerRequest> seen = server.requests();
  EXPECT_EQ(seen.size(), std::size_t{kFibers * kEach});
  for (const ServerRequest& r : seen) EXPECT_EQ(r.exchange_index, 0u) << r.target;
  // A dial can end after its request went out on a connection handed back
  // meanwhile (late binding); it then carries nothing.
  const TransportStats stats = settled_stats();
  EXPECT_GE(stats.dials, std::uint64_t{kFibers * kEach});
  EXPECT_TRUE(wait_for([&] { return server.connections_accepted() == stats.dials; }))
      << server.connections_accepted() << " connections accepted, " << stats.dials << " dialed";
}

// ---------------------------------------------------------------------------
// The group itself

TEST_F(FiberTest, RunReturnsOnlyWhenFibersSpawnedByFibersHaveFinished) {
  ScriptedServer& server = scripted_server();
  Client& client = make_client();
  constexpr int kGrandchildren = 8;
  FiberGroup group;
  std::vector<std::string> finished;
  std::vector<std::string> wrong;
  auto get = [&](const std::string& path) {
    const std::string got = fetch(client, server.url() + path);
    if (got != "ok") wrong.push_back(path + ": " + got);
  };
  group.spawn([&] {
    // Spawned before this fiber's first park...
    group.spawn([&] {
      get("/child");
      // ...and after a park, while run() waits in its loop.
      for (int i = 0; i < kGrandchildren; ++i) {
        group.spawn([&, i] {
          get("/grandchild-" + std::to_string(i));
          finished.push_back("grandchild " + std::to_string(i));
        });
      }
      finished.push_back("child");
    });
    get("/parent");
    finished.push_back("parent");
  });
  run_bounded(group);

  std::set<std::string> expected = {"parent", "child"};
  for (int i = 0; i < kGrandchildren; ++i) expected.insert("grandchild " + std::to_string(i));
  EXPECT_EQ(finished.size(), expected.size());
  EXPECT_EQ(std::set<std::string>(finished.begin(), finished.end()), expected);
  EXPECT_TRUE(wrong.empty()) << first_of(wrong);
  EXPECT_EQ(server.requests().size(), std::size_t{2 + kGrandchildren});

  // The group runs again for fibers spawned after run() returned.
  bool again = false;
  group.spawn([&] { again = fetch(client, server.url() + "/again") == "ok"; });
  run_bounded(group);
  EXPECT_TRUE(again);
}

TEST_F(FiberTest, AGroupDestroyedBeforeRunDropsItsFibersUnstarted) {
  auto owned = std::make_shared<int>(7);  // ASan sees it leak if the dropped fiber's function does
  bool ran = false;
  {
    FiberGroup group;
    group.run();  // none yet: returns at once
    group.spawn([&ran, owned] { ran = *owned == 7; });
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(owned.use_count(), 1) << "the dropped fiber's function was not destroyed";
}

// ---------------------------------------------------------------------------
// TLS

const TestPki& pki() {
  return TestPki::shared();
}

class FiberTls : public FiberTest {
 protected:
  void SetUp() override {
    FiberTest::SetUp();
    ASSERT_TRUE(pki().ok());
  }
};

TEST_F(FiberTls, FibersShareHttpsConnectionsAndEveryNewOneResumesTheSession) {
  NginxOptions nginx_options;
  nginx_options.tls = NginxTlsOptions{.cert = pki().server_cert(), .key = pki().server_key()};
  NginxServer& server = nginx(std::move(nginx_options));
  // TLS runs over the hook's socket; the dials of the second phase wait
  // until all its fibers have queued.
  auto dialer = std::make_shared<HeldDialer>(server.tls_port(), /*free=*/1);
  TransportOptions options;
  options.tls.ca_file = pki().ca_cert();
  options.dial = HeldDialer::func(dialer);
  Client& client = make_client(std::move(options));
  const std::string url = "https://localhost:" + std::to_string(server.tls_port()) + "/request";
  struct Seen {
    std::uint64_t conn = 0;
    bool resumed = false;
    std::string body;
  };
  auto get = [&](Seen& seen) {
    Result<Response> response = client.send(request("GET", url));
    if (!response) {
      seen.body = describe(response.error());
      return;
    }
    seen.conn = response->conn.id;
    seen.resumed = response->conn.tls != nullptr && response->conn.tls->resumed;
    seen.body = response->body.read_all().value_or("(body failed)");
  };

  // One full handshake; reading its response reads the session ticket.
  Seen first;
  {
    FiberGroup group;
    group.spawn([&] { get(first); });
    run_bounded(group);
  }
  ASSERT_EQ(line_value(first.body, "method"), "GET") << first.body;
  EXPECT_FALSE(first.resumed);
  EXPECT_EQ(line_value(first.body, "tls-session-reused"), ".");

  // Then 8 fibers at once, the first connection closed: each queues and
  // starts a dial, and every handshake resumes that session. Which of the
  // new connections carry the requests depends on timing (late binding),
  // not that each of them resumes.
  transport().close_idle_connections();
  constexpr int kFibers = 8;
  constexpr int kEach = 3;
  std::vector<Seen> seen(kFibers * kEach);
  ThreadLog ran_on;
  {
    FiberGroup group;
    for (int f = 0; f < kFibers; ++f) {
      group.spawn([&, f] {
        for (int i = 0; i < kEach; ++i) {
          ran_on.here();
          get(seen[static_cast<std::size_t>(f * kEach + i)]);
        }
      });
    }
    group.spawn([&] { dialer->go.open(); });
    run_bounded(group);
  }
  std::set<std::uint64_t> used;
  for (const Seen& s : seen) {
    ASSERT_EQ(line_value(s.body, "method"), "GET") << s.body;
    EXPECT_NE(s.conn, first.conn);
    EXPECT_EQ(line_value(s.body, "tls-protocol"), "TLSv1.3");
    EXPECT_EQ(line_value(s.body, "tls-session-reused"), "r") << "connection " << s.conn;
    EXPECT_TRUE(s.resumed) << "connection " << s.conn << " made a full handshake";
    used.insert(s.conn);
  }
  EXPECT_EQ(ran_on.ids(), std::set<std::thread::id>{std::this_thread::get_id()});
  const TransportStats stats = settled_stats();
  EXPECT_EQ(stats.dials, std::uint64_t{1 + kFibers});
  EXPECT_LE(used.size(), std::size_t{kFibers});
  EXPECT_EQ(stats.reuses, kFibers * kEach - used.size());
  EXPECT_EQ(stats.idle, std::size_t{kFibers});
  // nginx may accept a connection after the client's connect() returned.
  std::optional<std::uint64_t> accepted;
  EXPECT_TRUE(wait_for([&] { return (accepted = server.accepted_connections()) == stats.dials; }))
      << (accepted ? std::to_string(*accepted) : "?") << " connections accepted, " << stats.dials
      << " dialed";
}

}  // namespace
}  // namespace nethttp
