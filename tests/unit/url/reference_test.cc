// The generic RFC 3986 pieces of the url layer: splitting and dot segments.
#include "url/reference.h"

#include <string_view>

#include <gtest/gtest.h>

namespace nethttp::url {
namespace {

TEST(RemoveDotSegments, GivesTheExamplesOfRfc3986) {
  // §5.2.4's two worked examples.
  EXPECT_EQ(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(remove_dot_segments("mid/content=5/../6"), "mid/6");
}

TEST(RemoveDotSegments, AppliesEachRuleOfTheAlgorithm) {
  struct Case {
    std::string_view input;
    std::string_view expected;
  };
  constexpr Case kCases[] = {
      {"", ""},
      {"/", "/"},
      {"../a", "a"},                     // A
      {"./a", "a"},                      // A
      {"/./a", "/a"},                    // B
      {"/a/.", "/a/"},                   // B, complete segment
      {"/a/../b", "/b"},                 // C
      {"/a/b/..", "/a/"},                // C, complete segment
      {"/..", "/"},                      // C, nothing to remove
      {".", ""},                         // D
      {"..", ""},                        // D
      {"/a/.b/..c/b.", "/a/.b/..c/b."},  // E: not dot segments
      {"//a/../b", "//b"},               // empty segments are segments
      {"/a//../b", "/a/b"},
      {"a/../../b", "/b"},  // C leaves "/" when it empties a relative path
  };
  for (const auto& [input, expected] : kCases) EXPECT_EQ(remove_dot_segments(input), expected) << input;
}

TEST(SplitReference, SplitsAsAppendixBDoes) {
  const ReferenceParts p = split_reference("http://www.ics.uci.edu/pub/ietf/uri/?q#Related");
  EXPECT_EQ(p.scheme, "http");
  EXPECT_EQ(p.authority, "www.ics.uci.edu");
  EXPECT_EQ(p.path, "/pub/ietf/uri/");
  EXPECT_EQ(p.query, "q");
  EXPECT_EQ(p.fragment, "Related");
}

TEST(SplitReference, TellsAbsentComponentsFromEmptyOnes) {
  const ReferenceParts none = split_reference("a");
  EXPECT_FALSE(none.scheme);
  EXPECT_FALSE(none.authority);
  EXPECT_FALSE(none.query);
  EXPECT_FALSE(none.fragment);
  const ReferenceParts empty = split_reference("s://?#");
  EXPECT_EQ(empty.scheme, "s");
  EXPECT_EQ(empty.authority, "");
  EXPECT_EQ(empty.path, "");
  EXPECT_EQ(empty.query, "");
  EXPECT_EQ(empty.fragment, "");
}

TEST(SplitReference, TakesOnlyAValidSchemeAsAScheme) {
  EXPECT_EQ(split_reference("a+b-c.d:x").scheme, "a+b-c.d");
  EXPECT_FALSE(split_reference("1a:x").scheme);
  EXPECT_FALSE(split_reference("a_b:x").scheme);
  EXPECT_FALSE(split_reference(":x").scheme);
  EXPECT_FALSE(split_reference("/a:b").scheme);
  EXPECT_FALSE(split_reference("?a:b").scheme);
  EXPECT_FALSE(split_reference("#a:b").scheme);
}

TEST(Recompose, KeepsAPathStartingWithTwoSlashesAPath) {
  ResolvedParts parts;
  parts.scheme = "s";
  parts.path = "//x";
  EXPECT_EQ(recompose(parts), "s:/.//x");
  parts.authority = "h";
  EXPECT_EQ(recompose(parts), "s://h//x");
}

}  // namespace
}  // namespace nethttp::url
