// What an idle pooled connection costs in user memory: opens N connections
// to an epoll server (in a child process, so each side has its own file
// descriptor limit), reads every body to its end so all of them go idle, and
// reports heap bytes per idle connection (mallinfo2) and RSS.
//
//   nethttp_idle_conns [N=10000]
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "nethttp/client.h"
#include "process_usage.h"
#include "server_process.h"

namespace {

long rss_kib() {
  return static_cast<long>(nethttp::cli::resident_bytes() / 1024);
}

int run(int count) {
  const long open_files = nethttp::cli::raise_open_file_limit();
  if (open_files < count + 64L) {
    std::fprintf(stderr, "need %d file descriptors, have %ld\n", count + 64, open_files);
    return 1;
  }

  const nethttp::bench::ServerProcess server;
  nethttp::TransportOptions options;
  options.max_idle_conns = count;
  options.max_idle_conns_per_host = count;
  auto transport = std::make_shared<nethttp::Transport>(options);
  nethttp::Client client(transport);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.ports().front()) + "/";

  // Warm up the allocator and the pool's own structures with one request.
  if (auto r = client.get(url); !r || !r->body.read_all()) return 1;
  const std::size_t heap_before = mallinfo2().uordblks;
  const long rss_before = rss_kib();

  // Hold every response unread so each request needs a new connection...
  std::vector<nethttp::Response> held;
  held.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    nethttp::Result<nethttp::Response> r = client.get(url);
    if (!r) {
      std::fprintf(stderr, "request %d: %s\n", i, r.error().message().c_str());
      return 1;
    }
    held.push_back(std::move(*r));
  }
  // ...then read them all to the end: every connection goes idle.
  for (nethttp::Response& r : held) {
    if (!r.body.read_all()) return 1;
  }
  held.clear();
  held.shrink_to_fit();
  malloc_trim(0);

  const nethttp::TransportStats stats = transport->stats();
  const std::size_t heap_after = mallinfo2().uordblks;
  const long rss_after = rss_kib();
  const double per_conn = static_cast<double>(heap_after - heap_before) / static_cast<double>(stats.idle);
  std::printf("idle connections: %zu (dials %llu)\n", stats.idle,
              static_cast<unsigned long long>(stats.dials));
  std::printf("heap in use: %zu -> %zu bytes: %.0f bytes per idle connection\n", heap_before, heap_after,
              per_conn);
  std::printf("RSS: %ld -> %ld KiB (%.2f KiB per idle connection, kernel socket memory not included)\n",
              rss_before, rss_after,
              static_cast<double>(rss_after - rss_before) / static_cast<double>(stats.idle));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 10000;
  try {
    return run(count);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
