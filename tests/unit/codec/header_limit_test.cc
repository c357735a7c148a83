// ParserLimits::max_header_bytes: what a peer can make the parser hold or
// scan before the end of a head.
#include <string>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::FeedOptions;
using testing::Outcome;
using testing::Transcript;

FeedOptions with_header_limit(std::size_t bytes) {
  FeedOptions o;
  o.limits.max_header_bytes = bytes;
  return o;
}

/// "HTTP/1.1 204 X\r\nX: aaa...\r\n\r\n", exactly `total` bytes long.
std::string head_of_exactly(std::size_t total) {
  const std::string start = "HTTP/1.1 204 X\r\nX: ";
  const std::string end = "\r\n\r\n";
  return start + std::string(total - start.size() - end.size(), 'a') + end;
}

TEST(ResponseParserHeaderLimit, DefaultsToOneMebibyte) {
  EXPECT_EQ(ParserLimits{}.max_header_bytes, std::size_t{1} << 20);
}

TEST(ResponseParserHeaderLimit, AcceptsAHeadOfExactlyTheLimit) {
  // The whole head, final empty line included, fits: whatever the parser
  // counts, it is not more than the limit.
  const std::string head = head_of_exactly(1000);
  ASSERT_EQ(head.size(), 1000u);
  const Transcript t = testing::parsegrind(head, with_header_limit(1000));
  EXPECT_EQ(t.outcome, Outcome::done) << t.error_message;
}

TEST(ResponseParserHeaderLimit, RejectsAHeadOverTheLimitAsHeaderTooLarge) {
  // Status line and field text alone, line endings left out, exceed the limit.
  const std::string head = head_of_exactly(1000 + 2 + 2 + 2 + 1);
  const Transcript t = testing::parsegrind(head, with_header_limit(1000));
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::header_too_large) << t.error_message;
}

TEST(ResponseParserHeaderLimit, AcceptsALargeHeadUnderTheDefaultLimit) {
  std::string head = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 1000; ++i)
    head += "X-Field-" + std::to_string(i) + ": " + std::string(900, 'v') + "\r\n";
  head += "Content-Length: 0\r\n\r\n";
  ASSERT_LT(head.size(), std::size_t{1} << 20);
  const Transcript t = testing::feed_in_pieces_of(head, 4096);
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.head->fields.size(), 1001u);
}

TEST(ResponseParserHeaderLimit, RejectsAHeadOverTheDefaultLimit) {
  std::string head = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 1200; ++i)
    head += "X-Field-" + std::to_string(i) + ": " + std::string(900, 'v') + "\r\n";
  head += "Content-Length: 0\r\n\r\n";
  ASSERT_GT(head.size(), std::size_t{1} << 20);
  const Transcript whole = testing::feed_whole(head);
  EXPECT_EQ(whole.error, ErrorKind::header_too_large) << whole.error_message;
  const Transcript pieces = testing::feed_in_pieces_of(head, 4096);
  EXPECT_EQ(pieces.error, ErrorKind::header_too_large) << pieces.error_message;
}

TEST(ResponseParserHeaderLimit, ReportsAnEndlessHeaderLineWithoutWaitingForItsEnd) {
  // No line ending ever comes: the parser must not ask for more forever.
  const std::string endless = "HTTP/1.1 200 OK\r\nX: " + std::string(5000, 'a');
  FeedOptions o = with_header_limit(1024);
  o.finish_at_eof = false;
  const Transcript t = testing::parsegrind(endless, o);
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::header_too_large) << t.error_message;
}

TEST(ResponseParserHeaderLimit, ReportsAnEndlessStatusLineWithoutWaitingForItsEnd) {
  const std::string endless = "HTTP/1.1 200 " + std::string(5000, 'a');
  FeedOptions o = with_header_limit(1024);
  o.finish_at_eof = false;
  const Transcript t = testing::parsegrind(endless, o);
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::header_too_large) << t.error_message;
}

TEST(ResponseParserHeaderLimit, ReportsTheErrorSoonAfterTheLimitIsCrossed) {
  // Fed 64 bytes at a time, the error comes before the buffer holds much
  // more than the limit: the parser never asks for unbounded input.
  constexpr std::size_t kLimit = 1024;
  constexpr std::size_t kPiece = 64;
  ResponseParser parser(ParserLimits{.max_header_bytes = kLimit});
  parser.begin("GET");
  std::string buf = "HTTP/1.1 200 OK\r\n";
  std::size_t fed = buf.size();
  bool failed = false;
  while (fed < 100 * kLimit) {
    Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind(), ErrorKind::header_too_large) << r.error().message();
      failed = true;
      break;
    }
    ASSERT_EQ(r->event, ParseEvent::need_more);
    buf.erase(0, r->consumed);
    buf += std::string(kPiece, 'x');
    fed += kPiece;
  }
  ASSERT_TRUE(failed) << "no error after " << fed << " bytes";
  EXPECT_LE(fed, kLimit + 2 * kPiece);
}

TEST(ResponseParserHeaderLimit, CountsInterimResponsesTowardsTheLimit) {
  // 40 x 25 bytes of "100 Continue" plus a small final head: each head alone
  // is far under the limit, together they are over it.
  std::string input;
  for (int i = 0; i < 40; ++i) input += "HTTP/1.1 100 Continue\r\n\r\n";
  input += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const Transcript t = testing::parsegrind(input, with_header_limit(512));
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::header_too_large) << t.error_message;
}

TEST(ResponseParserHeaderLimit, AcceptsInterimResponsesThatFitTheLimitTogether) {
  std::string input;
  for (int i = 0; i < 4; ++i) input += "HTTP/1.1 100 Continue\r\n\r\n";  // 100 bytes
  input += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";               // 38 bytes
  const Transcript t = testing::parsegrind(input, with_header_limit(512));
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.interim.size(), 4u);
  EXPECT_EQ(t.head->status, 200);
}

TEST(ResponseParserHeaderLimit, StopsAnEndlessFloodOfInterimResponses) {
  std::string flood;
  for (int i = 0; i < 2000; ++i) flood += "HTTP/1.1 100 Continue\r\n\r\n";
  FeedOptions o = with_header_limit(4096);
  o.finish_at_eof = false;
  const Transcript whole = testing::feed_whole(flood, o);
  EXPECT_EQ(whole.error, ErrorKind::header_too_large) << whole.error_message;
  EXPECT_LT(whole.interim.size(), 4096u / 25u + 1);
  const Transcript pieces = testing::feed_in_pieces_of(flood, 100, o);
  EXPECT_EQ(pieces, whole);
}

TEST(ResponseParserHeaderLimit, StartsAfreshForTheNextResponseOnTheConnection) {
  // Two heads of 300 bytes each, with a limit of 512: the count resets at begin().
  const std::string one = "HTTP/1.1 200 OK\r\nX: " + std::string(250, 'a') + "\r\nContent-Length: 0\r\n\r\n";
  FeedOptions o = with_header_limit(512);
  o.methods = {"GET", "GET", "GET"};
  const auto ts = testing::feed_pieces_stream({one + one + one}, o);
  ASSERT_EQ(ts.size(), 3u);
  for (const Transcript& t : ts) EXPECT_EQ(t.outcome, Outcome::done) << t.error_message;
}

}  // namespace
}  // namespace nethttp::codec
