// The chunked transfer coding (RFC 9112 §7.1): sizes, extensions, data, the
// last chunk, trailers, limits — strict line endings as a smuggling defence.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::feed_in_pieces_of;
using testing::feed_whole;
using testing::FeedOptions;
using testing::Fields;
using testing::Outcome;
using testing::Transcript;
using namespace std::literals;

std::string chunked(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(body);
}

struct GoodChunks {
  std::string_view name;
  std::string_view body;  ///< the chunked coding
  std::string_view decoded;
};

TEST(ResponseParserChunked, DecodesWellFormedChunks) {
  const GoodChunks cases[] = {
      {"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
      {"no chunk", "0\r\n\r\n", ""},
      {"several chunks", "3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n", "abcdefgh"},
      {"upper-case hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
      {"lower-case hex", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
      {"mixed-case hex", "1f\r\n0123456789012345678901234567890\r\n0\r\n\r\n",
       "0123456789012345678901234567890"},
      {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"},
      {"extensions skipped", "5;a=b;c\r\nhello\r\n0;last\r\n\r\n", "hello"},
      {"quoted extension value", "5;name=\"quo;ted\"\r\nhello\r\n0\r\n\r\n", "hello"},
      {"BWS before ';'", "5 ;a=b\r\nhello\r\n0\t;x\r\n\r\n", "hello"},
      {"BWS around the extension", "5 ; a = b\r\nhello\r\n0\r\n\r\n", "hello"},
      {"line breaks and NUL in data", "4\r\n\r\n\0\n\r\n0\r\n\r\n"sv, "\r\n\0\n"sv},
      {"data that looks like a chunk", "5\r\n0\r\n\r\n\r\n0\r\n\r\n", "0\r\n\r\n"},
  };
  for (const GoodChunks& c : cases) {
    SCOPED_TRACE(c.name);
    const Transcript t = testing::parsegrind(chunked(c.body));
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    EXPECT_EQ(t.head->framing.kind, BodyFraming::chunked);
    EXPECT_EQ(t.body, c.decoded);
    EXPECT_TRUE(t.trailers.empty());
    EXPECT_EQ(t.leftover, "");
  }
}

TEST(ResponseParserChunked, DecodesA64KiBChunk) {
  const std::string data(65536, 'q');
  const std::string input = chunked("10000\r\n" + data + "\r\n0\r\n\r\n");
  for (std::size_t piece : {3u, 1000u, 70000u}) {
    SCOPED_TRACE(piece);
    const Transcript t = testing::feed_in_pieces_of(input, piece);
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    EXPECT_EQ(t.body, data);
  }
}

TEST(ResponseParserChunked, LeavesTheBytesAfterTheLastChunk) {
  const Transcript t = testing::parsegrind(chunked("3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 X\r\n\r\n"));
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.body, "abc");
  EXPECT_EQ(t.leftover, "HTTP/1.1 204 X\r\n\r\n");
}

TEST(ResponseParserChunked, RejectsMalformedChunkFramingAsABodyError) {
  const std::string_view cases[] = {
      "10000000000000000\r\nx\r\n0\r\n\r\n",  // 2^64: overflows
      "FFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n",  // 17 hex digits
      "g\r\nx\r\n0\r\n\r\n",                  // not hex
      "0x5\r\nhello\r\n0\r\n\r\n",            // no 0x prefix in HTTP
      "-5\r\nhello\r\n0\r\n\r\n",             // no sign
      "+5\r\nhello\r\n0\r\n\r\n",             // no sign
      " 5\r\nhello\r\n0\r\n\r\n",             // leading whitespace
      "\r\nhello\r\n0\r\n\r\n",               // empty size line
      ";a=b\r\nhello\r\n0\r\n\r\n",           // extension without a size
      "5x\r\nhello\r\n0\r\n\r\n",             // junk after the size
      "5 x\r\nhello\r\n0\r\n\r\n",            // junk after BWS
      "5\r\nhelloX\r\n0\r\n\r\n",             // data longer than its size
      "5\r\nhell\r\n0\r\n\r\n",               // data shorter than its size
      "5\r\nhello\rX0\r\n\r\n",               // CR not followed by LF after data
      "5\nhello\r\n0\r\n\r\n",                // bare LF ends the size line
      "5;a=b\nhello\r\n0\r\n\r\n",            // bare LF ends an extension
      "5\r\nhello\n0\r\n\r\n",                // bare LF after data
      "0\n\r\n",                              // bare LF ends the last chunk's line
      "0\r\n\n",                              // bare LF ends the trailer section
      "0\r\nA: 1\n\r\n",                      // bare LF ends a trailer field
      "5\rhello\r\n0\r\n\r\n",                // bare CR ends the size line
  };
  for (std::string_view body : cases) {
    SCOPED_TRACE(testing::escape(body));
    const Transcript t = testing::parsegrind(chunked(body));
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, ErrorKind::body) << t.error_message;
  }
}

TEST(ResponseParserChunked, RejectsMissingCrlfAfterDataBeforeEof) {
  const Transcript t = testing::parsegrind(chunked("5\r\nhelloX"));
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::body) << t.error_message;
  EXPECT_EQ(t.body, "hello");
}

TEST(ResponseParserChunked, LimitsTheChunkSizeLine) {
  FeedOptions o;
  o.limits.max_chunk_line_bytes = 64;
  const Transcript fits =
      testing::parsegrind(chunked("5;" + std::string(40, 'a') + "\r\nhello\r\n0\r\n\r\n"), o);
  EXPECT_EQ(fits.outcome, Outcome::done) << fits.error_message;
  EXPECT_EQ(fits.body, "hello");

  const Transcript long_ext =
      testing::parsegrind(chunked("5;" + std::string(100, 'a') + "\r\nhello\r\n0\r\n\r\n"), o);
  EXPECT_EQ(long_ext.outcome, Outcome::error);
  EXPECT_EQ(long_ext.error, ErrorKind::body) << long_ext.error_message;

  const Transcript many_zeros =
      testing::parsegrind(chunked(std::string(100, '0') + "5\r\nhello\r\n0\r\n\r\n"), o);
  EXPECT_EQ(many_zeros.outcome, Outcome::error);
  EXPECT_EQ(many_zeros.error, ErrorKind::body) << many_zeros.error_message;
}

TEST(ResponseParserChunked, ReportsAnEndlessChunkSizeLineWithoutWaitingForItsEnd) {
  FeedOptions o;
  o.limits.max_chunk_line_bytes = 64;
  o.finish_at_eof = false;
  const Transcript t = testing::parsegrind(chunked("5;" + std::string(1000, 'a')), o);
  EXPECT_EQ(t.outcome, Outcome::error);
  EXPECT_EQ(t.error, ErrorKind::body) << t.error_message;
}

TEST(ResponseParserChunked, DefaultsTheChunkLineLimitTo4KiB) {
  EXPECT_EQ(ParserLimits{}.max_chunk_line_bytes, 4096u);
  EXPECT_EQ(ParserLimits{}.max_trailer_bytes, 64u * 1024u);
}

std::string repeated(std::string_view piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

// Go's CVE-2023-39326: chunks of one byte with long extensions make a client
// scan without end for little data. Framing may cost 16 bytes per data byte
// plus max_chunk_overhead_bytes, and no more.
TEST(ResponseParserChunked, LimitsChunkFramingBytesPerDataByte) {
  FeedOptions o;
  o.limits.max_chunk_overhead_bytes = 1024;
  const std::string long_ext = "1;" + std::string(60, 'e') + "\r\nx\r\n";
  const Transcript flood = feed_in_pieces_of(chunked(repeated(long_ext, 1000) + "0\r\n\r\n"), 1000, o);
  EXPECT_EQ(flood.outcome, Outcome::error);
  EXPECT_EQ(flood.error, ErrorKind::body) << flood.error_message;
  EXPECT_NE(flood.error_message.find("chunk framing"), std::string::npos) << flood.error_message;
  EXPECT_LT(flood.body.size(), 100u) << "stopped early, not after the whole flood";

  // One-byte chunks without extensions cost 5 bytes of framing per data byte.
  const Transcript tiny = feed_in_pieces_of(chunked(repeated("1\r\nx\r\n", 10000) + "0\r\n\r\n"), 1000, o);
  EXPECT_EQ(tiny.outcome, Outcome::done) << tiny.error_message;
  EXPECT_EQ(tiny.body, std::string(10000, 'x'));
  // Extensions within the allowance, before any data, are fine.
  const Transcript some_ext = feed_whole(chunked("5;" + std::string(900, 'e') + "\r\nhello\r\n0\r\n\r\n"), o);
  EXPECT_EQ(some_ext.outcome, Outcome::done) << some_ext.error_message;
}

TEST(ResponseParserChunked, AllowsChunkFramingOf16KiBBeyond16BytesPerDataByteByDefault) {
  EXPECT_EQ(ParserLimits{}.max_chunk_overhead_bytes, 16u * 1024u);
}

TEST(ResponseParserChunked, ExposesTrailerFieldsAfterTheLastChunk) {
  const Transcript t =
      testing::parsegrind(chunked("5\r\nhello\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n"
                                  "X-Checksum:  abc123 \r\n\r\n"));
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.body, "hello");
  EXPECT_EQ(t.trailers, (Fields{{"Expires", "Wed, 21 Oct 2015 07:28:00 GMT"}, {"X-Checksum", "abc123"}}));
  EXPECT_EQ(t.head->fields, (Fields{{"Transfer-Encoding", "chunked"}}))
      << "trailers are not merged into the head";
}

TEST(ResponseParserChunked, ExposesTrailersWithTheNextResponseLeftAlone) {
  const Transcript t = testing::parsegrind(chunked("0\r\nA: 1\r\nB: 2\r\n\r\nHTTP/1.1 204 X\r\n\r\n"));
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.trailers, (Fields{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(t.leftover, "HTTP/1.1 204 X\r\n\r\n");
}

TEST(ResponseParserChunked, ReadsTrailersByTheRulesOfHeaderFields) {
  const Transcript t = testing::parsegrind(chunked("0\r\nA:  1 \r\nB: x\r\n  y\r\nC:\r\n\r\n"));
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  ASSERT_EQ(t.trailers.size(), 3u);
  EXPECT_EQ(t.trailers[0], (std::pair<std::string, std::string>{"A", "1"}));
  EXPECT_EQ(t.trailers[1].first, "B");
  EXPECT_EQ(testing::collapse_ws(t.trailers[1].second), "x y") << "obs-fold unfolded";
  EXPECT_EQ(t.trailers[2], (std::pair<std::string, std::string>{"C", ""}));
}

TEST(ResponseParserChunked, RejectsMalformedTrailersLikeMalformedFields) {
  const std::string cases[] = {
      "0\r\nBad Name: x\r\n\r\n", "0\r\nA : x\r\n\r\n",   "0\r\n: x\r\n\r\n",
      "0\r\nNoColon\r\n\r\n",     "0\r\nA: x\ry\r\n\r\n", std::string("0\r\nA: x\0y\r\n\r\n"sv),
  };
  for (const std::string& body : cases) {
    SCOPED_TRACE(testing::escape(body));
    const Transcript t = testing::parsegrind(chunked(body));
    EXPECT_EQ(t.outcome, Outcome::error);
    // Trailers are part of the chunked body: malformed ones are a body error.
    EXPECT_EQ(t.error, ErrorKind::body) << t.error_message;
  }
}

TEST(ResponseParserChunked, LimitsTheTrailerSection) {
  FeedOptions o;
  o.limits.max_trailer_bytes = 64;
  const Transcript fits = testing::parsegrind(chunked("0\r\nA: " + std::string(30, 'x') + "\r\n\r\n"), o);
  EXPECT_EQ(fits.outcome, Outcome::done) << fits.error_message;

  const Transcript big = testing::parsegrind(
      chunked("0\r\nA: " + std::string(60, 'x') + "\r\nB: " + std::string(60, 'y') + "\r\n\r\n"), o);
  EXPECT_EQ(big.outcome, Outcome::error);
  EXPECT_EQ(big.error, ErrorKind::header_too_large) << big.error_message;

  o.finish_at_eof = false;
  const Transcript endless = testing::parsegrind(chunked("0\r\nA: " + std::string(1000, 'x')), o);
  EXPECT_EQ(endless.outcome, Outcome::error);
  EXPECT_EQ(endless.error, ErrorKind::header_too_large) << endless.error_message;
}

TEST(ResponseParserChunked, ReportsEofAnywhereInsideTheCodingAsABodyError) {
  const std::string_view cases[] = {
      "",                     // before the first size line
      "5",                    // inside a size line
      "5;ext",                // inside an extension
      "5\r",                  // between CR and LF
      "5\r\nhel",             // inside data
      "5\r\nhello",           // before the CRLF after data
      "5\r\nhello\r",         // inside the CRLF after data
      "5\r\nhello\r\n",       // before the next size line
      "5\r\nhello\r\n0\r\n",  // before the end of the trailer section
      "0\r\nA: 1\r\n",        // inside the trailer section
  };
  for (std::string_view body : cases) {
    SCOPED_TRACE(testing::escape(body));
    const Transcript t = testing::parsegrind(chunked(body));
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, ErrorKind::body) << t.error_message;
  }
}

}  // namespace
}  // namespace nethttp::codec
