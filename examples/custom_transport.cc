// custom_transport: a Transport with limits of its own, a Client over it with
// an overall timeout, a few requests from several threads, then the
// Transport's counters.
//
//   nethttp_example_custom_transport http://127.0.0.1:8080/hello [REQUESTS]
//   12 requests from 4 threads: 12 ok
//   requests=12 dials=2 reuses=10 idle=2 in_use=0
//   after close_idle_connections: idle=0 closed_by_user=2
//
// max_conns_per_host = 2 caps the connections to the host: the four threads
// take turns on two connections, so "dials" is at most 2 (and the requests
// beyond those two reuse them). Exits 1 when a
// request fails (e.g. the server is slower than the timeouts below).
#include <nethttp/client.h>
#include <nethttp/transport.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s URL [REQUESTS]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const int requests = argc == 3 ? std::atoi(argv[2]) : 12;
  constexpr int kThreads = 4;

  // Every knob has Go's DefaultTransport value unless set (transport.h).
  nethttp::TransportOptions options;
  options.max_conns_per_host = 2;         // requests beyond it wait for a free connection
  options.max_idle_conns_per_host = 2;    // keep at most 2 idle connections per host
  options.idle_conn_timeout = 30s;        // close connections idle longer than this
  options.connect_timeout = 5s;           // dialing one connection
  options.response_header_timeout = 10s;  // request written -> response head received
  options.user_agent = "custom-transport-example/1.0";

  // The Transport is shared through a shared_ptr: several Clients (with
  // different policies) may use one pool.
  auto transport = std::make_shared<nethttp::Transport>(options);

  nethttp::ClientOptions client_options;
  client_options.timeout = 15s;  // over each whole send: redirects and reading the body included
  client_options.max_redirects = 5;
  nethttp::Client client(transport, client_options);

  std::atomic<int> ok{0};
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  workers.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&] {
      while (next++ < requests) {
        nethttp::Result<nethttp::Response> response = client.get(url);
        if (!response) {
          std::fprintf(stderr, "error: %s\n", response.error().message().c_str());
          continue;
        }
        // Read to the end: only then does the connection go back to the pool.
        if (nethttp::Result<std::string> body = response->body.read_all(); !body) {
          std::fprintf(stderr, "error: %s\n", body.error().message().c_str());
          continue;
        }
        ++ok;
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  std::printf("%d requests from %d threads: %d ok\n", requests, kThreads, ok.load());

  const auto count = [](std::uint64_t n) { return static_cast<unsigned long long>(n); };
  nethttp::TransportStats stats = transport->stats();
  std::printf("requests=%llu dials=%llu reuses=%llu idle=%zu in_use=%zu\n", count(stats.requests),
              count(stats.dials), count(stats.reuses), stats.idle, stats.in_use);

  // Idle connections are closed by the idle timeout, by the Transport's
  // destructor, or on demand:
  transport->close_idle_connections();
  stats = transport->stats();
  std::printf("after close_idle_connections: idle=%zu closed_by_user=%llu\n", stats.idle,
              count(stats.closed_for(nethttp::CloseReason::closed_by_user)));
  return ok == requests ? 0 : 1;
}
