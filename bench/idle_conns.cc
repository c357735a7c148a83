// What an idle pooled connection costs in user memory: opens N connections,
// reads every body to its end so all of them go idle, and reports heap bytes
// per idle connection (mallinfo2) and RSS.
//
//   nethttp_idle_conns [N=10000] [--url URL [--ca FILE] [--no-resumption]]
//
// Without --url the server is an epoll server in a child process (so each
// side has its own file descriptor limit) and the connections are plain
// HTTP. With --url they go to that server instead, e.g. an https one (nginx,
// scripts/bench_workloads.py workload G): --ca is the PEM file of the CA to
// trust (default: the system's), --no-resumption makes every handshake a
// full one. The server must keep N connections open and idle.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nethttp/client.h"
#include "process_usage.h"
#include "server_process.h"

namespace {

struct Options {
  int count = 10000;
  std::string url;  ///< empty: the forked plain HTTP server
  std::string ca_file;
  bool resumption = true;
};

void usage() {
  std::fprintf(stderr, "usage: nethttp_idle_conns [N] [--url URL [--ca FILE] [--no-resumption]]\n");
}

std::optional<Options> parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--url" && has_value) {
      options.url = argv[++i];
    } else if (arg == "--ca" && has_value) {
      options.ca_file = argv[++i];
    } else if (arg == "--no-resumption") {
      options.resumption = false;
    } else if (!arg.starts_with("-")) {
      char* end = nullptr;
      const long count = std::strtol(argv[i], &end, 10);
      if (*end != '\0' || count <= 0 || count > 1'000'000) return std::nullopt;
      options.count = static_cast<int>(count);
    } else {
      return std::nullopt;
    }
  }
  if (options.url.empty() && (!options.ca_file.empty() || !options.resumption)) return std::nullopt;
  return options;
}

long rss_kib() {
  return static_cast<long>(nethttp::cli::resident_bytes() / 1024);
}

int run(const Options& options) {
  const int count = options.count;
  // The forked server's connections are its own (its own limit); an
  // external server's are not in this process at all.
  const long open_files = nethttp::cli::raise_open_file_limit();
  if (open_files < count + 64L) {
    std::fprintf(stderr, "need %d file descriptors, have %ld\n", count + 64, open_files);
    return 1;
  }

  // Forked before the Transport starts any thread.
  std::optional<nethttp::bench::ServerProcess> server;
  std::string url = options.url;
  if (url.empty()) {
    server.emplace();
    url = "http://127.0.0.1:" + std::to_string(server->ports().front()) + "/";
  }
  nethttp::TransportOptions transport_options;
  transport_options.max_idle_conns = count;
  transport_options.max_idle_conns_per_host = count;
  transport_options.tls.ca_file = options.ca_file;
  transport_options.tls.session_resumption = options.resumption;
  auto transport = std::make_shared<nethttp::Transport>(transport_options);
  nethttp::Client client(transport);

  // Warm up the allocator and the pool's own structures with one request
  // (for https also the TLS context: its trust store and first session).
  if (auto r = client.get(url); !r || !r->body.read_all()) {
    std::fprintf(stderr, "warm-up request to %s: %s\n", url.c_str(),
                 r ? "reading the body failed" : r.error().message().c_str());
    return 1;
  }
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
  std::size_t tls = 0;
  std::size_t resumed = 0;
  std::string tls_version;
  for (nethttp::Response& r : held) {
    if (!r.body.read_all()) return 1;
    if (r.conn.tls) {
      ++tls;
      resumed += r.conn.tls->resumed ? 1 : 0;
      tls_version = r.conn.tls->version + " " + r.conn.tls->cipher;
    }
  }
  held.clear();
  held.shrink_to_fit();
  malloc_trim(0);

  const nethttp::TransportStats stats = transport->stats();
  const std::size_t heap_after = mallinfo2().uordblks;
  const long rss_after = rss_kib();
  const double per_conn = static_cast<double>(heap_after - heap_before) / static_cast<double>(stats.idle);
  std::printf("url: %s\n", url.c_str());
  if (tls > 0) {
    std::printf("TLS: %s, %zu of %zu handshakes resumed\n", tls_version.c_str(), resumed, tls);
  }
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
