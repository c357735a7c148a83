// Header fields (RFC 9112 §5, RFC 9110 §5): token names, trimmed values,
// bare LF line endings, obs-fold.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::Fields;
using testing::Outcome;
using testing::parsegrind;
using testing::Transcript;
using namespace std::literals;

/// A 204 response (no body, done right after the head) with these field lines.
std::string no_content_with(std::string_view field_lines) {
  return "HTTP/1.1 204 No Content\r\n" + std::string(field_lines) + "\r\n";
}

struct GoodFields {
  std::string_view name;
  std::string_view field_lines;
  Fields expected;
};

TEST(ResponseParserFields, ParsesNamesAndTrimmedValuesInOrder) {
  const GoodFields cases[] = {
      {"one field", "Server: nginx\r\n", {{"Server", "nginx"}}},
      {"no fields", "", {}},
      {"names keep their case", "X-MiXeD: v\r\n", {{"X-MiXeD", "v"}}},
      {"every tchar in a name", "!#$%&'*+-.^_`|~09azAZ: v\r\n", {{"!#$%&'*+-.^_`|~09azAZ", "v"}}},
      {"no space after the colon", "A:v\r\n", {{"A", "v"}}},
      {"leading and trailing OWS trimmed", "A: \t v \t \r\n", {{"A", "v"}}},
      {"inner whitespace kept", "A: x  y\tz\r\n", {{"A", "x  y\tz"}}},
      {"empty value", "A:\r\n", {{"A", ""}}},
      {"whitespace-only value", "A:  \t \r\n", {{"A", ""}}},
      {"colons in the value", "A: b:c: d\r\n", {{"A", "b:c: d"}}},
      {"obs-text in the value", "A: caf\xc3\xa9 \xff\x80\r\n", {{"A", "caf\xc3\xa9 \xff\x80"}}},
      {"repeated names kept apart",
       "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n",
       {{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}}},
      {"order kept", "B: 1\r\nA: 2\r\nC: 3\r\n", {{"B", "1"}, {"A", "2"}, {"C", "3"}}},
  };
  for (const GoodFields& c : cases) {
    SCOPED_TRACE(c.name);
    const Transcript t = parsegrind(no_content_with(c.field_lines));
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    EXPECT_EQ(t.head->fields, c.expected);
  }
}

TEST(ResponseParserFields, AcceptsBareLfLineEndingsAloneAndMixedWithCrlf) {
  const std::string_view cases[] = {
      "HTTP/1.1 204 No Content\nA: 1\nB: 2\n\n",
      "HTTP/1.1 204 No Content\r\nA: 1\nB: 2\r\n\n",
      "HTTP/1.1 204 No Content\nA: 1\r\nB: 2\n\r\n",
      "HTTP/1.1 204 No Content\r\nA: 1\r\nB: 2\n\n",
  };
  for (std::string_view input : cases) {
    SCOPED_TRACE(testing::escape(input));
    const Transcript t = parsegrind(input);
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    EXPECT_EQ(t.head->status, 204);
    EXPECT_EQ(t.head->fields, (Fields{{"A", "1"}, {"B", "2"}}));
  }
}

TEST(ResponseParserFields, RejectsMalformedFieldLinesAsProtocolErrors) {
  const std::string_view cases[] = {
      "A : v\r\n",        // SP before the colon (RFC 9112 §5.1: MUST reject)
      "A\t: v\r\n",       // HTAB before the colon
      ": v\r\n",          // empty name
      " : v\r\n",         // a fold before the first field, or an empty name
      "A B: v\r\n",       // SP inside a name
      "A(B): v\r\n",      // delimiter in a name
      "A\"B: v\r\n",      // DQUOTE in a name
      "A/B: v\r\n",       // "/" in a name
      "A@B: v\r\n",       // "@" in a name
      "\xc3\xa9: v\r\n",  // non-ASCII name
      "NoColonHere\r\n",  // no colon at all
      "A: v\r\nB\r\n",    // second line without a colon
      "A: x\ry\r\n",      // bare CR in a value
      "A: v\r\r\n",       // bare CR before the CRLF
      "A\r: v\r\n",       // bare CR in a name
      "\rA: v\r\n",       // bare CR at the start of a line
      "A: v\r\n\r\r\n",   // bare CR in the empty line
  };
  for (std::string_view lines : cases) {
    SCOPED_TRACE(testing::escape(lines));
    const Transcript t = parsegrind(no_content_with(lines));
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, ErrorKind::protocol) << t.error_message;
  }
}

TEST(ResponseParserFields, RejectsNulAnywhereInTheHead) {
  const std::string cases[] = {
      std::string("A: x\0y\r\n"sv),
      std::string("A: \0\r\n"sv),
      std::string("A\0: v\r\n"sv),
      std::string("\0A: v\r\n"sv),
  };
  for (const std::string& lines : cases) {
    SCOPED_TRACE(testing::escape(lines));
    const Transcript t = parsegrind(no_content_with(lines));
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, ErrorKind::protocol) << t.error_message;
  }
}

struct Fold {
  std::string_view name;
  std::string_view field_lines;
  std::string_view folded_name;
  std::string_view collapsed;  ///< the value with whitespace runs collapsed to one SP
  Fields others;               ///< every other field, in order
};

TEST(ResponseParserFields, UnfoldsObsFoldIntoSpaces) {
  const Fold cases[] = {
      {"CRLF + SP", "A: one\r\n two\r\n", "A", "one two", {}},
      {"CRLF + HTAB", "A: one\r\n\ttwo\r\n", "A", "one two", {}},
      {"several spaces", "A: one\r\n     two\r\n", "A", "one two", {}},
      {"bare LF fold", "A: one\n two\n", "A", "one two", {}},
      {"three lines", "A: one\r\n two\r\n three\r\n", "A", "one two three", {}},
      {"fields before and after",
       "X: 1\r\nA: one\r\n two\r\nY: 2\r\n",
       "A",
       "one two",
       {{"X", "1"}, {"Y", "2"}}},
      {"empty first line of the value", "A:\r\n two\r\n", "A", "two", {}},
      {"trailing whitespace on the fold", "A: one \r\n two \r\n", "A", "one two", {}},
  };
  for (const Fold& c : cases) {
    SCOPED_TRACE(c.name);
    const Transcript t = parsegrind(no_content_with(c.field_lines));
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    Fields others;
    std::string value;
    int folded = 0;
    for (const auto& [name, v] : t.head->fields) {
      if (name == c.folded_name) {
        value = v;
        ++folded;
      } else {
        others.emplace_back(name, v);
      }
    }
    ASSERT_EQ(folded, 1) << "the folded field must stay one field";
    EXPECT_EQ(others, c.others);
    EXPECT_EQ(testing::collapse_ws(value), c.collapsed) << testing::escape(value);
    // Nothing but SP and HTAB may stand where the line break was.
    for (char ch : value) {
      EXPECT_TRUE(ch != '\r' && ch != '\n') << testing::escape(value);
    }
    if (!value.empty()) {  // trimmed like any value
      EXPECT_TRUE(value.front() != ' ' && value.front() != '\t') << testing::escape(value);
      EXPECT_TRUE(value.back() != ' ' && value.back() != '\t') << testing::escape(value);
    }
  }
}

TEST(ResponseParserFields, UnfoldsObsFoldInPlaceReplacingTheLineBreakWithSpaces) {
  // RFC 9112 §5.2: replace each obs-fold with one or more SP. The parser does
  // it in place, so the value keeps its length.
  const Transcript t = parsegrind(no_content_with("A: one\r\n  two\r\n"));
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  ASSERT_EQ(t.head->fields.size(), 1u);
  EXPECT_EQ(t.head->fields[0].second, "one    two");
}

TEST(ResponseParserFields, RejectsObsFoldBeforeTheFirstField) {
  const std::string_view cases[] = {
      "HTTP/1.1 204 No Content\r\n A: 1\r\n\r\n",
      "HTTP/1.1 204 No Content\r\n\tA: 1\r\n\r\n",
      "HTTP/1.1 204 No Content\n A: 1\n\n",
  };
  for (std::string_view input : cases) {
    SCOPED_TRACE(testing::escape(input));
    const Transcript t = parsegrind(input);
    EXPECT_EQ(t.outcome, Outcome::error);
    EXPECT_EQ(t.error, ErrorKind::protocol) << t.error_message;
  }
}

TEST(ResponseParserFields, KeepsTheHeadOfAResponseWithABodyIntact) {
  const Transcript t =
      parsegrind("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
  EXPECT_EQ(t.head->fields, (Fields{{"Content-Type", "text/plain"}, {"Content-Length", "5"}}));
  EXPECT_EQ(t.body, "hello");
}

}  // namespace
}  // namespace nethttp::codec
