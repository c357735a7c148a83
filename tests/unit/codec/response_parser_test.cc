// ResponseParser as an API: views into the caller's bytes, owning copies,
// reuse on a keep-alive connection, and the split feeder itself.
#include "codec/response_parser.h"

#include <span>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::FeedOptions;
using testing::Fields;
using testing::Outcome;
using testing::Transcript;

bool points_into(std::string_view view, const std::string& buf) {
  return !view.empty() && view.data() >= buf.data() && view.data() + view.size() <= buf.data() + buf.size();
}

constexpr std::string_view kNginxHead =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.25.3\r\n"
    "Date: Tue, 21 Nov 2023 10:00:00 GMT\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: 5\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6553f0a1-5\"\r\n"
    "\r\n";

TEST(ResponseParser, HandsOutFieldsAsViewsIntoTheInput) {
  ResponseParser parser;
  parser.begin("GET");
  std::string buf = std::string(kNginxHead) + "hello";
  Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->event, ParseEvent::head);
  EXPECT_EQ(r->consumed, kNginxHead.size());
  const ResponseHead& h = parser.head();
  EXPECT_TRUE(points_into(h.reason, buf));
  ASSERT_EQ(h.fields.size(), 6u);
  for (const FieldView& f : h.fields) {
    EXPECT_TRUE(points_into(f.name, buf)) << f.name;
    EXPECT_TRUE(points_into(f.value, buf)) << f.name;
  }
  EXPECT_EQ(h.fields[0].name.data(), buf.data() + 17) << "\"Server\" right after the status line";
}

TEST(ResponseParser, CopiesTheFieldsIntoAnOwningHeader) {
  ResponseParser parser;
  parser.begin("GET");
  std::string buf(kNginxHead);
  Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->event, ParseEvent::head);
  const Header header = parser.head().to_header();
  buf.assign(buf.size(), 'X');  // the copy no longer depends on the input
  EXPECT_EQ(testing::fields_of(header), (Fields{
                                            {"Server", "nginx/1.25.3"},
                                            {"Date", "Tue, 21 Nov 2023 10:00:00 GMT"},
                                            {"Content-Type", "text/html; charset=utf-8"},
                                            {"Content-Length", "5"},
                                            {"Connection", "keep-alive"},
                                            {"ETag", "\"6553f0a1-5\""},
                                        }));
  EXPECT_EQ(header.get("content-type"), "text/html; charset=utf-8");
}

TEST(ResponseParser, CopiesAnEmptyHeaderSection) {
  ResponseParser parser;
  parser.begin("GET");
  std::string buf = "HTTP/1.1 204 No Content\r\n\r\n";
  Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(parser.head().to_header().empty());
}

TEST(ResponseParser, ParsesTheNextResponseOnTheSameConnectionAfterBegin) {
  // Three responses in one stream, the second already in the buffer when the
  // first is done: a keep-alive connection.
  const std::string stream =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n";
  FeedOptions o;
  o.methods = {"GET", "POST", "HEAD", "GET"};
  const auto ts = testing::parsegrind_stream(stream, o);
  ASSERT_EQ(ts.size(), 4u);
  for (const Transcript& t : ts) ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(ts[0].body, "abc");
  EXPECT_EQ(ts[1].body, "de");
  EXPECT_EQ(ts[1].trailers, (Fields{{"T", "1"}}));
  EXPECT_EQ(ts[2].head->status, 404);
  EXPECT_EQ(ts[2].body, "");
  EXPECT_EQ(ts[3].head->status, 304);
  EXPECT_EQ(ts[3].head->fields, (Fields{{"Content-Length", "9"}}));
  EXPECT_EQ(ts[3].leftover, "");
}

TEST(ResponseParser, ForgetsTheLastResponseAtBegin) {
  const std::string stream =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz";
  FeedOptions o;
  o.methods = {"GET", "GET"};
  const auto ts = testing::parsegrind_stream(stream, o);
  ASSERT_EQ(ts.size(), 2u);
  ASSERT_EQ(ts[1].outcome, Outcome::done) << ts[1].error_message;
  EXPECT_TRUE(ts[1].interim.empty());
  EXPECT_TRUE(ts[1].trailers.empty()) << "no trailers left over from the first response";
  EXPECT_EQ(ts[1].body, "z");
  EXPECT_EQ(ts[1].head->framing.kind, BodyFraming::content_length);
}

TEST(ResponseParser, StartsAfreshAfterAnErrorAndBegin) {
  ResponseParser parser;
  parser.begin("GET");
  std::string bad = "HTTP/9.9 200 OK\r\n\r\n";
  Result<ParseStep> r = parser.parse(std::span<char>(bad.data(), bad.size()));
  ASSERT_FALSE(r.ok());
  parser.begin("GET");
  std::string good = "HTTP/1.1 204 No Content\r\n\r\n";
  r = parser.parse(std::span<char>(good.data(), good.size()));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->event, ParseEvent::head);
  EXPECT_EQ(parser.head().status, 204);
}

TEST(ResponseParser, CountsBodyBytesHandedOut) {
  ResponseParser parser;
  parser.begin("GET");
  std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
  Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(r.ok());
  buf.erase(0, r->consumed);
  EXPECT_EQ(parser.body_bytes(), 0u);
  r = parser.parse(std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->event, ParseEvent::body);
  EXPECT_EQ(parser.body_bytes(), 4u);
  EXPECT_FALSE(parser.is_done());
}

TEST(SplitFeed, GivesTheSameTranscriptForEveryWayOfFeeding) {
  const std::string input = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT";
  const Transcript whole = testing::feed_whole(input);
  EXPECT_EQ(whole.outcome, Outcome::done) << whole.error_message;
  EXPECT_EQ(whole.body, "hello");
  EXPECT_EQ(whole.leftover, "NEXT");
  EXPECT_EQ(testing::feed_split(input, 10), whole);
  EXPECT_EQ(testing::feed_split(input, 0), whole);
  EXPECT_EQ(testing::feed_split(input, input.size()), whole);
  EXPECT_EQ(testing::feed_bytewise(input), whole);
  EXPECT_EQ(testing::feed_in_pieces_of(input, 7), whole);
}

TEST(SplitFeed, StopsWithNeedMoreOrCallsFinishAtTheEndOfInput) {
  const std::string input = "HTTP/1.1 200 OK\r\n\r\nbody";
  FeedOptions no_eof;
  no_eof.finish_at_eof = false;
  EXPECT_EQ(testing::feed_whole(input, no_eof).outcome, Outcome::need_more);
  const Transcript eof = testing::feed_whole(input);
  EXPECT_EQ(eof.outcome, Outcome::done);
  EXPECT_EQ(eof.body, "body");
}

TEST(SplitFeed, CollapsesWhitespaceAndEscapesBytes) {
  EXPECT_EQ(testing::collapse_ws(" a \t  b\t"), "a b");
  EXPECT_EQ(testing::escape(std::string_view("a\r\n\t\x01\xff\"", 7)), "a\\r\\n\\t\\x01\\xff\\\"");
}

}  // namespace
}  // namespace nethttp::codec
