// Content-Length and until-close bodies, empty bodies, and EOF (finish()).
#include <span>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::FeedOptions;
using testing::Outcome;
using testing::Transcript;

TEST(ResponseParserBody, ReadsExactlyContentLengthBytesAndLeavesTheRest) {
  const Transcript t =
      testing::parsegrind("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n\r\n");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.body, "hello");
  EXPECT_EQ(t.leftover, "HTTP/1.1 200 OK\r\n\r\n");
}

TEST(ResponseParserBody, StopsConsumingAtTheEndOfTheMessage) {
  ResponseParser parser;
  parser.begin("GET");
  std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA";
  const std::size_t head_bytes = buf.size() - 8;
  Result<ParseStep> head = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(head.ok()) << head.error().message();
  ASSERT_EQ(head->event, ParseEvent::head);
  EXPECT_EQ(head->consumed, head_bytes);
  buf.erase(0, head->consumed);
  Result<ParseStep> body = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(body.ok()) << body.error().message();
  ASSERT_EQ(body->event, ParseEvent::body);
  EXPECT_EQ(body->body, "abc");
  EXPECT_EQ(body->consumed, 3u);
  EXPECT_EQ(body->body.data(), buf.data()) << "the body is a view into the input";
  buf.erase(0, body->consumed);
  Result<ParseStep> done = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(done.ok()) << done.error().message();
  EXPECT_EQ(done->event, ParseEvent::done);
  EXPECT_EQ(done->consumed, 0u);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.body_bytes(), 3u);
}

TEST(ResponseParserBody, ReadsALargeContentLengthBodyInPieces) {
  const std::string body(100000, 'z');
  const std::string input =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t piece : {7u, 4096u, 65536u}) {
    SCOPED_TRACE(piece);
    const Transcript t = testing::feed_in_pieces_of(input, piece);
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    EXPECT_EQ(t.body.size(), body.size());
    EXPECT_EQ(t.body, body);
  }
}

TEST(ResponseParserBody, ReadsAnUntilCloseBodyToEof) {
  const Transcript t = testing::parsegrind("HTTP/1.1 200 OK\r\n\r\nhello, world");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.head->framing.kind, BodyFraming::until_close);
  EXPECT_EQ(t.body, "hello, world");
}

TEST(ResponseParserBody, EndsAnEmptyUntilCloseBodyAtEof) {
  const Transcript t = testing::parsegrind("HTTP/1.0 200 OK\r\n\r\n");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.body, "");
}

TEST(ResponseParserBody, WaitsForEofInAnUntilCloseBody) {
  FeedOptions o;
  o.finish_at_eof = false;
  const Transcript t = testing::parsegrind("HTTP/1.1 200 OK\r\n\r\nhello", o);
  EXPECT_EQ(t.outcome, Outcome::need_more);
  EXPECT_EQ(t.body, "hello");
}

struct EarlyEof {
  std::string_view name;
  std::string_view method;
  std::string_view input;
  ErrorKind error;
};

TEST(ResponseParserBody, ReportsEofWhereTheMessageIsNotCompleteAsAnError) {
  const EarlyEof cases[] = {
      {"before any byte", "GET", "", ErrorKind::io},
      {"inside the status line", "GET", "HTTP/1.1 20", ErrorKind::io},
      {"after the status line", "GET", "HTTP/1.1 200 OK\r\n", ErrorKind::io},
      {"inside the fields", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x", ErrorKind::io},
      {"before the final empty line", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", ErrorKind::io},
      {"after a 1xx", "GET", "HTTP/1.1 100 Continue\r\n\r\n", ErrorKind::io},
      {"after a 1xx, inside the final head", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2", ErrorKind::io},
      {"before a Content-Length body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
       ErrorKind::body},
      {"inside a Content-Length body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
       ErrorKind::body},
      {"before a chunked body", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
       ErrorKind::body},
      {"inside chunk data", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
       ErrorKind::body},
  };
  for (const EarlyEof& c : cases) {
    SCOPED_TRACE(c.name);
    const Transcript t = testing::parsegrind(c.input, FeedOptions::for_method(std::string(c.method)));
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, c.error) << t.error_message;
  }
}

struct EmptyBody {
  std::string_view name;
  std::string_view method;
  std::string_view head;
};

TEST(ResponseParserBody, CompletesAnEmptyBodyRightAfterTheHeadWithoutMoreBytes) {
  const EmptyBody cases[] = {
      {"Content-Length 0", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
      {"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n"},
      {"304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"},
      {"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"},
      {"HEAD chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"HEAD until close", "HEAD", "HTTP/1.0 200 OK\r\n\r\n"},
  };
  for (const EmptyBody& c : cases) {
    SCOPED_TRACE(c.name);
    ResponseParser parser;
    parser.begin(c.method);
    std::string buf(c.head);
    Result<ParseStep> head = parser.parse(std::span<char>(buf.data(), buf.size()));
    ASSERT_TRUE(head.ok()) << head.error().message();
    ASSERT_EQ(head->event, ParseEvent::head);
    EXPECT_EQ(head->consumed, buf.size());
    // No more bytes: the same call with nothing left finishes the message.
    Result<ParseStep> done = parser.parse(std::span<char>());
    ASSERT_TRUE(done.ok()) << done.error().message();
    EXPECT_EQ(done->event, ParseEvent::done);
    EXPECT_EQ(done->consumed, 0u);
    EXPECT_TRUE(parser.is_done());
    EXPECT_EQ(parser.body_bytes(), 0u);
    // And the transcript agrees for every split, with EOF never needed.
    FeedOptions o = FeedOptions::for_method(std::string(c.method));
    o.finish_at_eof = false;
    const Transcript t = testing::parsegrind(c.head, o);
    EXPECT_EQ(t.outcome, Outcome::done) << t.error_message;
    EXPECT_EQ(t.body, "");
  }
}

TEST(ResponseParserBody, ReportsNeedMoreWithNothingConsumedForAPartialHead) {
  ResponseParser parser;
  parser.begin("GET");
  std::string buf = "HTTP/1.1 200 OK\r\nContent-Le";
  Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->event, ParseEvent::need_more);
  EXPECT_EQ(r->consumed, 0u) << "a head is only consumed once it is complete";
  EXPECT_FALSE(parser.is_done());
}

}  // namespace
}  // namespace nethttp::codec
