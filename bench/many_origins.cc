// Client CPU per request when requests spread over many origins: an epoll
// server in a child process listens on K ports, and one Client sends R GETs
// round-robin over http://127.0.0.1:PORT_i/ (each body read to its end), from
// C threads. With every origin's connection kept idle, the figure should not
// depend on K; with --max-idle below K the pool evicts and dials (LRU churn).
//
//   nethttp_many_origins [--origins K=1000] [--requests R=200000]
//                        [--max-idle N=K*C] [--concurrency C=1]
//
// Prints one JSON object; exits non-zero on any request error.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nethttp/client.h"
#include "process_usage.h"
#include "server_process.h"

namespace {

struct Options {
  std::size_t origins = 1000;
  std::uint64_t requests = 200000;
  /// Idle connections the Transport keeps in total; unset: enough for all.
  std::optional<std::size_t> max_idle;
  std::size_t concurrency = 1;
};

void usage() {
  std::fprintf(stderr,
               "usage: nethttp_many_origins [--origins K] [--requests R] [--max-idle N] "
               "[--concurrency C]\n");
}

/// A positive integer argument, or nullopt.
std::optional<std::uint64_t> positive(const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || value == 0) return std::nullopt;
  return value;
}

std::optional<Options> parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::optional<std::uint64_t> value = i + 1 < argc ? positive(argv[i + 1]) : std::nullopt;
    if (!value) return std::nullopt;
    if (flag == "--origins") {
      options.origins = *value;
    } else if (flag == "--requests") {
      options.requests = *value;
    } else if (flag == "--max-idle") {
      options.max_idle = *value;
    } else if (flag == "--concurrency") {
      options.concurrency = *value;
    } else {
      return std::nullopt;
    }
  }
  return options;
}

double peak_rss_mib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

/// The first request error of any thread; the others stop at their next request.
class FirstError {
 public:
  void set(std::string message) {
    const std::lock_guard lock(mu_);
    if (!failed_.exchange(true)) message_ = std::move(message);
  }
  [[nodiscard]] bool failed() const { return failed_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::string message() const {
    const std::lock_guard lock(mu_);
    return message_;
  }

 private:
  mutable std::mutex mu_;  // guards message_
  std::string message_;
  std::atomic<bool> failed_{false};
};

/// One GET with its body read to the end; an error message unless it
/// answered 200 "ok".
std::optional<std::string> fetch(nethttp::Client& client, const std::string& url) {
  nethttp::Result<nethttp::Response> response = client.get(url);
  if (!response) return url + ": " + response.error().message();
  nethttp::Result<std::string> body = response->body.read_all();
  if (!body) return url + ": reading the body: " + body.error().message();
  if (response->status != 200 || *body != "ok") {
    return url + ": unexpected answer " + std::to_string(response->status) + " \"" + *body + "\"";
  }
  return std::nullopt;
}

int run(const Options& options) {
  // Per origin the server holds a listener and as many connections as the
  // client, which opens at most one per thread.
  const long open_files = nethttp::cli::raise_open_file_limit();
  const std::size_t needed = options.origins * (1 + options.concurrency) + 64;
  if (static_cast<std::size_t>(open_files) < needed) {
    std::fprintf(stderr, "need %zu file descriptors, have %ld\n", needed, open_files);
    return 1;
  }

  // Forked before the Transport starts any thread.
  const nethttp::bench::ServerProcess server(options.origins);
  std::vector<std::string> urls;
  urls.reserve(options.origins);
  for (const std::uint16_t port : server.ports()) {
    urls.push_back("http://127.0.0.1:" + std::to_string(port) + "/");
  }

  // By default an origin's connections are never evicted: at most C of them
  // are ever open, one per thread.
  const std::size_t max_idle = options.max_idle.value_or(options.origins * options.concurrency);
  nethttp::TransportOptions transport_options;
  transport_options.max_idle_conns = static_cast<int>(max_idle);
  transport_options.max_idle_conns_per_host =
      std::max(transport_options.max_idle_conns_per_host, static_cast<int>(options.concurrency));
  auto transport = std::make_shared<nethttp::Transport>(transport_options);
  nethttp::Client client(transport);

  // Every origin gets its connection (and the allocator and the pool their
  // steady state) before the clock starts.
  for (const std::string& url : urls) {
    if (const std::optional<std::string> error = fetch(client, url)) {
      std::fprintf(stderr, "warm-up: %s\n", error->c_str());
      return 1;
    }
  }

  const nethttp::TransportStats stats_before = transport->stats();
  const nethttp::cli::CpuTime cpu_before = nethttp::cli::cpu_time();
  const auto start = std::chrono::steady_clock::now();
  // Requests are handed out one at a time, so with C threads the origins are
  // still visited in round-robin order overall.
  std::atomic<std::uint64_t> next{0};
  FirstError first_error;
  const auto send_requests = [&] {
    for (std::uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
         i < options.requests && !first_error.failed(); i = next.fetch_add(1, std::memory_order_relaxed)) {
      if (std::optional<std::string> error = fetch(client, urls[i % urls.size()])) {
        first_error.set(std::move(*error));
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(options.concurrency - 1);
  for (std::size_t t = 1; t < options.concurrency; ++t) threads.emplace_back(send_requests);
  send_requests();
  for (std::thread& t : threads) t.join();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  const nethttp::cli::CpuTime cpu_after = nethttp::cli::cpu_time();
  // Apart: growth in user time is the pool's (and the client's) share,
  // growth in system time the kernel's, touching 1,000 sockets' state.
  const auto user = static_cast<double>((cpu_after.user - cpu_before.user).count());
  const auto system = static_cast<double>((cpu_after.system - cpu_before.system).count());
  const nethttp::TransportStats stats_after = transport->stats();

  if (first_error.failed()) {
    std::fprintf(stderr, "%s\n", first_error.message().c_str());
    return 1;
  }
  const auto requests = static_cast<double>(options.requests);
  std::printf(
      "{\"origins\":%zu,\"requests\":%llu,\"concurrency\":%zu,\"max_idle\":%zu,\"seconds\":%.3f,"
      "\"requests_per_sec\":%.0f,\"cpu_us_per_request\":%.2f,\"user_us_per_request\":%.2f,"
      "\"sys_us_per_request\":%.2f,\"dials\":%llu,\"reuses\":%llu,"
      "\"peak_rss_mib\":%.1f}\n",
      options.origins, static_cast<unsigned long long>(options.requests), options.concurrency, max_idle,
      elapsed.count(), requests / elapsed.count(), (user + system) / requests, user / requests,
      system / requests, static_cast<unsigned long long>(stats_after.dials - stats_before.dials),
      static_cast<unsigned long long>(stats_after.reuses - stats_before.reuses), peak_rss_mib());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> options = parse(argc, argv);
  if (!options) {
    usage();
    return 2;
  }
  try {
    return run(*options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
