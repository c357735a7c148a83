// Response bodies read through a Transport (pool/body_reader.cc,
// nethttp/body.h): read(), read_all() and write_to() against in-process
// servers, what their errors do to the connection, and a large streamed body
// read with bounded memory. Every test ends with a leak check: no connection
// in use once the responses are gone, no fd left once the Transport and the
// servers are destroyed.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/scripted_server.h"
#include "support/test_server.h"
#include "support/wait.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NETHTTP_BODY_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NETHTTP_BODY_TEST_SANITIZED 1
#endif
#endif

namespace nethttp {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::kWait;
using testing::LeakCheckedTest;
using testing::LeakChecks;
using testing::Script;
using testing::ScriptedServer;
using testing::ServerRequest;
using testing::ServerResponse;
using testing::TestServer;
using testing::wait_for;

/// Larger than TransportOptions::drain_max_bytes (64 KiB): closing such a
/// body early cannot drain it, so the connection is closed.
constexpr std::size_t kUndrainableBytes = std::size_t{1} << 20;

#ifdef NETHTTP_BODY_TEST_SANITIZED
/// Sanitizers keep freed memory in quarantine and add shadow memory: the
/// process's peak RSS says nothing about the body reader there.
constexpr bool kMeasureRss = false;
#else
constexpr bool kMeasureRss = true;
#endif

std::shared_ptr<Request> new_request(std::string method, const std::string& url) {
  Result<Request> made = make_request(std::move(method), url);
  if (!made) {
    ADD_FAILURE() << made.error().message();
    return std::make_shared<Request>();
  }
  return std::make_shared<Request>(std::move(made).value());
}

/// Fills `out` with the stream pattern from byte `offset` on: a 64-bit
/// mix of the position, so any lost, repeated or misplaced block shows.
void fill_pattern(std::uint64_t offset, std::span<char> out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint64_t x = (offset + i) / 8;
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
    out[i] = static_cast<char>(x >> (8 * ((offset + i) % 8)));
  }
}

std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  fill_pattern(0, out);
  return out;
}

/// SHA-256 (FIPS 180-4), incremental; enough for checking test streams.
class Sha256 {
 public:
  void update(std::string_view data) {
    for (const char c : data) {
      block_[fill_++] = static_cast<std::uint8_t>(c);
      if (fill_ == 64) {
        compress();
        fill_ = 0;
      }
    }
    bits_ += static_cast<std::uint64_t>(data.size()) * 8;
  }

  /// The digest in lower-case hex; the object is spent afterwards.
  std::string hex() {
    const std::uint64_t bits = bits_;
    block_[fill_++] = 0x80;
    if (fill_ > 56) {
      while (fill_ < 64) block_[fill_++] = 0;
      compress();
      fill_ = 0;
    }
    while (fill_ < 56) block_[fill_++] = 0;
    for (int i = 7; i >= 0; --i) block_[fill_++] = static_cast<std::uint8_t>(bits >> (8 * i));
    compress();
    std::string out;
    for (const std::uint32_t word : h_) {
      char piece[9];
      std::snprintf(piece, sizeof piece, "%08x", word);
      out += piece;
    }
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void compress() {
    static constexpr std::array<std::uint32_t, 64> k = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::array<std::uint32_t, 64> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      w[i] = (std::uint32_t{block_[4 * i]} << 24) | (std::uint32_t{block_[4 * i + 1]} << 16) |
             (std::uint32_t{block_[4 * i + 2]} << 8) | std::uint32_t{block_[4 * i + 3]};
    }
    for (std::size_t i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::array<std::uint32_t, 8> v = h_;
    for (std::size_t i = 0; i < 64; ++i) {
      const std::uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
      const std::uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
      const std::uint32_t t1 = v[7] + s1 + ch + k[i] + w[i];
      const std::uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
      const std::uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      const std::uint32_t t2 = s0 + maj;
      v = {t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
    }
    for (std::size_t i = 0; i < 8; ++i) h_[i] += v[i];
  }

  std::array<std::uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, 64> block_{};
  std::size_t fill_ = 0;
  std::uint64_t bits_ = 0;
};

/// A field of /proc/self/status in KiB ("VmHWM", "VmRSS"), or -1.
long status_kib(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0); false
/// when the kernel does not let us.
bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return clear_refs.good();
}

/// Owns the Transport and servers of one test and checks for leaks.
class BodyTest : public LeakCheckedTest {
 protected:
  // The checks these tests always made: connections and fds (no wait for
  // dials, no thread count).
  BodyTest() : LeakCheckedTest(LeakChecks{.settle_dials = false, .threads = false}) {}

  TestServer& test_server(TestServer::Handler handler) {
    return keep_server(std::make_shared<TestServer>(std::move(handler)));
  }
  ScriptedServer& scripted_server(std::vector<Script> scripts) {
    return keep_server(std::make_shared<ScriptedServer>(std::move(scripts)));
  }

  /// GET `url`; fails the test (and returns nullopt) on an error.
  std::optional<Response> get(const std::string& url) {
    Result<Response> response = transport().round_trip(new_request("GET", url));
    if (!response) {
      ADD_FAILURE() << "round trip failed: " << response.error().message();
      return std::nullopt;
    }
    return std::move(*response);
  }
};

/// A handler that answers with `body` (Content-Length).
TestServer::Handler serve(std::string body) {
  return
      [body = std::move(body)](const ServerRequest&, ServerResponse& response) { response.set_body(body); };
}

TEST(Sha256, MatchesTheFipsExamples) {
  Sha256 empty;
  EXPECT_EQ(empty.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.update("a");
  abc.update("bc");
  EXPECT_EQ(abc.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 two_blocks;
  two_blocks.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  EXPECT_EQ(two_blocks.hex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// ---------------------------------------------------------------------------
// Errors and the connection

TEST_F(BodyTest, ReadErrorIsReturnedAgainOnEveryReadAndClosesTheConnection) {
  ScriptedServer& server = scripted_server(
      {Script().expect_request().send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").close()});
  Transport& t = make_transport();
  std::optional<Response> response = get(server.url() + "/truncated");
  ASSERT_TRUE(response);
  std::array<char, 64> buf{};
  std::string got;
  Result<std::size_t> n = std::size_t{0};
  while ((n = response->body.read(buf)) && *n > 0) got.append(buf.data(), *n);
  ASSERT_FALSE(n) << "a truncated body read to its \"end\"";
  EXPECT_EQ(got, "abc");
  EXPECT_EQ(n.error().kind(), ErrorKind::body) << n.error().message();
  EXPECT_FALSE(response->body.at_end());

  // The failed body gave its connection up at once, while the response lives.
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().idle, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::error), 1u);
  Result<std::size_t> again = response->body.read(buf);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), ErrorKind::body);
  EXPECT_EQ(again.error().message(), n.error().message());

  std::optional<Response> next = get(server.url() + "/next");
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->conn.reused);
  EXPECT_EQ(next->body.read_all().value(), "ok");
}

TEST_F(BodyTest, ReadToTheEndReturnsTheConnectionBeforeTheBodyIsClosed) {
  TestServer& server = test_server(serve(pattern(10'000)));
  Transport& t = make_transport();
  std::optional<Response> response = get(server.url() + "/");
  ASSERT_TRUE(response);
  std::array<char, 4096> buf{};
  std::size_t total = 0;
  while (total < 10'000) {
    Result<std::size_t> n = response->body.read(buf);
    ASSERT_TRUE(n) << n.error().message();
    ASSERT_GT(*n, 0u);
    total += *n;
  }
  // The last byte was handed out; the final read of 0 was never made.
  EXPECT_TRUE(response->body.at_end());
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().idle, 1u);
  Result<std::size_t> end = response->body.read(buf);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, 0u);
}

TEST_F(BodyTest, ReadAllBeyondItsCapFailsAndClosesTheConnection) {
  TestServer& server = test_server(serve(pattern(kUndrainableBytes)));
  Transport& t = make_transport();
  std::optional<Response> response = get(server.url() + "/big");
  ASSERT_TRUE(response);
  Result<std::string> body = response->body.read_all(1024);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().kind(), ErrorKind::body) << body.error().message();
  EXPECT_NE(body.error().message().find("1024"), std::string::npos) << body.error().message();
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::body_not_drained), 1u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));

  std::optional<Response> next = get(server.url() + "/next");
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->conn.reused);
  next->body.close();
}

TEST_F(BodyTest, ReadAllBeyondItsCapOnASmallRestDrainsItAndKeepsTheConnection) {
  TestServer& server = test_server(serve(pattern(20'000)));
  Transport& t = make_transport();
  std::optional<Response> response = get(server.url() + "/medium");
  ASSERT_TRUE(response);
  Result<std::string> body = response->body.read_all(100);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().kind(), ErrorKind::body);
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().idle, 1u) << "the small rest was not drained";

  std::optional<Response> next = get(server.url() + "/next");
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->conn.reused);
  Result<std::string> all = next->body.read_all();
  ASSERT_TRUE(all);
  EXPECT_TRUE(*all == pattern(20'000));
}

TEST_F(BodyTest, WriteToWithAFailingSinkReturnsTheSinksErrorAndClosesTheConnection) {
  TestServer& server = test_server(serve(pattern(kUndrainableBytes)));
  Transport& t = make_transport();
  std::optional<Response> response = get(server.url() + "/big");
  ASSERT_TRUE(response);
  std::size_t calls = 0;
  std::size_t accepted = 0;
  Result<std::uint64_t> copied = response->body.write_to([&](std::string_view bytes) -> Result<void> {
    if (++calls == 3) return Error(ErrorKind::io, "writing the output file: No space left on device", 28);
    accepted += bytes.size();
    return {};
  });
  ASSERT_FALSE(copied);
  EXPECT_EQ(calls, 3u) << "the copy went on after the sink failed";
  EXPECT_EQ(copied.error().kind(), ErrorKind::io);
  EXPECT_EQ(copied.error().message(), "writing the output file: No space left on device");
  EXPECT_EQ(copied.error().sys_errno(), 28);
  EXPECT_GT(accepted, 0u);
  EXPECT_EQ(t.stats().in_use, 0u);
  EXPECT_EQ(t.stats().closed_for(CloseReason::body_not_drained), 1u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));

  std::optional<Response> next = get(server.url() + "/next");
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->conn.reused);
  next->body.close();
}

TEST_F(BodyTest, WriteToCopiesTheWholeBodyAndReturnsItsLength) {
  const std::string expected = pattern(300'000);
  TestServer& server = test_server(serve(expected));
  Transport& t = make_transport();
  std::optional<Response> response = get(server.url() + "/");
  ASSERT_TRUE(response);
  std::string sunk;
  Result<std::uint64_t> copied = response->body.write_to([&](std::string_view bytes) -> Result<void> {
    sunk += bytes;
    return {};
  });
  ASSERT_TRUE(copied) << copied.error().message();
  EXPECT_EQ(*copied, expected.size());
  EXPECT_TRUE(sunk == expected);
  EXPECT_EQ(t.stats().idle, 1u);
}

// ---------------------------------------------------------------------------
// A large body in bounded memory

TEST_F(BodyTest, SixtyFourMebibyteStreamedBodyArrivesIntactInBoundedMemory) {
  constexpr std::uint64_t kTotal = std::uint64_t{64} << 20;
  constexpr std::size_t kPiece = std::size_t{64} << 10;
  std::promise<std::string> sent_digest;
  std::future<std::string> sent_digest_future = sent_digest.get_future();
  TestServer& server = test_server([&](const ServerRequest&, ServerResponse& response) {
    // Streamed without a length: chunked, one 64 KiB chunk per write.
    Sha256 sha;
    std::string piece(kPiece, '\0');
    for (std::uint64_t offset = 0; offset < kTotal; offset += kPiece) {
      fill_pattern(offset, piece);
      sha.update(piece);
      if (!response.write(piece)) break;
    }
    sent_digest.set_value(sha.hex());
  });
  Transport& t = make_transport();

  const long rss_before_kib = status_kib("VmRSS");
  const bool peak_was_reset = reset_peak_rss();
  const long hwm_before_kib = status_kib("VmHWM");

  std::optional<Response> response = get(server.url() + "/large");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->content_length, -1);
  std::vector<char> buf(kPiece);
  std::vector<char> expected(kPiece);
  Sha256 sha;
  std::uint64_t total = 0;
  std::uint64_t reads = 0;
  std::optional<std::uint64_t> first_mismatch;
  for (;;) {
    Result<std::size_t> n = response->body.read(buf);
    ASSERT_TRUE(n) << "after " << total << " bytes: " << n.error().message();
    if (*n == 0) break;
    ++reads;
    const std::span<char> got(buf.data(), *n);
    if (!first_mismatch && total + *n <= kTotal) {
      fill_pattern(total, std::span<char>(expected.data(), *n));
      if (std::memcmp(got.data(), expected.data(), *n) != 0) first_mismatch = total;
    }
    sha.update(std::string_view(got.data(), got.size()));
    total += *n;
  }
  EXPECT_EQ(total, kTotal);
  EXPECT_FALSE(first_mismatch) << "the bytes differ in the read starting at offset " << *first_mismatch;
  ASSERT_EQ(sent_digest_future.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(sha.hex(), sent_digest_future.get());
  EXPECT_EQ(t.stats().idle, 1u);

  const long hwm_after_kib = status_kib("VmHWM");
  std::printf(
      "[ measure  ] 64 MiB body in %llu reads; RSS before %ld KiB, peak before %ld KiB%s, peak after %ld "
      "KiB\n",
      static_cast<unsigned long long>(reads), rss_before_kib, hwm_before_kib,
      peak_was_reset ? " (reset)" : " (not resettable)", hwm_after_kib);
  if (kMeasureRss) {
    ASSERT_GT(hwm_after_kib, 0) << "no VmHWM in /proc/self/status";
    // The peak (reset to the current RSS just before, when the kernel
    // allows) may grow by the buffers of one exchange on each side, never by
    // anything like the body.
    EXPECT_LT(hwm_after_kib - hwm_before_kib, 16 * 1024) << "the process's peak memory grew with the body";
  }
}

}  // namespace
}  // namespace nethttp
