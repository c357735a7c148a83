// should_retry() and is_idempotent(): the one retry decision, as tables.
#include "pool/retry.h"

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

using pool::AttemptFacts;
using pool::is_idempotent;
using pool::should_retry;

/// A body source serving fixed bytes once.
class BytesSource final : public BodySource {
 public:
  explicit BytesSource(std::string bytes) : bytes_(std::move(bytes)) {}
  Result<std::size_t> read(std::span<char> buf) override {
    const std::size_t n = std::min(buf.size(), bytes_.size() - offset_);
    std::memcpy(buf.data(), bytes_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::string bytes_;
  std::size_t offset_ = 0;
};

enum class BodyKind { none, string, factory, stream };

RequestBody body_of(BodyKind kind) {
  switch (kind) {
    case BodyKind::none: return {};
    case BodyKind::string: return RequestBody::from_string("data");
    case BodyKind::factory:
      return RequestBody::from_factory([] { return std::make_unique<BytesSource>("data"); }, 4);
    case BodyKind::stream: return RequestBody::from_stream(std::make_unique<BytesSource>("data"), 4);
  }
  return {};
}

using Fields = std::vector<std::pair<std::string_view, std::string_view>>;

Request request(std::string_view method, const Fields& fields = {}, BodyKind body = BodyKind::none) {
  Request r;
  r.method = std::string(method);
  for (const auto& [name, value] : fields) r.header.add(name, value);
  r.body = body_of(body);
  return r;
}

struct IdempotentCase {
  std::string_view method;
  Fields fields;
  bool expected;
};

TEST(IsIdempotent, AcceptsGoMethodsAndRequestsWithAnIdempotencyKey) {
  const IdempotentCase cases[] = {
      {"GET", {}, true},
      {"HEAD", {}, true},
      {"OPTIONS", {}, true},
      {"TRACE", {}, true},
      // RFC 9110 calls PUT and DELETE idempotent; Go (and nethttp) do not retry them without a key.
      {"PUT", {}, false},
      {"DELETE", {}, false},
      {"POST", {}, false},
      {"PATCH", {}, false},
      {"CONNECT", {}, false},
      // Methods are case-sensitive (RFC 9110 §9.1).
      {"get", {}, false},
      {"POST", {{"Idempotency-Key", "abc"}}, true},
      {"POST", {{"idempotency-key", "abc"}}, true},  // field names are not
      {"PATCH", {{"X-Idempotency-Key", "abc"}}, true},
      {"POST", {{"Idempotency-Key", ""}}, true},  // present, even empty (as Go)
      {"POST", {{"Idempotency", "abc"}}, false},
  };
  for (const IdempotentCase& c : cases) {
    SCOPED_TRACE(std::string(c.method) + (c.fields.empty() ? "" : " with " + std::string(c.fields[0].first)));
    EXPECT_EQ(is_idempotent(request(c.method, c.fields)), c.expected);
  }
}

struct RetryCase {
  std::string_view name;
  std::string_view method;
  Fields fields;
  BodyKind body;
  AttemptFacts attempt;
  ErrorKind error;
  bool expected;
};

/// A GET that failed on a reused connection before any response byte: the
/// one situation a retry is for.
constexpr AttemptFacts kStale{.conn_was_reused = true, .got_response_bytes = false, .already_retried = false};
constexpr AttemptFacts kFresh{
    .conn_was_reused = false, .got_response_bytes = false, .already_retried = false};
constexpr AttemptFacts kGotBytes{
    .conn_was_reused = true, .got_response_bytes = true, .already_retried = false};
constexpr AttemptFacts kRetried{
    .conn_was_reused = true, .got_response_bytes = false, .already_retried = true};

TEST(ShouldRetry, RetriesOnlyASafeRequestThatFailedOnAStaleReusedConnection) {
  const Fields key = {{"Idempotency-Key", "k1"}};
  const Fields x_key = {{"X-Idempotency-Key", "k1"}};
  const RetryCase cases[] = {
      {"GET on a stale conn", "GET", {}, BodyKind::none, kStale, ErrorKind::io, true},
      {"HEAD", "HEAD", {}, BodyKind::none, kStale, ErrorKind::io, true},
      {"OPTIONS", "OPTIONS", {}, BodyKind::none, kStale, ErrorKind::io, true},
      {"TRACE", "TRACE", {}, BodyKind::none, kStale, ErrorKind::io, true},
      {"POST without a key", "POST", {}, BodyKind::string, kStale, ErrorKind::io, false},
      {"PUT without a key", "PUT", {}, BodyKind::string, kStale, ErrorKind::io, false},
      {"DELETE without a key", "DELETE", {}, BodyKind::none, kStale, ErrorKind::io, false},
      {"POST with Idempotency-Key, string body", "POST", key, BodyKind::string, kStale, ErrorKind::io, true},
      {"POST with X-Idempotency-Key, string body", "POST", x_key, BodyKind::string, kStale, ErrorKind::io,
       true},
      {"POST with a key, factory body", "POST", key, BodyKind::factory, kStale, ErrorKind::io, true},
      {"POST with a key, no body", "POST", key, BodyKind::none, kStale, ErrorKind::io, true},
      {"POST with a key, one-shot stream", "POST", key, BodyKind::stream, kStale, ErrorKind::io, false},
      {"GET with a one-shot stream body", "GET", {}, BodyKind::stream, kStale, ErrorKind::io, false},
      {"GET on a fresh connection", "GET", {}, BodyKind::none, kFresh, ErrorKind::io, false},
      {"GET after response bytes", "GET", {}, BodyKind::none, kGotBytes, ErrorKind::io, false},
      {"GET already retried", "GET", {}, BodyKind::none, kRetried, ErrorKind::io, false},
      {"GET timed out", "GET", {}, BodyKind::none, kStale, ErrorKind::timeout, false},
      {"GET canceled", "GET", {}, BodyKind::none, kStale, ErrorKind::canceled, false},
      {"GET protocol error", "GET", {}, BodyKind::none, kStale, ErrorKind::protocol, false},
      {"GET body error", "GET", {}, BodyKind::none, kStale, ErrorKind::body, false},
      {"GET header too large", "GET", {}, BodyKind::none, kStale, ErrorKind::header_too_large, false},
      {"GET invalid request", "GET", {}, BodyKind::none, kStale, ErrorKind::invalid_request, false},
      {"GET connect error", "GET", {}, BodyKind::none, kStale, ErrorKind::connect, false},
  };
  for (const RetryCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Request r = request(c.method, c.fields, c.body);
    EXPECT_EQ(should_retry(r, c.attempt, Error(c.error, "failed")), c.expected);
  }
}

}  // namespace
}  // namespace nethttp::testing
