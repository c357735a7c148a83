// The soak test (docs/RELIABILITY.md): many requests from many threads, one
// shared Client, against a server that injects faults into about 1% of them
// (closes, resets, stalls, truncated and slow bodies, stray bytes, idle
// closes and 408s: soak_plan.h). It fails (exit status 1) unless
//   - every request ended as the fault it met requires: a success with its
//     own complete body, or an error of the expected kind (soak_plan.h's
//     expected_outcome(), checked request by request against the server's
//     record of what it did);
//   - no request stayed in flight longer than the watchdog allows (a hang:
//     the watchdog prints every request in flight and aborts);
//   - once the requests are done and the idle connections closed, this
//     process has exactly the descriptors it had before the first request;
//   - its RSS did not grow by more than a bound after the first 10% of the
//     requests (past warm-up: thread stacks, malloc arenas, pool buffers).
// It prints a sample once a second (progress, open descriptors, RSS, pool
// counters), optionally as CSV too, and a summary.
//
//   nethttp_soak [--requests N] [--threads T] [--fibers F] [--fault-rate R]
//                [--seed S] [--deadline-ms MS] [--watchdog-s S] [--csv FILE]
//                [--rss-growth-mib M | --no-rss-check]
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fault_server.h"
#include "nethttp/client.h"
#include "nethttp/fibers.h"
#include "process_usage.h"
#include "soak_plan.h"
#include "support/fd_count.h"
#include "support/wait.h"

namespace nethttp::soak {
namespace {

using Clock = std::chrono::steady_clock;

/// Bodies are under 1 KiB (soak_plan.cc); anything larger is garbage.
constexpr std::size_t kMaxBodyBytes = std::size_t{64} << 10;
/// Failures printed in full; the rest are only counted.
constexpr std::uint64_t kMaxFailuresPrinted = 20;
/// How long the pool may take to settle after the last request (a dial
/// finishing for a request that gave up): loopback dials take microseconds.
constexpr std::chrono::seconds kSettleTimeout{10};

struct Options {
  std::uint64_t requests = 1'000'000;
  int threads = 64;
  int fibers = 0;  ///< per thread; 0: each worker is a thread
  double fault_rate = 0.01;
  std::optional<std::uint64_t> seed;  ///< default: a random one, printed
  /// Each request's deadline (ClientOptions::timeout): what a stall costs.
  std::chrono::milliseconds deadline{2000};
  /// A request in flight longer than this is a hang.
  std::chrono::seconds watchdog{30};
  std::string csv;
  bool rss_check = true;
  /// Warm-up is over by 10% of the requests; from there to the end RSS
  /// grew by under 1 MiB in the runs of docs/RELIABILITY.md. 8 MiB leaves
  /// room for the allocator and catches a leak of 10 bytes per request over
  /// a full run (200 over the short one).
  std::uint64_t rss_growth_mib = 8;
};

void usage() {
  std::fprintf(stderr,
               "usage: nethttp_soak [--requests N] [--threads T] [--fibers F] [--fault-rate R] [--seed S]\n"
               "                    [--deadline-ms MS] [--watchdog-s S] [--csv FILE]\n"
               "                    [--rss-growth-mib M | --no-rss-check]\n");
}

template <class T>
bool parse_int(std::string_view text, T* value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-rss-check") {
      o.rss_check = false;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const std::string_view value = argv[++i];
    bool ok = true;
    std::int64_t n = 0;
    if (arg == "--requests") {
      ok = parse_int(value, &o.requests) && o.requests > 0;
    } else if (arg == "--threads") {
      ok = parse_int(value, &o.threads) && o.threads > 0;
    } else if (arg == "--fibers") {
      ok = parse_int(value, &o.fibers) && o.fibers >= 0;
    } else if (arg == "--fault-rate") {
      char* end = nullptr;
      o.fault_rate = std::strtod(argv[i], &end);
      ok = *end == '\0' && o.fault_rate >= 0 && o.fault_rate <= 1;
    } else if (arg == "--seed") {
      std::uint64_t seed = 0;
      ok = parse_int(value, &seed);
      o.seed = seed;
    } else if (arg == "--deadline-ms") {
      ok = parse_int(value, &n) && n > 0;
      o.deadline = std::chrono::milliseconds(n);
    } else if (arg == "--watchdog-s") {
      ok = parse_int(value, &n) && n > 0;
      o.watchdog = std::chrono::seconds(n);
    } else if (arg == "--csv") {
      o.csv = value;
    } else if (arg == "--rss-growth-mib") {
      ok = parse_int(value, &o.rss_growth_mib);
    } else {
      ok = false;
    }
    if (!ok) return std::nullopt;
  }
  // The watchdog must not fire on a request that is only waiting out its deadline.
  if (o.watchdog <= o.deadline + std::chrono::seconds(5)) return std::nullopt;
  return o;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

/// For printf's %llu.
unsigned long long ull(std::uint64_t n) {
  return n;
}

/// A Fault, Outcome, ErrorKind or CloseReason as a string, for printf's %s.
template <class E>
std::string name(E e) {
  return std::string(to_string(e));
}

struct CloseFile {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

/// What one worker (a thread, or a fiber) is doing, for the watchdog.
struct WorkerState {
  enum Phase : std::uint8_t { idle, sending, reading_body };
  std::atomic<std::uint64_t> id{0};
  std::atomic<std::int64_t> since_ns{0};  ///< when the request started (steady clock); 0 while idle
  std::atomic<Phase> phase{idle};
  /// The request's first connection was a parked dial (below). Written and
  /// read by the worker alone, as are the fields below it.
  bool first_was_parked = false;
  std::chrono::nanoseconds slowest_success{0};  ///< the longest request that succeeded
  std::chrono::nanoseconds slowest_timeout{0};  ///< the longest request that timed out
};

/// The worker running on this thread, as of its last request start.
thread_local WorkerState* t_worker = nullptr;

/// The got_conn trace hook: notes a parked dial, a connection dialed for a
/// request that took another one meanwhile, handed out from the idle pool
/// before it carried anything. The transport counts it as reused (it sat
/// idle), so a fault before any response byte is retried although the
/// server saw a fresh connection. Only a first attempt can get one (a retry
/// skips the idle pool), and nothing between the start of a request and a
/// checkout from the idle pool parks a fiber, so t_worker is the requester
/// also when fibers share the thread.
void note_parked_dial(std::uint64_t /*conn_id*/, bool reused, bool was_idle,
                      std::chrono::nanoseconds /*idle_time*/) {
  if (was_idle && !reused && t_worker != nullptr) t_worker->first_was_parked = true;
}

/// Descriptors and RSS at one point of the run.
struct Mark {
  std::string label;
  double elapsed_s = 0;
  std::uint64_t done = 0;
  int fds = 0;
  std::uint64_t rss = 0;
};

Mark take_mark(std::string label, Clock::time_point start, std::uint64_t done) {
  return Mark{std::move(label), seconds_since(start), done, testing::count_open_fds(), cli::resident_bytes()};
}

TransportOptions transport_options() {
  TransportOptions o;
  o.trace.got_conn = note_parked_dial;
  return o;
}

ClientOptions client_options(const Options& options) {
  ClientOptions o;
  o.timeout = options.deadline;
  return o;
}

/// Where `got` and `want` first differ, with some bytes of each around it.
std::string describe_mismatch(std::string_view got, std::string_view want) {
  const auto at = static_cast<std::size_t>(
      std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin());
  const std::size_t from = at < 16 ? 0 : at - 16;
  return "body of " + std::to_string(got.size()) + " bytes (want " + std::to_string(want.size()) +
         ") differs at byte " + std::to_string(at) + ": got \"" + std::string(got.substr(from, 48)) +
         "\", want \"" + std::string(want.substr(from, 48)) + "\"; got starts \"" +
         std::string(got.substr(0, got.find('\n'))) + "\"";
}

/// The run: the workers, what they share, and the checks.
class Soak {
 public:
  Soak(const Options& options, std::uint16_t port)
      : options_(options),
        plan_(*options.seed, options.fault_rate),
        transport_(std::make_shared<Transport>(transport_options())),
        client_(transport_, client_options(options)),
        base_url_("http://127.0.0.1:" + std::to_string(port)),
        outcomes_(options.requests, Outcome::pending),
        first_was_parked_(options.requests, 0),
        workers_(static_cast<std::size_t>(options.threads) *
                 static_cast<std::size_t>(std::max(1, options.fibers))) {}

  /// Sends every request, checks everything; the exit status.
  int run();

 private:
  void run_workers();
  void work(WorkerState& w);
  Outcome request(WorkerState& w, std::uint64_t id);
  Outcome classify(std::uint64_t id, const Error& error, std::string_view step);
  Outcome fail(std::uint64_t id, const std::string& what);
  void print_failure(std::uint64_t id, const std::string& what) const;
  void on_done(std::uint64_t done);
  void add_mark(Mark mark);
  void sample_until_finished(std::FILE* csv);
  void watchdog_check();
  /// Each check prints what failed; false then.
  bool check_pool_settles();
  bool check_descriptors(const testing::FdSnapshot& before);
  bool check_rss(const Mark& end) const;
  bool check_outcomes(const ServerReport& report) const;
  bool check_every_fault_injected(const ServerReport& report) const;
  [[nodiscard]] std::optional<ServerReport> fetch_report();
  void print_summary(const ServerReport& report, double wall_s) const;
  [[nodiscard]] const Mark& mark_at_10_percent() const;

  const Options& options_;
  const Plan plan_;
  std::shared_ptr<Transport> transport_;
  Client client_;
  const std::string base_url_;
  Clock::time_point start_;

  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> failures_{0};
  /// By request id; each written by the one worker that sent it, read after
  /// the workers are joined.
  std::vector<Outcome> outcomes_;
  std::vector<std::uint8_t> first_was_parked_;  ///< WorkerState::first_was_parked, by request id
  std::vector<WorkerState> workers_;

  mutable std::mutex mu_;  // guards the fields below
  std::vector<Mark> marks_;
  std::condition_variable finished_cv_;
  bool finished_ = false;
  int peak_fds_ = 0;
  std::uint64_t peak_rss_ = 0;
};

void Soak::print_failure(std::uint64_t id, const std::string& what) const {
  std::fprintf(stderr, "FAIL request %llu (planned fault %s): %s\n", ull(id),
               name(plan_.fault_for(id)).c_str(), what.c_str());
}

Outcome Soak::fail(std::uint64_t id, const std::string& what) {
  if (failures_.fetch_add(1) < kMaxFailuresPrinted) print_failure(id, what);
  return Outcome::failed;
}

Outcome Soak::classify(std::uint64_t id, const Error& error, std::string_view step) {
  switch (error.kind()) {
    case ErrorKind::io: return Outcome::io;
    case ErrorKind::body: return Outcome::body;
    case ErrorKind::timeout: return Outcome::timeout;
    default:
      return fail(
          id, std::string(step) + ": unexpected error kind " + name(error.kind()) + ": " + error.message());
  }
}

Outcome Soak::request(WorkerState& w, std::uint64_t id) {
  Result<Response> r = client_.get(base_url_ + path_for(id));
  if (!r) return classify(id, r.error(), "sending");
  Response& response = *r;
  w.phase = WorkerState::reading_body;
  Result<std::string> body = response.body.read_all(kMaxBodyBytes);
  if (response.status == 408 && response.header.get(kFaultField) == "idle_408") return Outcome::raced_408;
  if (response.status != 200)
    return fail(id, "status " + std::to_string(response.status) + " " + response.reason);
  if (!body) return classify(id, body.error(), "reading the body");
  if (const std::string want = body_for(id); *body != want) return fail(id, describe_mismatch(*body, want));
  return Outcome::success;
}

void Soak::work(WorkerState& w) {
  for (;;) {
    const std::uint64_t id = next_.fetch_add(1);
    if (id >= options_.requests) return;
    w.id = id;
    w.phase = WorkerState::sending;
    const Clock::time_point started = Clock::now();
    w.since_ns = started.time_since_epoch().count();
    w.first_was_parked = false;
    t_worker = &w;
    Outcome outcome = Outcome::failed;
    try {
      outcome = request(w, id);
    } catch (const std::exception& e) {
      outcome = fail(id, std::string("exception: ") + e.what());
    }
    outcomes_[id] = outcome;
    first_was_parked_[id] = w.first_was_parked ? 1 : 0;
    const std::chrono::nanoseconds took = Clock::now() - started;
    if (outcome == Outcome::success) w.slowest_success = std::max(w.slowest_success, took);
    if (outcome == Outcome::timeout) w.slowest_timeout = std::max(w.slowest_timeout, took);
    w.since_ns = 0;
    w.phase = WorkerState::idle;
    on_done(done_.fetch_add(1) + 1);
  }
}

void Soak::run_workers() {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(options_.threads));
  for (int t = 0; t < options_.threads; ++t) {
    threads.emplace_back([this, t] {
      if (options_.fibers == 0) {
        work(workers_[static_cast<std::size_t>(t)]);
        return;
      }
      FiberGroup group;
      for (int f = 0; f < options_.fibers; ++f) {
        WorkerState& w = workers_[static_cast<std::size_t>(t) * static_cast<std::size_t>(options_.fibers) +
                                  static_cast<std::size_t>(f)];
        group.spawn([this, &w] { work(w); });
      }
      group.run();
    });
  }
  for (std::thread& thread : threads) thread.join();
}

void Soak::add_mark(Mark mark) {
  const std::lock_guard lock(mu_);
  marks_.push_back(std::move(mark));
}

void Soak::on_done(std::uint64_t done) {
  static constexpr std::array<std::uint64_t, 4> kPercents = {10, 25, 50, 75};
  for (const std::uint64_t percent : kPercents) {
    if (done == std::max<std::uint64_t>(1, options_.requests * percent / 100)) {
      add_mark(take_mark(std::to_string(percent) + "%", start_, done));
    }
  }
}

const Mark& Soak::mark_at_10_percent() const {
  // Added once, when the 10th percent of the requests ended.
  return *std::find_if(marks_.begin(), marks_.end(), [](const Mark& m) { return m.label == "10%"; });
}

void Soak::watchdog_check() {
  const std::int64_t now = Clock::now().time_since_epoch().count();
  const std::int64_t limit = std::chrono::nanoseconds(options_.watchdog).count();
  const bool hung = std::any_of(workers_.begin(), workers_.end(), [&](const WorkerState& w) {
    const std::int64_t since = w.since_ns;
    return since != 0 && now - since > limit;
  });
  if (!hung) return;
  std::fprintf(stderr, "WATCHDOG: a request has been in flight for over %lld s; requests in flight:\n",
               static_cast<long long>(options_.watchdog.count()));
  static constexpr std::array<const char*, 3> kPhases = {"idle", "sending, or waiting for the head",
                                                         "reading the body"};
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const WorkerState& w = workers_[i];
    const std::int64_t since = w.since_ns;
    if (since == 0) continue;
    std::fprintf(stderr, "  worker %zu: request %llu (planned fault %s), %s, for %.1f s\n", i, ull(w.id),
                 name(plan_.fault_for(w.id)).c_str(), kPhases[w.phase],
                 static_cast<double>(now - since) / 1e9);
  }
  const TransportStats s = transport_->stats();
  std::fprintf(stderr, "  pool: idle %zu, in use %zu, dialing %zu, waiting %zu\n", s.idle, s.in_use,
               s.dialing, s.waiting);
  std::fflush(stderr);
  std::abort();
}

void Soak::sample_until_finished(std::FILE* csv) {
  if (csv != nullptr) {
    std::fprintf(csv, "elapsed_s,done,req_per_s,fds,rss_kib,idle,in_use,dialing,waiting,dials,retries\n");
  }
  std::printf("%8s %9s %6s %8s %5s %9s %5s %6s %8s %7s %7s\n", "elapsed", "done", "%", "req/s", "fds",
              "RSS MiB", "idle", "in_use", "waiting", "dials", "retries");
  std::uint64_t last_done = 0;
  Clock::time_point last = start_;
  std::unique_lock lock(mu_);
  for (;;) {
    const bool finished = finished_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return finished_; });
    lock.unlock();
    watchdog_check();
    const Clock::time_point now = Clock::now();
    const std::uint64_t done = done_;
    const double rate = static_cast<double>(done - last_done) /
                        std::max(1e-9, std::chrono::duration<double>(now - last).count());
    const int fds = testing::count_open_fds();
    const std::uint64_t rss = cli::resident_bytes();
    const TransportStats s = transport_->stats();
    const double elapsed = seconds_since(start_);
    std::printf("%7.1fs %9llu %5.1f%% %8.0f %5d %9.1f %5zu %6zu %8zu %7llu %7llu\n", elapsed, ull(done),
                100.0 * static_cast<double>(done) / static_cast<double>(options_.requests), rate, fds,
                mib(rss), s.idle, s.in_use, s.waiting, ull(s.dials), ull(s.retries));
    std::fflush(stdout);
    if (csv != nullptr) {
      std::fprintf(csv, "%.3f,%llu,%.0f,%d,%llu,%zu,%zu,%zu,%zu,%llu,%llu\n", elapsed, ull(done), rate, fds,
                   ull(rss / 1024), s.idle, s.in_use, s.dialing, s.waiting, ull(s.dials), ull(s.retries));
    }
    last_done = done;
    last = now;
    lock.lock();
    peak_fds_ = std::max(peak_fds_, fds);
    peak_rss_ = std::max(peak_rss_, rss);
    if (finished) return;
  }
}

bool Soak::check_pool_settles() {
  // A dial that finished after its request gave up parks its connection.
  const auto settled = [&] {
    const TransportStats s = transport_->stats();
    return s.in_use == 0 && s.dialing == 0 && s.waiting == 0;
  };
  if (testing::wait_for(settled, kSettleTimeout)) return true;
  const TransportStats s = transport_->stats();
  std::fprintf(stderr,
               "FAIL the pool did not settle after the last request: in use %zu, dialing %zu, waiting %zu\n",
               s.in_use, s.dialing, s.waiting);
  return false;
}

bool Soak::check_descriptors(const testing::FdSnapshot& before) {
  const testing::FdSnapshot after = testing::open_fds();
  const testing::FdSnapshot opened = testing::opened_since(before, after);
  const testing::FdSnapshot gone = testing::opened_since(after, before);
  if (opened.empty() && gone.empty()) return true;
  std::fprintf(stderr, "FAIL descriptors differ from before the first request: open now %s; gone %s\n",
               testing::describe(opened).c_str(), testing::describe(gone).c_str());
  return false;
}

bool Soak::check_rss(const Mark& end) const {
  const Mark& reference = mark_at_10_percent();
  if (!options_.rss_check || end.rss <= reference.rss + options_.rss_growth_mib * 1024 * 1024) return true;
  std::fprintf(stderr,
               "FAIL RSS grew from %.1f MiB at %s of the requests to %.1f MiB at the end (bound +%llu MiB)\n",
               mib(reference.rss), reference.label.c_str(), mib(end.rss), ull(options_.rss_growth_mib));
  return false;
}

std::optional<ServerReport> Soak::fetch_report() {
  Result<Response> r = client_.get(base_url_ + std::string(kReportPath));
  if (!r) {
    std::fprintf(stderr, "FAIL fetching the server's report: %s\n", r.error().message().c_str());
    return std::nullopt;
  }
  Result<std::string> text = r->body.read_all();
  if (!text) {
    std::fprintf(stderr, "FAIL reading the server's report: %s\n", text.error().message().c_str());
    return std::nullopt;
  }
  std::optional<ServerReport> report = ServerReport::parse(*text);
  if (!report) std::fprintf(stderr, "FAIL the server's report does not parse\n");
  return report;
}

bool Soak::check_outcomes(const ServerReport& report) const {
  std::unordered_map<std::uint64_t, FaultRecord> applied;
  for (const FaultRecord& f : report.faults) applied.emplace(f.id, f);
  const std::unordered_set<std::uint64_t> raced(report.raced_408s.begin(), report.raced_408s.end());
  std::uint64_t mismatches = 0;
  const auto mismatch = [&](std::uint64_t id, const std::string& what) {
    if (mismatches++ < kMaxFailuresPrinted) print_failure(id, what);
  };
  for (std::uint64_t id = 0; id < options_.requests; ++id) {
    const Outcome got = outcomes_[id];
    if (got == Outcome::failed) continue;  // reported when it happened
    const Fault planned = plan_.fault_for(id);
    const auto record = applied.find(id);
    Outcome want = Outcome::success;
    std::string why = "no fault";
    if (record != applied.end() && record->second.fault != planned) {
      mismatch(id, "the server applied " + name(record->second.fault));
      continue;
    }
    if (raced.contains(id)) {
      // Its request reached the server only behind a 408, which it got.
      if (record != applied.end()) {
        mismatch(id, "the server both applied its fault and saw it race a 408");
        continue;
      }
      want = Outcome::raced_408;
      why = "it raced a 408";
    } else if (planned != Fault::none) {
      if (record == applied.end()) {
        mismatch(id, "ended as " + name(got) + " but the server never applied its fault");
        continue;
      }
      // The server knows whether the connection carried a request before;
      // the transport also counts a parked dial as reused.
      const bool reused = record->second.reused || first_was_parked_[id] != 0;
      want = expected_outcome(planned, reused);
      why = std::string("the fault hit a ") +
            (record->second.reused ? "reused"
             : reused              ? "parked (fresh, idle)"
                                   : "fresh") +
            " connection";
    }
    if (got != want) mismatch(id, "ended as " + name(got) + ", want " + name(want) + " (" + why + ")");
  }
  if (mismatches > kMaxFailuresPrinted) {
    std::fprintf(stderr, "FAIL ... %llu outcome mismatches in all\n", ull(mismatches));
  }
  return mismatches == 0;
}

bool Soak::check_every_fault_injected(const ServerReport& report) const {
  // A fault kind that never happened was not tested; only small runs may miss one.
  const double expected = static_cast<double>(options_.requests) * options_.fault_rate / (kFaultCount - 1);
  if (expected < 10) return true;
  bool ok = true;
  for (int i = 1; i < kFaultCount; ++i) {
    const auto fault = static_cast<Fault>(i);
    if (std::none_of(report.faults.begin(), report.faults.end(),
                     [&](const FaultRecord& f) { return f.fault == fault; })) {
      std::fprintf(stderr, "FAIL no %s fault was injected (expected about %.0f)\n", name(fault).c_str(),
                   expected);
      ok = false;
    }
  }
  return ok;
}

void Soak::print_summary(const ServerReport& report, double wall_s) const {
  std::printf("\nrequests: %llu in %.1f s (%.0f req/s), %d %s\n", ull(options_.requests), wall_s,
              static_cast<double>(options_.requests) / wall_s,
              options_.threads * std::max(1, options_.fibers), options_.fibers > 0 ? "fibers" : "threads");
  std::array<std::uint64_t, kOutcomeCount> outcomes{};
  for (const Outcome o : outcomes_) ++outcomes[static_cast<std::size_t>(o)];
  std::printf("outcomes:");
  for (int i = 0; i < kOutcomeCount; ++i) {
    const std::uint64_t n = outcomes[static_cast<std::size_t>(i)];
    if (n > 0) std::printf(" %s %llu", name(static_cast<Outcome>(i)).c_str(), ull(n));
  }
  // [fault][reused]
  std::array<std::array<std::uint64_t, 2>, kFaultCount> by_fault{};
  for (const FaultRecord& f : report.faults) ++by_fault[static_cast<std::size_t>(f.fault)][f.reused ? 1 : 0];
  std::printf("\nfaults injected (%zu):", report.faults.size());
  for (int i = 1; i < kFaultCount; ++i) {
    const auto fault = static_cast<Fault>(i);
    const auto& n = by_fault[static_cast<std::size_t>(i)];
    std::printf("%s %s %llu", i == 1 ? "" : ",", name(fault).c_str(), ull(n[0] + n[1]));
    if (fault == Fault::close_before_head || fault == Fault::reset_before_head) {
      std::printf(" (%llu on reused connections)", ull(n[1]));
    }
  }
  std::printf(
      "\nserver: %llu connections, %llu requests, %llu retried ids answered normally, %llu requests closed "
      "unanswered by an idle close, %llu 408s sent (%zu raced a request)\n",
      ull(report.connections), ull(report.requests), ull(report.repeats), ull(report.idle_close_kills),
      ull(report.sent_408), report.raced_408s.size());
  const TransportStats s = transport_->stats();
  const auto parked = std::count(first_was_parked_.begin(), first_was_parked_.end(), std::uint8_t{1});
  std::printf("pool: %llu dials, %llu reuses, %llu retries, %lld first checkouts of a parked dial; closed:",
              ull(s.dials), ull(s.reuses), ull(s.retries), static_cast<long long>(parked));
  for (int i = 0; i < kCloseReasonCount; ++i) {
    const auto reason = static_cast<CloseReason>(i);
    if (s.closed_for(reason) > 0) std::printf(" %s %llu", name(reason).c_str(), ull(s.closed_for(reason)));
  }
  std::chrono::nanoseconds slowest_success{0};
  std::chrono::nanoseconds slowest_timeout{0};
  for (const WorkerState& w : workers_) {
    slowest_success = std::max(slowest_success, w.slowest_success);
    slowest_timeout = std::max(slowest_timeout, w.slowest_timeout);
  }
  std::printf(
      "\nslowest request: %.3f s of those that succeeded, %.3f s of those that timed out (deadline %.3f s)",
      std::chrono::duration<double>(slowest_success).count(),
      std::chrono::duration<double>(slowest_timeout).count(),
      std::chrono::duration<double>(options_.deadline).count());
  std::printf("\n%-30s %8s %10s %6s %9s\n", "point", "elapsed", "done", "fds", "RSS MiB");
  const std::lock_guard lock(mu_);
  for (const Mark& m : marks_) {
    std::printf("%-30s %7.1fs %10llu %6d %9.1f\n", m.label.c_str(), m.elapsed_s, ull(m.done), m.fds,
                mib(m.rss));
  }
  std::printf("%-30s %8s %10s %6d %9.1f\n", "peak of the samples", "", "", peak_fds_, mib(peak_rss_));
}

int Soak::run() {
  // Open until the end: it is in the descriptor baseline.
  std::unique_ptr<std::FILE, CloseFile> csv;
  if (!options_.csv.empty()) {
    csv.reset(std::fopen(options_.csv.c_str(), "w"));
    if (csv == nullptr) {
      std::fprintf(stderr, "cannot write %s\n", options_.csv.c_str());
      return 2;
    }
  }
  const std::string fibers = options_.fibers > 0 ? " x " + std::to_string(options_.fibers) + " fibers" : "";
  std::printf(
      "nethttp soak: %llu requests, %d threads%s, fault rate %g, seed %llu, deadline %lld ms, server %s\n",
      ull(options_.requests), options_.threads, fibers.c_str(), options_.fault_rate, ull(plan_.seed()),
      static_cast<long long>(options_.deadline.count()), base_url_.c_str());

  start_ = Clock::now();
  const testing::FdSnapshot fds_before = testing::open_fds();
  add_mark(take_mark("0% (before the first request)", start_, 0));
  std::thread sampler([&] { sample_until_finished(csv.get()); });
  run_workers();
  const double wall_s = seconds_since(start_);
  {
    const std::lock_guard lock(mu_);
    marks_.push_back(take_mark("100% (pool still open)", start_, done_));
    finished_ = true;
  }
  finished_cv_.notify_all();
  sampler.join();
  if (csv != nullptr) std::fflush(csv.get());

  bool ok = failures_ == 0;
  ok = check_pool_settles() && ok;
  transport_->close_idle_connections();
  ok = check_descriptors(fds_before) && ok;
  const Mark end = take_mark("end (idle connections closed)", start_, done_);
  add_mark(end);
  ok = check_rss(end) && ok;

  const std::optional<ServerReport> report = fetch_report();
  if (!report) return 1;
  ok = check_outcomes(*report) && ok;
  ok = check_every_fault_injected(*report) && ok;
  print_summary(*report, wall_s);
  const Mark& reference = mark_at_10_percent();
  std::printf("descriptors: %d before the first request, %d at the end\n", marks_.front().fds, end.fds);
  std::printf("RSS: %.1f MiB at %s of the requests, %.1f MiB at the end (%s)\n", mib(reference.rss),
              reference.label.c_str(), mib(end.rss),
              options_.rss_check ? ("bound +" + std::to_string(options_.rss_growth_mib) + " MiB").c_str()
                                 : "not checked: --no-rss-check");
  std::printf("result: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace nethttp::soak

int main(int argc, char** argv) {
  std::optional<nethttp::soak::Options> options = nethttp::soak::parse(argc, argv);
  if (!options) {
    nethttp::soak::usage();
    return 2;
  }
  if (!options->seed) options->seed = std::random_device{}();
  try {
    // The server forks before this process starts any thread.
    const nethttp::soak::FaultServerProcess server(nethttp::soak::Plan(*options->seed, options->fault_rate));
    return nethttp::soak::Soak(*options, server.port()).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    return 1;
  }
}
