// concurrent_fetch: several workers share one Client and fetch a list of
// URLs; the Transport under the Client reuses connections between them.
// The workers are threads, or with --fibers fibers on the main thread (the
// same code: a fiber's waits park it in one epoll loop).
//
//   nethttp_example_concurrent_fetch [-j WORKERS] [--fibers] URL...
//
// Prints one line per URL, in the order given, then the Transport's counters:
//
//   http://127.0.0.1:8080/a status=200 bytes=5 conn=1 reused=no
//   http://127.0.0.1:8080/b status=200 bytes=5 conn=1 reused=yes
//   ...
//   requests=20 dials=4 reuses=16
//
// With fewer workers than URLs, "dials" stays near the worker count, far
// below the URL count: each worker puts its connection back into the pool
// (by reading the body to its end) before it takes the next URL. (A request
// that finds no idle connection dials one, but takes whichever is ready
// first: one freed by another worker, or its own dial; the other goes to the
// pool, as in Go. So dials + reuses may exceed requests by a little.)
// Exits 1 when any URL failed.
#include <nethttp/client.h>
#include <nethttp/fibers.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

/// What fetching one URL gave.
struct Outcome {
  bool ok = false;
  int status = 0;
  std::uint64_t bytes = 0;
  std::uint64_t conn_id = 0;
  bool reused = false;
  std::string error;
};

Outcome fetch(nethttp::Client& client, const std::string& url) {
  Outcome outcome;
  nethttp::Result<nethttp::Response> response = client.get(url);
  if (!response) {
    outcome.error = response.error().message();
    return outcome;
  }
  // Count the bytes without keeping them: write_to() streams the body
  // through a callback and returns its length.
  nethttp::Result<std::uint64_t> bytes =
      response->body.write_to([](std::string_view) { return nethttp::Result<void>(); });
  if (!bytes) {
    outcome.error = bytes.error().message();
    return outcome;
  }
  outcome.ok = true;
  outcome.status = response->status;
  outcome.bytes = *bytes;
  outcome.conn_id = response->conn.id;     // which connection carried it
  outcome.reused = response->conn.reused;  // it had carried an earlier request
  return outcome;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> urls;
  int workers = 4;
  bool fibers = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-j" && i + 1 < argc) {
      workers = std::atoi(argv[++i]);
    } else if (arg == "--fibers") {
      fibers = true;
    } else {
      urls.emplace_back(arg);
    }
  }
  if (urls.empty() || workers < 1) {
    std::fprintf(stderr, "usage: %s [-j WORKERS] [--fibers] URL...\n", argv[0]);
    return 2;
  }

  // One Client for every worker: it is thread-safe, and sharing it is what
  // lets a connection opened by one worker serve a request of another.
  nethttp::Client client;

  // A shared cursor into the list: each worker takes the next URL until none
  // is left, and writes its outcome into its own slot (no lock needed).
  std::vector<Outcome> outcomes(urls.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i = next++; i < urls.size(); i = next++) outcomes[i] = fetch(client, urls[i]);
  };
  if (fibers) {
    nethttp::FiberGroup group;
    for (int w = 0; w < workers; ++w) group.spawn(work);
    group.run();  // returns when every fiber has
  } else {
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(workers));
    for (int w = 0; w < workers; ++w) threads.emplace_back(work);
    for (std::thread& thread : threads) thread.join();
  }

  int failed = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const Outcome& o = outcomes[i];
    if (o.ok) {
      std::printf("%s status=%d bytes=%llu conn=%llu reused=%s\n", urls[i].c_str(), o.status,
                  static_cast<unsigned long long>(o.bytes), static_cast<unsigned long long>(o.conn_id),
                  o.reused ? "yes" : "no");
    } else {
      std::printf("%s error\n", urls[i].c_str());
      std::fprintf(stderr, "%s: %s\n", urls[i].c_str(), o.error.c_str());
      ++failed;
    }
  }

  // The pool's counters: dials are new connections, reuses are requests that
  // got a connection an earlier request had used.
  const nethttp::TransportStats stats = client.transport().stats();
  std::printf("requests=%llu dials=%llu reuses=%llu\n", static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(stats.dials), static_cast<unsigned long long>(stats.reuses));
  return failed == 0 ? 0 : 1;
}
