// Heap allocations per request on a reused connection, counted at malloc on
// the requesting thread (the whole request path runs there: no hand-off).
// A program of its own: it replaces malloc, which sanitizers also do.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "nethttp/transport.h"
#include "support/test_server.h"

// glibc's own allocator, under the names glibc gives it.
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming)
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t nmemb, std::size_t size);
void* __libc_realloc(void* ptr, std::size_t size);
void __libc_free(void* ptr);
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

namespace {
thread_local std::uint64_t allocations_on_this_thread = 0;
}  // namespace

extern "C" {
void* malloc(std::size_t size) {
  ++allocations_on_this_thread;
  return __libc_malloc(size);
}
void* calloc(std::size_t nmemb, std::size_t size) {
  ++allocations_on_this_thread;
  return __libc_calloc(nmemb, size);
}
void* realloc(void* ptr, std::size_t size) {
  ++allocations_on_this_thread;
  return __libc_realloc(ptr, size);
}
void free(void* ptr) {
  __libc_free(ptr);
}
}

namespace nethttp::testing {
namespace {

constexpr int kRequests = 1000;

/// Reads a body to its end with a buffer that does not allocate.
void drain(Response& response) {
  char buf[256];
  for (;;) {
    Result<std::size_t> n = response.body.read(buf);
    ASSERT_TRUE(n) << n.error().message();
    if (*n == 0) return;
  }
}

/// Allocations per request `send` makes (and its response drained), after
/// a warm-up (the first requests dial, grow buffers and fill per-thread
/// caches).
template <class Send>
double allocations_per_request(Send&& send) {
  const auto request_once = [&] {
    Result<Response> response = send();
    ASSERT_TRUE(response) << response.error().message();
    drain(*response);
  };
  for (int i = 0; i < 100; ++i) request_once();
  const std::uint64_t before = allocations_on_this_thread;
  for (int i = 0; i < kRequests; ++i) request_once();
  const double per_request = static_cast<double>(allocations_on_this_thread - before) / kRequests;
  std::printf("[ measure  ] %.2f heap allocations per request\n", per_request);
  return per_request;
}

// The response's header list, and its body reader: the two objects handed
// to the caller that outlive the connection's own (recycled) buffers.
TEST(Allocations, ATransportRoundTripOnAReusedConnectionAllocatesOnlyWhatTheResponseOwns) {
  TestServer server;  // answers "ok" with only short header values
  Transport transport;
  auto request = std::make_shared<Request>();
  request->url = *Url::parse(server.url() + "/");
  const std::shared_ptr<const Request> shared = request;
  const double per_request = allocations_per_request([&] { return transport.round_trip(shared); });
  EXPECT_EQ(transport.stats().dials, 1u);
  EXPECT_LE(per_request, 2.0);
}

// The Client adds the request it shares with the response, and its
// Accept-Encoding field.
TEST(Allocations, AClientGetOnAReusedConnectionAllocatesFourTimes) {
  TestServer server;
  Client client;
  Request prototype;
  prototype.url = *Url::parse(server.url() + "/");
  const double per_request = allocations_per_request([&] { return client.send(prototype); });
  EXPECT_LE(per_request, 4.0);
}

}  // namespace
}  // namespace nethttp::testing
