#include "bench.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "client_options.h"
#include "json_writer.h"
#include "nethttp/client.h"
#include "nethttp/error.h"
#include "nethttp/fibers.h"
#include "nethttp/trace.h"
#include "nethttp/url.h"
#include "process_usage.h"
#include "progress.h"
#include "request_options.h"

namespace nethttp::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kDescription =
    "Sends N requests to URL with C concurrent workers sharing ONE client (one\n"
    "connection pool), reading every body to its end and closing it. Prints\n"
    "requests/s, latency percentiles of the successful requests (from sending to\n"
    "the body's end), connections dialed vs reused, client CPU time, statuses\n"
    "and errors by kind. A progress bar shows on stderr when it is a terminal.\n"
    "\n"
    "--json prints one object instead: url, requests, concurrency, seconds,\n"
    "requests_per_sec, latency_ms {p50, p90, p99, max} (null without a success),\n"
    "dials, dial_errors, reuses, closed {reason: count}, errors {kind: count},\n"
    "status {code: count}, cpu_seconds, cpu_user_seconds, cpu_sys_seconds,\n"
    "cpu_us_per_request.\n"
    "\n"
    "exit status: 0 every request succeeded; 1 a request failed; 2 bad usage.\n";

constexpr std::string_view kExamples =
    "  nethttp bench http://127.0.0.1:8080/\n"
    "  nethttp bench -n 10000 -c 16 --max-conns-per-host 4 http://127.0.0.1:8080/\n"
    "  nethttp bench -n 1000 -c 8 --no-keepalive --json http://127.0.0.1:8080/ \\\n"
    "      | jq .requests_per_sec\n"
    "  nethttp bench -X POST -d @item.json -H 'Content-Type: application/json' \\\n"
    "      http://host/api\n";

struct BenchOptions {
  ClientOptions client;
  RequestOptions request;
  int requests = 200;
  int concurrency = 1;
  bool json = false;
};

void add_bench_options(OptionParser& parser, BenchOptions& options) {
  parser.group("load");
  parser.add(
      OptionSpec{"requests", 'n', "N", "number of requests (default 200)", [&options](std::string_view v) {
                   return parse_int(v, 1, std::numeric_limits<int>::max(), options.requests);
                 }});
  parser.add(
      OptionSpec{"concurrency", 'c', "C", "concurrent workers (default 1)", [&options](std::string_view v) {
                   return parse_int(v, 1, std::numeric_limits<int>::max(), options.concurrency);
                 }});
  parser.add_flag("json", 0, "print the summary as one JSON object", options.json);
  add_request_options(parser, options.request);
  add_client_options(parser, options.client);
}

/// One finished request.
struct Sample {
  Clock::duration latency{};
  int status = 0;  ///< 0 when no response arrived
  std::optional<ErrorKind> error;
};

/// What one worker recorded.
struct WorkerLog {
  std::vector<Sample> samples;
  std::map<ErrorKind, std::string> first_message;  ///< an example message per error kind

  void failed(Sample& s, const Error& error) {
    s.error = error.kind();
    first_message.try_emplace(error.kind(), error.message());
  }
};

/// What the workers gathered, merged.
struct Tally {
  std::vector<Clock::duration> latencies;  ///< of successful requests
  std::map<int, std::uint64_t> statuses;
  std::map<std::string, std::uint64_t> errors;
  std::map<std::string, std::string> first_message;  ///< an example message per error kind
};

/// The nearest-rank percentile `p` (0-100] of sorted `v`, in milliseconds.
double percentile_ms(const std::vector<Clock::duration>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  const Clock::duration d = sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
  return std::chrono::duration<double, std::milli>(d).count();
}

/// Sends requests until `next` passes `total`, recording a sample each.
void worker(Client& client, const Result<Request>& prototype, std::atomic<std::uint64_t>& next,
            ProgressBar& progress, std::uint64_t total, WorkerLog& log) {
  while (next++ < total) {
    Sample s;
    const Clock::time_point start = Clock::now();
    if (!prototype) {
      log.failed(s, prototype.error());
    } else {
      Result<Response> response = client.send(*prototype);
      if (!response) {
        log.failed(s, response.error());
      } else {
        s.status = response->status;
        // Read to its end, the bytes dropped: the connection goes back to the pool.
        Result<std::uint64_t> read = response->body.write_to([](std::string_view) { return Result<void>(); });
        if (!read) log.failed(s, read.error());
        response->body.close();
      }
    }
    s.latency = Clock::now() - start;
    log.samples.push_back(s);
    progress.add(1);
  }
}

}  // namespace

int run_bench(std::span<const char* const> args) {
  BenchOptions options;
  OptionParser parser("bench", "[options] URL");
  add_bench_options(parser, options);
  const ParsedArgs parsed = parser.parse(args);
  if (const std::optional<int> status = parser.stop_early(parsed, kDescription, kExamples)) return *status;
  if (parsed.positionals.size() != 1) {
    return parser.fail_usage(parsed.positionals.empty() ? "no URL given: name the URL to load"
                                                        : "more than one URL: bench loads one URL");
  }
  if (auto error = load_body(options.request)) return parser.fail_usage(*error);
  const std::string& url = parsed.positionals.front();
  const auto total = static_cast<std::uint64_t>(options.requests);
  const auto workers = static_cast<std::size_t>(std::min(options.concurrency, options.requests));

  // One prototype request, copied for each send: a bad URL fails every
  // request the same way (error kind bad_url), as in fetch.
  const Result<Request> prototype = build_request(options.request, url);
  Client client = make_client(options.client);

  std::atomic<std::uint64_t> next{0};
  std::vector<WorkerLog> logs(workers);
  for (WorkerLog& log : logs) log.samples.reserve(total / workers + 1);

  const CpuTime cpu_start = cpu_time();
  const Clock::time_point start = Clock::now();
  {
    ProgressBar progress(total, ProgressBar::Unit::items);
    // The workers are fibers on this thread: a request in flight costs no
    // thread and its wait no context switch.
    FiberGroup fibers;
    for (std::size_t w = 0; w < workers; ++w) {
      fibers.spawn([&, w] { worker(client, prototype, next, progress, total, logs[w]); });
    }
    fibers.run();
  }  // stops and joins the progress bar
  const Clock::time_point end = Clock::now();
  const CpuTime cpu_end = cpu_time();
  const TransportStats stats = client.transport().stats();

  Tally tally;
  for (const WorkerLog& log : logs) {
    for (const auto& [kind, message] : log.first_message) {
      tally.first_message.try_emplace(std::string(to_string(kind)), message);
    }
    for (const Sample& s : log.samples) {
      if (s.status != 0) ++tally.statuses[s.status];
      if (s.error) {
        ++tally.errors[std::string(to_string(*s.error))];
      } else {
        tally.latencies.push_back(s.latency);
      }
    }
  }
  std::sort(tally.latencies.begin(), tally.latencies.end());

  const double seconds = std::chrono::duration<double>(end - start).count();
  const double rps = seconds > 0 ? static_cast<double>(total) / seconds : 0;
  const double cpu_user = std::chrono::duration<double>(cpu_end.user - cpu_start.user).count();
  const double cpu_sys = std::chrono::duration<double>(cpu_end.system - cpu_start.system).count();
  const double cpu_us_per_request = (cpu_user + cpu_sys) * 1e6 / static_cast<double>(total);
  const bool have_latency = !tally.latencies.empty();
  const auto p = [&](double pct) { return have_latency ? percentile_ms(tally.latencies, pct) : NAN; };

  if (options.json) {
    JsonWriter w;
    w.begin_object();
    w.key("url").value(redact_url_text(url));
    w.key("requests").value(total);
    w.key("concurrency").value(static_cast<std::uint64_t>(workers));
    w.key("seconds").value(seconds, 6);
    w.key("requests_per_sec").value(rps, 1);
    w.key("latency_ms").begin_object();
    for (const auto& [name, pct] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"max", 100.0}}) {
      w.key(name).value(p(pct), 3);
    }
    w.end_object();
    w.key("dials").value(stats.dials);
    w.key("dial_errors").value(stats.dial_errors);
    w.key("reuses").value(stats.reuses);
    w.key("closed").begin_object();
    for (int r = 0; r < kCloseReasonCount; ++r) {
      const auto reason = static_cast<CloseReason>(r);
      if (stats.closed_for(reason) != 0) w.key(to_string(reason)).value(stats.closed_for(reason));
    }
    w.end_object();
    w.key("errors").begin_object();
    for (const auto& [kind, count] : tally.errors) w.key(kind).value(count);
    w.end_object();
    w.key("status").begin_object();
    for (const auto& [code, count] : tally.statuses) w.key(std::to_string(code)).value(count);
    w.end_object();
    w.key("cpu_seconds").value(cpu_user + cpu_sys, 6);
    w.key("cpu_user_seconds").value(cpu_user, 6);
    w.key("cpu_sys_seconds").value(cpu_sys, 6);
    w.key("cpu_us_per_request").value(cpu_us_per_request, 2);
    w.end_object();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::printf("url:          %s\n", redact_url_text(url).c_str());
    std::printf("requests:     %llu in %.3f s with %zu workers\n", static_cast<unsigned long long>(total),
                seconds, workers);
    std::printf("requests/s:   %.1f\n", rps);
    if (have_latency) {
      std::printf("latency ms:   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p(50), p(90), p(99), p(100));
    } else {
      std::printf("latency ms:   (no successful request)\n");
    }
    std::printf("connections:  %llu dialed, %llu reused", static_cast<unsigned long long>(stats.dials),
                static_cast<unsigned long long>(stats.reuses));
    if (stats.dial_errors != 0)
      std::printf(", %llu dials failed", static_cast<unsigned long long>(stats.dial_errors));
    std::printf("\n");
    std::string closed;
    for (int r = 0; r < kCloseReasonCount; ++r) {
      const auto reason = static_cast<CloseReason>(r);
      if (stats.closed_for(reason) == 0) continue;
      closed += (closed.empty() ? "" : ", ") + std::string(to_string(reason)) + " " +
                std::to_string(stats.closed_for(reason));
    }
    if (!closed.empty()) std::printf("closed:       %s\n", closed.c_str());
    std::printf("client cpu:   %.3f s (user %.3f, sys %.3f), %.1f us/request\n", cpu_user + cpu_sys, cpu_user,
                cpu_sys, cpu_us_per_request);
    std::string statuses;
    for (const auto& [code, count] : tally.statuses) {
      statuses += (statuses.empty() ? "" : ", ") + std::to_string(code) + " x" + std::to_string(count);
    }
    std::printf("status:       %s\n", statuses.empty() ? "(no response)" : statuses.c_str());
    if (tally.errors.empty()) {
      std::printf("errors:       none\n");
    } else {
      std::printf("errors:\n");
      for (const auto& [kind, count] : tally.errors) {
        std::printf("  %-18s %llu  (e.g. %s)\n", kind.c_str(), static_cast<unsigned long long>(count),
                    tally.first_message[kind].c_str());
      }
    }
  }
  const bool saved = save_cookie_jar(options.client);
  return tally.errors.empty() && saved ? 0 : 1;
}

}  // namespace nethttp::cli
