// decide_framing(): the one decision of RFC 9112 §6.3, as a table, and the
// same decisions made through the parser from real heads.
#include "codec/framing.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::FeedOptions;
using testing::Outcome;
using testing::Transcript;

using Values = std::vector<std::string_view>;

constexpr Framing kNone{BodyFraming::none, 0, false};
constexpr Framing kTunnel{BodyFraming::tunnel, 0, false};
constexpr Framing kChunked{BodyFraming::chunked, 0, false};
constexpr Framing kChunkedAmbiguous{BodyFraming::chunked, 0, true};
constexpr Framing kUntilClose{BodyFraming::until_close, 0, false};
constexpr Framing length(std::uint64_t n) {
  return Framing{BodyFraming::content_length, n, false};
}

struct FramingCase {
  std::string_view name;
  FramingInput in;
  std::optional<Framing> expected;  ///< nullopt: ErrorKind::protocol
};

FramingInput input(std::string_view method, int status, Values te, Values cl, int minor = 1) {
  return FramingInput{method, status, minor, std::move(te), std::move(cl)};
}

TEST(DecideFraming, FollowsRfc9112Section6_3InOrder) {
  const FramingCase cases[] = {
      // §6.3 (1): HEAD, 1xx, 204, 304 have no body, whatever the fields say.
      {"HEAD has no body", input("HEAD", 200, {}, {"10"}), kNone},
      {"HEAD ignores chunked", input("HEAD", 200, {"chunked"}, {}), kNone},
      {"HEAD 404 has no body", input("HEAD", 404, {}, {"100"}), kNone},
      {"100 has no body", input("GET", 100, {}, {}), kNone},
      {"101 has no body", input("GET", 101, {}, {}), kNone},
      {"103 has no body", input("GET", 103, {}, {"5"}), kNone},
      {"204 has no body", input("GET", 204, {}, {}), kNone},
      {"204 ignores Content-Length", input("GET", 204, {}, {"5"}), kNone},
      {"304 has no body", input("GET", 304, {}, {"1234"}), kNone},
      {"304 ignores chunked", input("GET", 304, {"chunked"}, {}), kNone},
      // §6.3 (2): a 2xx to CONNECT is a tunnel.
      {"200 to CONNECT", input("CONNECT", 200, {}, {}), kTunnel},
      {"200 to CONNECT ignores Content-Length", input("CONNECT", 200, {}, {"5"}), kTunnel},
      {"299 to CONNECT", input("CONNECT", 299, {}, {}), kTunnel},
      {"407 to CONNECT has a body", input("CONNECT", 407, {}, {"5"}), length(5)},
      {"CONNECT failure until close", input("CONNECT", 502, {}, {}), kUntilClose},
      // §6.3 (3): Transfer-Encoding ending in chunked.
      {"chunked", input("GET", 200, {"chunked"}, {}), kChunked},
      {"Chunked, any case", input("GET", 200, {"Chunked"}, {}), kChunked},
      {"CHUNKED", input("GET", 200, {"CHUNKED"}, {}), kChunked},
      {"chunked to POST", input("POST", 201, {"chunked"}, {}), kChunked},
      // §6.3 (3): with Content-Length too, chunked wins and the connection must close.
      {"TE and CL", input("GET", 200, {"chunked"}, {"5"}), kChunkedAmbiguous},
      // Any coding but chunked: the client could not undo it (Go refuses it too;
      // §6.3 (4) would read until close and hand over coded bytes).
      {"gzip, chunked", input("GET", 200, {"gzip, chunked"}, {}), std::nullopt},
      {"gzip,chunked without space", input("GET", 200, {"gzip,chunked"}, {}), std::nullopt},
      {"codings over two fields", input("GET", 200, {"gzip", "chunked"}, {}), std::nullopt},
      {"CL and gzip, chunked", input("GET", 200, {"gzip, chunked"}, {"100"}), std::nullopt},
      {"gzip only", input("GET", 200, {"gzip"}, {}), std::nullopt},
      {"identity", input("GET", 200, {"identity"}, {}), std::nullopt},
      {"chunked, gzip", input("GET", 200, {"chunked, gzip"}, {}), std::nullopt},
      {"chunked then gzip over two fields", input("GET", 200, {"chunked", "gzip"}, {}), std::nullopt},
      {"gzip and CL", input("GET", 200, {"gzip"}, {"5"}), std::nullopt},
      {"empty TE", input("GET", 200, {" , "}, {}), std::nullopt},
      // §6.1: Transfer-Encoding in an HTTP/1.0 response: faulty framing, close after.
      {"HTTP/1.0 chunked", input("GET", 200, {"chunked"}, {}, 0), kChunkedAmbiguous},
      // §6.3 (5): Content-Length.
      {"CL", input("GET", 200, {}, {"5"}), length(5)},
      {"CL 0", input("GET", 200, {}, {"0"}), length(0)},
      {"CL with leading zeros", input("GET", 200, {}, {"007"}), length(7)},
      {"CL on HTTP/1.0", input("GET", 200, {}, {"12"}, 0), length(12)},
      {"CL to a 404", input("GET", 404, {}, {"9"}), length(9)},
      {"CL of 2^64-1", input("GET", 200, {}, {"18446744073709551615"}), length(18446744073709551615u)},
      {"equal duplicate fields", input("GET", 200, {}, {"5", "5"}), length(5)},
      {"equal list members", input("GET", 200, {}, {"5, 5"}), length(5)},
      {"equal list members, no space", input("GET", 200, {}, {"5,5"}), length(5)},
      {"equal over list and fields", input("GET", 200, {}, {"5, 5", "5"}), length(5)},
      // §6.3 (5): differing or invalid Content-Length is unrecoverable.
      {"two different fields", input("GET", 200, {}, {"5", "6"}), std::nullopt},
      {"different list members", input("GET", 200, {}, {"5, 6"}), std::nullopt},
      {"differing after equal ones", input("GET", 200, {}, {"5", "5, 6"}), std::nullopt},
      {"letters", input("GET", 200, {}, {"abc"}), std::nullopt},
      {"negative", input("GET", 200, {}, {"-1"}), std::nullopt},
      {"plus sign", input("GET", 200, {}, {"+5"}), std::nullopt},
      {"two numbers with a space", input("GET", 200, {}, {"5 5"}), std::nullopt},
      {"empty", input("GET", 200, {}, {""}), std::nullopt},
      {"hex", input("GET", 200, {}, {"0x5"}), std::nullopt},
      {"decimal point", input("GET", 200, {}, {"5.0"}), std::nullopt},
      {"trailing letters", input("GET", 200, {}, {"5abc"}), std::nullopt},
      {"2^64 overflows", input("GET", 200, {}, {"18446744073709551616"}), std::nullopt},
      {"huge overflow", input("GET", 200, {}, {"99999999999999999999999"}), std::nullopt},
      // §6.3 (7): nothing says: until the server closes.
      {"no framing fields", input("GET", 200, {}, {}), kUntilClose},
      {"no framing fields on HTTP/1.0", input("GET", 200, {}, {}, 0), kUntilClose},
      {"no framing fields on a 500", input("POST", 500, {}, {}), kUntilClose},
  };
  for (const FramingCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Result<Framing> got = decide_framing(c.in);
    if (c.expected) {
      ASSERT_TRUE(got.ok()) << got.error().message();
      EXPECT_EQ(*got, *c.expected);
    } else {
      ASSERT_FALSE(got.ok()) << "decided " << ::testing::PrintToString(*got);
      EXPECT_EQ(got.error().kind(), ErrorKind::protocol);
    }
  }
}

struct ParsedFraming {
  std::string_view name;
  std::string_view method;
  std::string_view input;  ///< the whole stream, EOF after it
  Framing framing;
  std::string_view body;
  std::string_view leftover = "";
};

TEST(ResponseParserFraming, DecidesFramingFromTheHeadItParsed) {
  const ParsedFraming cases[] = {
      {"HEAD with Content-Length has no body", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", kNone,
       ""},
      {"HEAD leaves the next bytes alone", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1",
       kNone, "", "HTTP/1.1"},
      {"204 has no body", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", kNone, ""},
      {"304 has no body", "GET", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 7\r\n\r\n",
       kNone, ""},
      {"2xx to CONNECT is a tunnel", "CONNECT", "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
       kTunnel, "", "\x16\x03\x01"},
      {"407 to CONNECT has a body", "CONNECT",
       "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nauth", length(4), "auth"},
      {"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       kChunked, "hello"},
      {"Chunked in any case", "GET",
       "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", kChunked, "abc"},
      {"TE and CL: chunked, ambiguous", "GET",
       "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n0\r\n\r\n",
       kChunkedAmbiguous, "abc"},
      {"HTTP/1.0 with TE: ambiguous", "GET",
       "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", kChunkedAmbiguous,
       "abc"},
      {"Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", length(3), "abc"},
      {"content-length in any case", "GET", "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 3\r\n\r\nabc", length(3),
       "abc"},
      {"equal duplicate Content-Length", "GET",
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", length(5), "hello"},
      {"equal Content-Length list", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", length(5),
       "hello"},
      {"Content-Length with OWS", "GET", "HTTP/1.1 200 OK\r\nContent-Length:  \t5 \r\n\r\nhello", length(5),
       "hello"},
      {"nothing: until close", "GET", "HTTP/1.1 200 OK\r\n\r\nhello world", kUntilClose, "hello world"},
      {"nothing on HTTP/1.0: until close", "GET", "HTTP/1.0 200 OK\r\n\r\nhello", kUntilClose, "hello"},
  };
  for (const ParsedFraming& c : cases) {
    SCOPED_TRACE(c.name);
    const Transcript t = testing::parsegrind(c.input, FeedOptions::for_method(std::string(c.method)));
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    ASSERT_TRUE(t.head);
    EXPECT_EQ(t.head->framing, c.framing);
    EXPECT_EQ(t.body, c.body);
    EXPECT_EQ(t.leftover, c.leftover);
  }
}

TEST(ResponseParserFraming, RejectsBadContentLengthAsAProtocolError) {
  const std::string_view cases[] = {
      "Content-Length: 5\r\nContent-Length: 6\r\n",
      "Content-Length: 5, 6\r\n",
      "Content-Length: abc\r\n",
      "Content-Length: -1\r\n",
      "Content-Length: +5\r\n",
      "Content-Length: 5 5\r\n",
      "Content-Length:\r\n",
      "Content-Length: 99999999999999999999999\r\n",
      "Content-Length: 18446744073709551616\r\n",
  };
  for (std::string_view lines : cases) {
    SCOPED_TRACE(testing::escape(lines));
    const Transcript t = testing::parsegrind("HTTP/1.1 200 OK\r\n" + std::string(lines) + "\r\nhello");
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, ErrorKind::protocol) << t.error_message;
    EXPECT_FALSE(t.head) << "a head whose framing is unknown must not be handed out";
  }
}

}  // namespace
}  // namespace nethttp::codec
