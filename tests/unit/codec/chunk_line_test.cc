// ChunkLine: the chunk-size line read incrementally (RFC 9112 §7.1).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "codec/chunked.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using namespace std::literals;

/// The outcome of feeding a whole input: the size when the line completed,
/// and how many bytes it took; or the error.
struct Fed {
  std::optional<std::uint64_t> size;  ///< nullopt: incomplete
  std::size_t used = 0;
  std::optional<ErrorKind> error;
};

/// Feeds `input` in pieces of `piece` bytes, stopping at the end of the line.
Fed feed(std::string_view input, std::size_t piece, std::size_t limit = 4096) {
  ChunkLine line(limit);
  Fed fed;
  while (fed.used < input.size() && !line.complete()) {
    Result<std::size_t> n = line.feed(input.substr(fed.used, piece));
    if (!n.ok()) {
      fed.error = n.error().kind();
      return fed;
    }
    if (*n == 0) break;
    fed.used += *n;
  }
  if (line.complete()) fed.size = line.size();
  return fed;
}

struct LineCase {
  std::string_view input;
  std::optional<std::uint64_t> size;  ///< nullopt: ErrorKind::body
  std::size_t used = 0;               ///< bytes of the line, when it completes
};

TEST(ChunkLine, ReadsSizesAndStopsRightAfterTheLf) {
  const LineCase cases[] = {
      {"0\r\n", 0, 3},
      {"5\r\nhello", 5, 3},
      {"a\r\n", 10, 3},
      {"A\r\n", 10, 3},
      {"fF\r\n", 255, 4},
      {"00000010\r\n", 16, 10},
      {"ffffffffffffffff\r\n", 0xffffffffffffffffu, 18},
      {"5;a=b;c\r\nx", 5, 9},
      {"5 ;a\r\n", 5, 6},
      {"5\t \t;a\r\n", 5, 8},
      {"5 \r\n", 5, 4},
      {"5;q=\"a;b\\\"c\"\r\n", 5, 14},
      {"5;caf\xc3\xa9\r\n", 5, 9},
  };
  for (const LineCase& c : cases) {
    for (std::size_t piece : {c.input.size(), std::size_t{1}, std::size_t{2}}) {
      SCOPED_TRACE(testing::escape(c.input) + " in pieces of " + std::to_string(piece));
      const Fed fed = feed(c.input, piece);
      ASSERT_FALSE(fed.error);
      EXPECT_EQ(fed.size, c.size);
      EXPECT_EQ(fed.used, c.used);
    }
  }
}

TEST(ChunkLine, RejectsMalformedLines) {
  const std::string_view cases[] = {
      "\r\n",       "g\r\n",       ";a\r\n", " 5\r\n",  "5x\r\n",
      "5 x\r\n",    "5\n",         "5\rx",   "5;a\n",   "5;a\rb",
      "5;\x01\r\n", "5;a\0\r\n"sv, "-1\r\n", "0x5\r\n", "10000000000000000\r\n",
  };
  for (std::string_view input : cases) {
    for (std::size_t piece : {input.size(), std::size_t{1}}) {
      SCOPED_TRACE(testing::escape(input) + " in pieces of " + std::to_string(piece));
      EXPECT_EQ(feed(input, piece).error, ErrorKind::body);
    }
  }
}

TEST(ChunkLine, LimitsTheLineLength) {
  const std::string fits = "5;" + std::string(10, 'a') + "\r\n";  // 14 bytes
  EXPECT_EQ(feed(fits, 1, 14).size, 5u);
  EXPECT_EQ(feed(fits, 1, 13).error, ErrorKind::body);
  EXPECT_EQ(feed(std::string(100, 'a'), 1, 16).error, ErrorKind::body) << "no line end needed";
}

TEST(ChunkLine, WaitsForTheRestOfALine) {
  ChunkLine line(4096);
  Result<std::size_t> n = line.feed("1a");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_FALSE(line.complete());
  n = line.feed("\r");
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(line.complete());
  n = line.feed("\ndata");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_TRUE(line.complete());
  EXPECT_EQ(line.size(), 26u);
}

TEST(ChunkLine, ForgetsTheLineAtReset) {
  ChunkLine line(8);
  ASSERT_TRUE(line.feed("1234\r\n").ok());
  ASSERT_TRUE(line.complete());
  line.reset();
  EXPECT_FALSE(line.complete());
  Result<std::size_t> n = line.feed("abcd\r\n");  // would exceed 8 bytes without the reset
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_TRUE(line.complete());
  EXPECT_EQ(line.size(), 0xabcdu);
}

}  // namespace
}  // namespace nethttp::codec
