// 1xx responses (RFC 9110 §15.2): reported as interim and skipped, except 101,
// which is final.
#include <string>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::FeedOptions;
using testing::Fields;
using testing::InterimRecord;
using testing::Outcome;
using testing::Transcript;

TEST(ResponseParserInterim, Reports100ContinueAndThenTheFinalResponse) {
  const Transcript t = testing::parsegrind(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.interim, (std::vector<InterimRecord>{{100, {}}}));
  EXPECT_EQ(t.head->status, 200);
  EXPECT_EQ(t.head->fields, (Fields{{"Content-Length", "2"}}));
  EXPECT_EQ(t.body, "hi");
}

TEST(ResponseParserInterim, Reports103EarlyHintsWithItsOwnFields) {
  const Transcript t = testing::parsegrind(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 4\r\n\r\n<p/>");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.interim, (std::vector<InterimRecord>{
                           {103, {{"Link", "</style.css>; rel=preload"}}},
                           {103, {{"Link", "</app.js>; rel=preload"}}},
                       }));
  EXPECT_EQ(t.head->status, 200);
  EXPECT_EQ(t.head->fields, (Fields{{"Content-Type", "text/html"}, {"Content-Length", "4"}}))
      << "the final head carries only its own fields";
  EXPECT_EQ(t.body, "<p/>");
}

TEST(ResponseParserInterim, IgnoresFramingFieldsOfAnInterimResponse) {
  const Transcript t = testing::parsegrind(
      "HTTP/1.1 100 Continue\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  ASSERT_EQ(t.interim.size(), 1u);
  EXPECT_EQ(t.head->framing, (Framing{BodyFraming::content_length, 3, false}));
  EXPECT_EQ(t.body, "abc");
}

TEST(ResponseParserInterim, KeepsConnectionFactsOfTheFinalResponseOnly) {
  const Transcript t = testing::parsegrind(
      "HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_FALSE(t.head->connection_close);
  EXPECT_TRUE(t.head->persistent);
}

TEST(ResponseParserInterim, Reports101SwitchingProtocolsAsTheFinalHead) {
  const Transcript t = testing::parsegrind(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
      "\x81\x05hello");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_TRUE(t.interim.empty());
  ASSERT_TRUE(t.head);
  EXPECT_EQ(t.head->status, 101);
  EXPECT_EQ(t.head->reason, "Switching Protocols");
  EXPECT_EQ(t.head->fields, (Fields{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}));
  EXPECT_EQ(t.head->framing.kind, BodyFraming::none);
  EXPECT_FALSE(t.head->connection_close);
  EXPECT_EQ(t.body, "");
  EXPECT_EQ(t.leftover, "\x81\x05hello") << "the bytes after a 101 belong to the new protocol";
}

TEST(ResponseParserInterim, SkipsInterimResponsesToHeadAndConnectToo) {
  const Transcript head =
      testing::parsegrind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
                          FeedOptions::for_method("HEAD"));
  ASSERT_EQ(head.outcome, Outcome::done) << head.error_message;
  EXPECT_EQ(head.interim.size(), 1u);
  EXPECT_EQ(head.head->framing.kind, BodyFraming::none);

  const Transcript connect = testing::parsegrind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\ntunnel",
                                                 FeedOptions::for_method("CONNECT"));
  ASSERT_EQ(connect.outcome, Outcome::done) << connect.error_message;
  EXPECT_EQ(connect.interim.size(), 1u);
  EXPECT_EQ(connect.head->framing.kind, BodyFraming::tunnel);
  EXPECT_EQ(connect.leftover, "tunnel");
}

TEST(ResponseParserInterim, AcceptsInterimResponsesOnHttp10AndWithBareLf) {
  const Transcript t =
      testing::parsegrind("HTTP/1.1 100 Continue\n\nHTTP/1.0 200 OK\nContent-Length: 1\n\nx");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.interim.size(), 1u);
  EXPECT_EQ(t.head->version_minor, 0);
  EXPECT_EQ(t.body, "x");
}

TEST(ResponseParserInterim, AppliesHeadRulesToInterimResponses) {
  const Transcript t = testing::parsegrind(
      "HTTP/1.1 100 Continue\r\nBad Name: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::protocol) << t.error_message;
}

}  // namespace
}  // namespace nethttp::codec
