// The status line (RFC 9112 §4): HTTP/1.0 or HTTP/1.1, a three-digit status,
// an optional reason.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::feed_whole;
using testing::FeedOptions;
using testing::Outcome;
using testing::parsegrind;
using testing::Transcript;
using namespace std::literals;

struct GoodStatusLine {
  std::string_view line;  // without its line ending
  int version_minor;
  int status;
  std::string_view reason;
};

TEST(ResponseParserStatusLine, AcceptsWellFormedStatusLines) {
  const GoodStatusLine cases[] = {
      {"HTTP/1.1 200 OK", 1, 200, "OK"},
      {"HTTP/1.0 200 OK", 0, 200, "OK"},
      {"HTTP/1.1 404 Not Found", 1, 404, "Not Found"},
      {"HTTP/1.1 599 Whatever It Is", 1, 599, "Whatever It Is"},
      {"HTTP/1.1 200", 1, 200, ""},   // reason and its SP left out
      {"HTTP/1.1 200 ", 1, 200, ""},  // empty reason
      {"HTTP/1.1 200 \tOK\t", 1, 200, "\tOK\t"},
      {"HTTP/1.1 200 D\xc3\xa9j\xc3\xa0 vu", 1, 200, "D\xc3\xa9j\xc3\xa0 vu"},  // obs-text
      {"HTTP/1.1 500 Internal: Server / Error (x)", 1, 500, "Internal: Server / Error (x)"},
  };
  for (const GoodStatusLine& c : cases) {
    SCOPED_TRACE(testing::escape(c.line));
    const Transcript t = parsegrind(std::string(c.line) + "\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    ASSERT_TRUE(t.head);
    EXPECT_EQ(t.head->version_minor, c.version_minor);
    EXPECT_EQ(t.head->status, c.status);
    EXPECT_EQ(t.head->reason, c.reason);
  }
}

TEST(ResponseParserStatusLine, RejectsMalformedStatusLinesAsProtocolErrors) {
  const std::string_view cases[] = {
      "HTTP/2.0 200 OK",
      "HTTP/1.2 200 OK",
      "HTTP/0.9 200 OK",
      "HTTP/2 200 OK",
      "HTTP/1 200 OK",
      "HTTP/1.11 200 OK",
      "http/1.1 200 OK",
      "HTTP/1.1 20 OK",
      "HTTP/1.1 2000 OK",
      "HTTP/1.1 2x0 OK",
      "HTTP/1.1 abc OK",
      "HTTP/1.1 -20 OK",
      "HTTP/1.1 OK",
      "HTTP/1.1200 OK",
      "HTTP/1.1",
      "HTTP/1.1 ",
      "ICY 200 OK",
      " HTTP/1.1 200 OK",
      "HTTP/1.1\t200 OK",
      "HTTP/1.1 200 O\0K"sv,
      "HTTP/1.1 200 O\rK",
      "HTTP/1.1 200 OK\r",  // a bare CR before the CRLF
      "",                   // an empty line where the status line belongs
  };
  for (std::string_view line : cases) {
    SCOPED_TRACE(testing::escape(line));
    const Transcript t = parsegrind(std::string(line) + "\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, ErrorKind::protocol) << t.error_message;
  }
}

TEST(ResponseParserStatusLine, RejectsAPeerThatDoesNotSpeakHttp) {
  const Transcript t = parsegrind("SSH-2.0-OpenSSH_9.0\r\n\r\n");
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::protocol);
}

// A banner followed by silence must fail at once, not wait for a blank line.
TEST(ResponseParserStatusLine, RejectsANonHttpPeerAtItsFirstBytesWithoutWaitingForTheHead) {
  FeedOptions o;
  o.finish_at_eof = false;
  for (std::string_view banner : {"SSH-2.0-OpenSSH_9.2\r\n"sv, "220 mail.example ESMTP\r\n"sv, "H"sv,
                                  "HTTP"sv, "HTX"sv, "\r\nHTTP/1.1 200 OK\r\n"sv, "http/1.1 200 OK\r\n"sv}) {
    SCOPED_TRACE(testing::escape(banner));
    const Transcript t = feed_whole(banner, o);
    if (std::string_view("HTTP/").starts_with(banner)) {
      EXPECT_EQ(t.outcome, Outcome::need_more) << t.error_message;
    } else {
      EXPECT_EQ(t.outcome, Outcome::error);
      EXPECT_EQ(t.error, ErrorKind::protocol) << t.error_message;
      EXPECT_NE(t.error_message.find("malformed status line"), std::string::npos) << t.error_message;
    }
  }
}

TEST(ResponseParserStatusLine, AcceptsABareLfAfterTheStatusLine) {
  const Transcript t = parsegrind("HTTP/1.1 204 No Content\n\n");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.head->status, 204);
  EXPECT_EQ(t.head->reason, "No Content");
}

}  // namespace
}  // namespace nethttp::codec
