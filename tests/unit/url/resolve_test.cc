// Reference resolution: RFC 3986 §5.4's examples, generic and through Url.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "nethttp/url.h"

namespace nethttp {
namespace {

constexpr std::string_view kBase = "http://a/b/c/d;p?q";

struct Example {
  std::string_view reference;
  std::string_view expected;
};

// RFC 3986 §5.4.1, every line.
constexpr Example kNormalExamples[] = {
    {"g:h", "g:h"},
    {"g", "http://a/b/c/g"},
    {"./g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/"},
    {"/g", "http://a/g"},
    {"//g", "http://g"},
    {"?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y"},
    {"#s", "http://a/b/c/d;p?q#s"},
    {"g#s", "http://a/b/c/g#s"},
    {"g?y#s", "http://a/b/c/g?y#s"},
    {";x", "http://a/b/c/;x"},
    {"g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y#s"},
    {"", "http://a/b/c/d;p?q"},
    {".", "http://a/b/c/"},
    {"./", "http://a/b/c/"},
    {"..", "http://a/b/"},
    {"../", "http://a/b/"},
    {"../g", "http://a/b/g"},
    {"../..", "http://a/"},
    {"../../", "http://a/"},
    {"../../g", "http://a/g"},
};

// RFC 3986 §5.4.2, every line; "http:g" as a strict parser resolves it (the
// backward-compatible "http://a/b/c/g" is what we deliberately do not do).
constexpr Example kAbnormalExamples[] = {
    {"../../../g", "http://a/g"},
    {"../../../../g", "http://a/g"},
    {"/./g", "http://a/g"},
    {"/../g", "http://a/g"},
    {"g.", "http://a/b/c/g."},
    {".g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g.."},
    {"..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g"},
    {"./g/.", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h"},
    {"g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g#s/./x"},
    {"g#s/../x", "http://a/b/c/g#s/../x"},
    {"http:g", "http:g"},
};

TEST(ResolveReference, GivesEveryNormalExampleOfRfc3986) {
  for (const auto& [reference, expected] : kNormalExamples) {
    const auto resolved = resolve_reference(kBase, reference);
    ASSERT_TRUE(resolved.ok()) << reference << ": " << resolved.error().message();
    EXPECT_EQ(*resolved, expected) << "reference " << reference;
  }
}

TEST(ResolveReference, GivesEveryAbnormalExampleOfRfc3986AsAStrictParser) {
  for (const auto& [reference, expected] : kAbnormalExamples) {
    const auto resolved = resolve_reference(kBase, reference);
    ASSERT_TRUE(resolved.ok()) << reference << ": " << resolved.error().message();
    EXPECT_EQ(*resolved, expected) << "reference " << reference;
  }
}

TEST(ResolveReference, IgnoresTheFragmentOfTheBase) {
  EXPECT_EQ(*resolve_reference("http://a/b?q#f", "c"), "http://a/c");
  EXPECT_EQ(*resolve_reference("http://a/b?q#f", ""), "http://a/b?q");
}

TEST(ResolveReference, DistinguishesAnEmptyQueryFromNone) {
  EXPECT_EQ(*resolve_reference("http://a/b?q", "?"), "http://a/b?");
  EXPECT_EQ(*resolve_reference("http://a/b?", ""), "http://a/b?");
  EXPECT_EQ(*resolve_reference("http://a/b", "#"), "http://a/b#");
}

TEST(ResolveReference, MergesWithAnEmptyBasePathAsSlash) {
  // §5.2.3: a base with an authority and an empty path merges as "/".
  EXPECT_EQ(*resolve_reference("http://a", "g"), "http://a/g");
  EXPECT_EQ(*resolve_reference("http://a?q", "g"), "http://a/g");
}

TEST(ResolveReference, WorksForAnyScheme) {
  EXPECT_EQ(*resolve_reference("ftp://h/a/b", "../c"), "ftp://h/c");
  EXPECT_EQ(*resolve_reference("mailto:x@y", "z"), "mailto:z");
  EXPECT_EQ(*resolve_reference("urn:a:b", "c"), "urn:c");
  EXPECT_EQ(*resolve_reference("foo:a/b/c", "../d"), "foo:a/d");
}

TEST(ResolveReference, RemovesDotSegmentsFromAnAbsoluteReference) {
  EXPECT_EQ(*resolve_reference(kBase, "http://x/a/./b/../c"), "http://x/a/c");
  EXPECT_EQ(*resolve_reference(kBase, "//x/a/../../c"), "http://x/c");
}

TEST(ResolveReference, DoesNotNormaliseAnythingElse) {
  EXPECT_EQ(*resolve_reference("HTTP://A/b", "%7e/C?%2f#X"), "HTTP://A/%7e/C?%2f#X");
  EXPECT_EQ(*resolve_reference(kBase, "HTTP://Example.COM:80"), "HTTP://Example.COM:80");
}

TEST(ResolveReference, KeepsAPathThatLooksLikeAnAuthorityAPath) {
  // Without an authority, a path "//x" would read back as authority "x";
  // "/." keeps it a path (as WHATWG URL does).
  EXPECT_EQ(*resolve_reference("foo:/a", "/.//x/y"), "foo:/.//x/y");
  EXPECT_EQ(*resolve_reference(kBase, "http:/.//evil/x"), "http:/.//evil/x");
}

TEST(ResolveReference, TreatsAnInvalidSchemeAsAPath) {
  // "1x" is not a scheme (§3.1 starts with a letter), so "1x:y" is a path.
  EXPECT_EQ(*resolve_reference("http://a/b/", "1x:y"), "http://a/b/1x:y");
}

TEST(ResolveReference, RejectsABaseWithoutAScheme) {
  const auto resolved = resolve_reference("/a/b", "c");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().kind(), ErrorKind::bad_url);
  EXPECT_EQ(resolved.error().message(), R"-(base is not an absolute URI (no scheme) in "/a/b")-");
}

TEST(ResolveReference, RejectsControlCharacters) {
  const auto in_reference = resolve_reference(kBase, "a\r\nb");
  ASSERT_FALSE(in_reference.ok());
  EXPECT_EQ(in_reference.error().kind(), ErrorKind::bad_url);
  EXPECT_EQ(in_reference.error().message(), R"-(control character "\r" in reference in "a\r\nb")-");
  EXPECT_FALSE(resolve_reference(std::string("http://a/\0", 10), "b").ok());
}

// §5.4 again, through Url::resolve: the same targets, normalised as parse()
// does, and a bad_url error for targets that are not http(s) URLs.
TEST(UrlResolve, GivesEveryExampleOfRfc3986ThatIsAnHttpUrl) {
  const Url base = *Url::parse(kBase);
  constexpr Example kExamples[] = {
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
  };
  for (const auto& [reference, expected] : kExamples) {
    const auto resolved = base.resolve(reference);
    ASSERT_TRUE(resolved.ok()) << reference << ": " << resolved.error().message();
    EXPECT_EQ(resolved->str(), expected) << "reference " << reference;
  }
}

TEST(UrlResolve, RejectsTheExamplesOfRfc3986ThatAreNotHttpUrls) {
  const Url base = *Url::parse(kBase);
  const auto other_scheme = base.resolve("g:h");
  ASSERT_FALSE(other_scheme.ok());
  EXPECT_EQ(other_scheme.error().kind(), ErrorKind::bad_url);
  EXPECT_EQ(other_scheme.error().message(), R"-(unsupported scheme "g" in "g:h")-");
  // Strict: "http:g" has no authority, so no host.
  const auto no_host = base.resolve("http:g");
  ASSERT_FALSE(no_host.ok());
  EXPECT_EQ(no_host.error().message(), R"-(missing host in "http:g")-");
}

TEST(UrlResolve, NormalisesTheResult) {
  const Url base = *Url::parse("http://a/b/c");
  EXPECT_EQ(base.resolve("HTTPS://X.Example:443/%7e/./y")->str(), "https://x.example/~/y");
  EXPECT_EQ(base.resolve("d e/%c3%a9")->str(), "http://a/b/d%20e/%C3%A9");
  EXPECT_EQ(base.resolve("/%2E%2E/%2e/x")->str(), "http://a/x");
}

TEST(UrlResolve, TreatsEncodedDotsAsDotsAsParseDoes) {
  // Plain §5.2 would keep "%2E%2E" through resolution and then let "/.."
  // remove "/%2E%2E", giving "/a/b"; parse() decodes first and gives "/b".
  const Url base = *Url::parse("http://x/");
  constexpr std::string_view kReference = "http://x/a/%2E%2E/../b";
  EXPECT_EQ(base.resolve(kReference)->str(), Url::parse(kReference)->str());
  EXPECT_EQ(base.resolve(kReference)->path(), "/b");
  EXPECT_EQ(Url::parse("http://x/a/b/c")->resolve("%2e%2E/%2e/d")->str(), "http://x/a/d");
}

TEST(UrlResolve, FollowsASchemeRelativeReferenceToAnotherHost) {
  const Url base = *Url::parse("https://a.example:8443/b/c?q#f");
  const auto resolved = base.resolve("//other/x");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->str(), "https://other/x");
  EXPECT_EQ(resolved->port(), 443);
}

TEST(UrlResolve, FollowsAnAbsolutePathOnTheSameAuthority) {
  const Url base = *Url::parse("http://u:p@a:8080/b/c?q#f");
  EXPECT_EQ(base.resolve("/x/../y?z")->str(), "http://u:p@a:8080/y?z");
}

TEST(UrlResolve, KeepsThePathForAQueryOnlyReference) {
  const Url base = *Url::parse("http://a/b/c?q#f");
  EXPECT_EQ(base.resolve("?y")->str(), "http://a/b/c?y");
}

TEST(UrlResolve, KeepsPathAndQueryForAFragmentOnlyReference) {
  const Url base = *Url::parse("http://a/b/c?q#f");
  const auto resolved = base.resolve("#s");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->str(), "http://a/b/c?q#s");
  EXPECT_EQ(resolved->request_target(), "/b/c?q");
}

TEST(UrlResolve, DropsTheBaseFragmentWhenTheReferenceHasNone) {
  const Url base = *Url::parse("http://a/b/c?q#f");
  const auto resolved = base.resolve("d");
  ASSERT_TRUE(resolved.ok());
  EXPECT_FALSE(resolved->has_fragment());
  EXPECT_EQ(resolved->str(), "http://a/b/d");
}

TEST(UrlResolve, FollowsAnAbsoluteReferenceToHttps) {
  const Url base = *Url::parse("http://a/b");
  EXPECT_EQ(base.resolve("https://b/")->str(), "https://b/");
}

TEST(UrlResolve, RejectsATargetWithAnotherScheme) {
  const Url base = *Url::parse("http://a/b");
  const auto resolved = base.resolve("ftp://x/");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().kind(), ErrorKind::bad_url);
  EXPECT_EQ(resolved.error().message(), R"-(unsupported scheme "ftp" in "ftp://x/")-");
}

TEST(UrlResolve, RejectsAPathThatWouldBecomeAnAuthority) {
  // "http:/.//evil/x" has no authority; recomposing it naively as
  // "http://evil/x" would send the request to host "evil".
  const Url base = *Url::parse("http://good/");
  const auto resolved = base.resolve("http:/.//evil/x");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().message(), R"-(missing host in "http:/.//evil/x")-");
}

TEST(UrlResolve, RejectsAnInvalidTarget) {
  const Url base = *Url::parse("http://a/b");
  EXPECT_EQ(base.resolve("//a:99999/").error().message(),
            R"-(port "99999" out of range in "http://a:99999/")-");
  EXPECT_EQ(base.resolve("x%zz").error().message(),
            R"-(invalid percent-encoding "%zz" in path of "http://a/x%zz")-");
  EXPECT_EQ(base.resolve("x\ny").error().kind(), ErrorKind::bad_url);
}

}  // namespace
}  // namespace nethttp
