// tracing: Trace hooks that show what the connection pool does. GETs each
// URL in turn, reading every body to its end, then closes the idle
// connections.
//
//   nethttp_example_tracing http://127.0.0.1:8080/a http://127.0.0.1:8080/b
//   GET http://127.0.0.1:8080/a
//     connected to 127.0.0.1:8080
//     got conn 1 (new)
//     put conn 1 back into the idle pool
//     200 OK, 5 bytes
//   GET http://127.0.0.1:8080/b
//     got conn 1 (reused, idle for 0.1 ms)
//     put conn 1 back into the idle pool
//     200 OK, 5 bytes
//   closing idle connections
//     closed conn 1: closed_by_user
//
// A response with "Connection: close" shows "closed conn N: not_reusable"
// instead of "put ... idle pool", and the next request dials a new one.
// Exits 1 when a request fails.
#include <nethttp/client.h>
#include <nethttp/trace.h>
#include <nethttp/transport.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace {

/// Hooks that print one line per event. They run on whichever thread does
/// the work (here: this one, or the pool's upkeep timer) and must be quick.
nethttp::Trace printing_trace() {
  nethttp::Trace trace;
  trace.connect_done = [](std::string_view address, const nethttp::Error* error) {
    if (error == nullptr) {
      std::printf("  connected to %.*s\n", static_cast<int>(address.size()), address.data());
    } else {
      std::printf("  connect to %.*s failed: %s\n", static_cast<int>(address.size()), address.data(),
                  error->message().c_str());
    }
  };
  trace.got_conn = [](std::uint64_t conn_id, bool reused, bool was_idle, std::chrono::nanoseconds idle_time) {
    if (!reused) {
      std::printf("  got conn %llu (new)\n", static_cast<unsigned long long>(conn_id));
    } else if (was_idle) {
      const double ms = std::chrono::duration<double, std::milli>(idle_time).count();
      std::printf("  got conn %llu (reused, idle for %.1f ms)\n", static_cast<unsigned long long>(conn_id),
                  ms);
    } else {
      std::printf("  got conn %llu (reused)\n", static_cast<unsigned long long>(conn_id));
    }
  };
  trace.put_idle = [](std::uint64_t conn_id) {
    std::printf("  put conn %llu back into the idle pool\n", static_cast<unsigned long long>(conn_id));
  };
  trace.conn_closed = [](std::uint64_t conn_id, nethttp::CloseReason reason) {
    const std::string_view why = nethttp::to_string(reason);  // e.g. "idle_timeout"
    std::printf("  closed conn %llu: %.*s\n", static_cast<unsigned long long>(conn_id),
                static_cast<int>(why.size()), why.data());
  };
  return trace;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL...\n", argv[0]);
    return 2;
  }

  // Hooks belong to the Transport: set them in its options.
  nethttp::TransportOptions options;
  options.trace = printing_trace();
  auto transport = std::make_shared<nethttp::Transport>(options);
  nethttp::Client client(transport);

  for (int i = 1; i < argc; ++i) {
    std::printf("GET %s\n", argv[i]);
    nethttp::Result<nethttp::Response> response = client.get(argv[i]);
    if (!response) {
      std::fprintf(stderr, "error: %s\n", response.error().message().c_str());
      return 1;
    }
    // The connection goes back to the pool (put_idle) as the end of the body
    // is read, inside read_all().
    nethttp::Result<std::string> body = response->body.read_all();
    if (!body) {
      std::fprintf(stderr, "error: %s\n", body.error().message().c_str());
      return 1;
    }
    std::printf("  %d %s, %zu bytes\n", response->status, response->reason.c_str(), body->size());
  }

  std::printf("closing idle connections\n");
  transport->close_idle_connections();
  return 0;
}
