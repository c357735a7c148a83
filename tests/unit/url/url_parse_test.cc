// Url::parse: components, normalisation (RFC 3986 §6.2.2, §6.2.3), errors.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "nethttp/url.h"

namespace nethttp {
namespace {

Url parsed(std::string_view text) {
  auto u = Url::parse(text);
  EXPECT_TRUE(u.ok()) << text << ": " << u.error().message();
  return u.ok() ? *std::move(u) : Url();
}

/// The message of the bad_url error parsing `text` gives, or "" if it parses.
std::string error_of(std::string_view text) {
  const auto u = Url::parse(text);
  if (u.ok()) return "";
  EXPECT_EQ(u.error().kind(), ErrorKind::bad_url) << text;
  return u.error().message();
}

struct Normalisation {
  std::string_view input;
  std::string_view expected;
};

TEST(UrlParse, SplitsAUrlIntoItsComponents) {
  const Url u = parsed("https://user:pass@www.example.com:8443/a/b?c=d&e#frag");
  EXPECT_EQ(u.scheme(), "https");
  EXPECT_TRUE(u.is_https());
  EXPECT_TRUE(u.has_userinfo());
  EXPECT_EQ(u.username(), "user");
  EXPECT_EQ(u.password(), "pass");
  EXPECT_EQ(u.host(), "www.example.com");
  EXPECT_EQ(u.hostname(), "www.example.com");
  EXPECT_FALSE(u.is_ipv6());
  EXPECT_EQ(u.port(), 8443);
  EXPECT_FALSE(u.has_default_port());
  EXPECT_EQ(u.path(), "/a/b");
  EXPECT_TRUE(u.has_query());
  EXPECT_EQ(u.query(), "c=d&e");
  EXPECT_TRUE(u.has_fragment());
  EXPECT_EQ(u.fragment(), "frag");
}

TEST(UrlParse, LeavesOutWhatTheUrlDoesNotHave) {
  const Url u = parsed("http://example.com/x");
  EXPECT_FALSE(u.is_https());
  EXPECT_FALSE(u.has_userinfo());
  EXPECT_EQ(u.username(), "");
  EXPECT_EQ(u.password(), "");
  EXPECT_FALSE(u.has_query());
  EXPECT_FALSE(u.has_fragment());
  EXPECT_EQ(u.port(), 80);
  EXPECT_TRUE(u.has_default_port());
}

TEST(UrlParse, TellsAnEmptyQueryAndFragmentFromNone) {
  const Url u = parsed("http://a/?#");
  EXPECT_TRUE(u.has_query());
  EXPECT_EQ(u.query(), "");
  EXPECT_TRUE(u.has_fragment());
  EXPECT_EQ(u.fragment(), "");
  EXPECT_EQ(u.str(), "http://a/?#");
  EXPECT_EQ(u.request_target(), "/?");
}

TEST(UrlParse, GivesEachSchemeItsDefaultPort) {
  EXPECT_EQ(parsed("http://a/").port(), 80);
  EXPECT_EQ(parsed("https://a/").port(), 443);
  EXPECT_TRUE(parsed("https://a:443/").has_default_port());
  EXPECT_FALSE(parsed("https://a:80/").has_default_port());
  EXPECT_FALSE(parsed("http://a:443/").has_default_port());
}

// RFC 3986 §6.2.2 and §6.2.3, plus the examples of the requirements.
TEST(UrlParse, NormalisesAsRfc3986Section6Says) {
  constexpr Normalisation kCases[] = {
      // §6.2.2.1: scheme and host are case-insensitive
      {"HTTP://www.Example.com/", "http://www.example.com/"},
      {"HtTpS://WWW.EXAMPLE.COM/", "https://www.example.com/"},
      // ...but the path is not
      {"http://a/PaTh?QuErY#FrAg", "http://a/PaTh?QuErY#FrAg"},
      // §6.2.2.1: hex digits of escapes upper-cased; §6.2.2.2: unreserved decoded
      {"http://a/%7e%7Efoo", "http://a/~~foo"},
      {"http://a/%41%62%2d%2E%5f%30", "http://a/Ab-._0"},
      {"http://a/%7bfoo%7d", "http://a/%7Bfoo%7D"},
      {"http://a/?%3d%3D", "http://a/?%3D%3D"},
      {"http://a/#%c3%a9", "http://a/#%C3%A9"},
      // §6.2.2's example: "eXAMPLE://a/./b/../b/%63/%7bfoo%7d"
      {"HTTP://a/./b/../b/%63/%7bfoo%7d", "http://a/b/c/%7Bfoo%7D"},
      // §6.2.2.3: dot segments removed, also when percent-encoded
      {"http://a/b/./c/../d/", "http://a/b/d/"},
      {"http://a/../../x", "http://a/x"},
      {"http://a/b/%2e%2E/c", "http://a/c"},
      {"http://a/b/%2E/c", "http://a/b/c"},
      // ...but not in the query or fragment
      {"http://a/?./../x#./../y", "http://a/?./../x#./../y"},
      // §6.2.3: empty path is "/", default or empty port dropped
      {"http://example.com", "http://example.com/"},
      {"http://example.com:80/", "http://example.com/"},
      {"http://example.com:/", "http://example.com/"},
      {"https://example.com:443", "https://example.com/"},
      {"http://example.com:0080/", "http://example.com/"},
      {"http://example.com?q", "http://example.com/?q"},
      {"http://example.com#f", "http://example.com/#f"},
  };
  for (const auto& [input, expected] : kCases) EXPECT_EQ(parsed(input).str(), expected) << input;
}

TEST(UrlParse, GivesPathSlashForAnEmptyPath) {
  EXPECT_EQ(parsed("http://example.com").path(), "/");
  EXPECT_EQ(parsed("http://example.com?x").request_target(), "/?x");
}

TEST(UrlParse, NeverDecodesReservedCharacters) {
  // "%2F" is data, "/" a delimiter: decoding would change the resource (§2.2).
  constexpr Normalisation kCases[] = {
      {"http://a/b%2Fc", "http://a/b%2Fc"},
      {"http://a/b%2fc", "http://a/b%2Fc"},
      {"http://a/%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A",
       "http://a/%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A"},
      {"http://a/?a%3Db%26c", "http://a/?a%3Db%26c"},
      {"http://a/%25", "http://a/%25"},
      // one decoding pass only: "%2541" is not "%41" is not "A"
      {"http://a/%25%34%31", "http://a/%2541"},
  };
  for (const auto& [input, expected] : kCases) EXPECT_EQ(parsed(input).str(), expected) << input;
}

TEST(UrlParse, PercentEncodesCharactersCommonlySentRaw) {
  constexpr Normalisation kCases[] = {
      {"http://a/b c", "http://a/b%20c"},
      {"http://a/?q=a b", "http://a/?q=a%20b"},
      {"http://a/#a b", "http://a/#a%20b"},
      {"http://a/\"<>\\^`{|}", "http://a/%22%3C%3E%5C%5E%60%7B%7C%7D"},
      {"http://a/?\"<>\\^`{|}", "http://a/?%22%3C%3E%5C%5E%60%7B%7C%7D"},
      {"http://a/#\"<>\\^`{|}", "http://a/#%22%3C%3E%5C%5E%60%7B%7C%7D"},
      // UTF-8 bytes, one escape each
      {"http://a/caf\xc3\xa9?\xe2\x82\xac#\xf0\x9f\x98\x80", "http://a/caf%C3%A9?%E2%82%AC#%F0%9F%98%80"},
      {"http://a/\xff", "http://a/%FF"},
      // everything RFC 3986 allows stays as it is
      {"http://a/!$&'()*+,;=:@-._~/?/?!$&'()*+,;=:@#/?#", "http://a/!$&'()*+,;=:@-._~/?/?!$&'()*+,;=:@#/?#"},
      // "[" and "]" are gen-delims that mean nothing here; kept, as browsers do
      {"http://a/[x]?a[]=1", "http://a/[x]?a[]=1"},
  };
  for (const auto& [input, expected] : kCases) EXPECT_EQ(parsed(input).str(), expected) << input;
}

TEST(UrlParse, KeepsABackslashInThePathAsData) {
  // Not a path separator (WHATWG URL would make it one).
  const Url u = parsed("http://a/b\\..\\c");
  EXPECT_EQ(u.path(), "/b%5C..%5Cc");
}

TEST(UrlParse, RejectsControlCharactersAnywhere) {
  for (const std::string_view input : {
           "http://a/b\nc",
           "http://a/b\rc",
           "http://a/?\t",
           "http://a/#\x7f",
           "http://a\x01/",
           "http://u\x1f@a/",
           " http://a/\n",
       }) {
    EXPECT_NE(error_of(input), "") << input;
  }
  EXPECT_EQ(error_of(std::string_view("http://a/\x00x", 11)),
            R"-(control character "\x00" in "http://a/\x00x")-");
  EXPECT_EQ(error_of("http://a/\r\nHost: evil"), R"-(control character "\r" in "http://a/\r\nHost: evil")-");
}

TEST(UrlParse, RejectsMalformedPercentEncoding) {
  EXPECT_EQ(error_of("http://a/%zz"), R"-(invalid percent-encoding "%zz" in path of "http://a/%zz")-");
  EXPECT_EQ(error_of("http://a/%"), R"-(invalid percent-encoding "%" in path of "http://a/%")-");
  EXPECT_EQ(error_of("http://a/%4"), R"-(invalid percent-encoding "%4" in path of "http://a/%4")-");
  EXPECT_EQ(error_of("http://a/%4g"), R"-(invalid percent-encoding "%4g" in path of "http://a/%4g")-");
  EXPECT_EQ(error_of("http://a/?%x1"), R"-(invalid percent-encoding "%x1" in query of "http://a/?%x1")-");
  EXPECT_EQ(error_of("http://a/#100%"), R"-(invalid percent-encoding "%" in fragment of "http://a/#100%")-");
  EXPECT_EQ(error_of("http://u%g@a/"), R"-(invalid percent-encoding "%g" in userinfo of "http://u%g@a/")-");
  EXPECT_EQ(error_of("http://u:%@a/"),
            R"-(invalid percent-encoding "%" in userinfo of "http://u:xxxxx@a/")-");
  EXPECT_EQ(error_of("http://a%2/"), R"-(invalid percent-encoding "%2" in host of "http://a%2/")-");
}

TEST(UrlParse, RejectsUnsupportedSchemes) {
  EXPECT_EQ(error_of("ftp://x/"), R"-(unsupported scheme "ftp" in "ftp://x/")-");
  EXPECT_EQ(error_of("FILE:///etc/passwd"), R"-(unsupported scheme "FILE" in "FILE:///etc/passwd")-");
  EXPECT_EQ(error_of("ws://a/"), R"-(unsupported scheme "ws" in "ws://a/")-");
  EXPECT_EQ(error_of("httpx://a/"), R"-(unsupported scheme "httpx" in "httpx://a/")-");
  EXPECT_EQ(error_of("javascript:alert(1)"), R"-(unsupported scheme "javascript" in "javascript:alert(1)")-");
  // a host:port without scheme reads as scheme "localhost" (RFC 3986 §4.2)
  EXPECT_EQ(error_of("localhost:8080/x"), R"-(unsupported scheme "localhost" in "localhost:8080/x")-");
}

TEST(UrlParse, RejectsARelativeReference) {
  EXPECT_EQ(error_of("/a/b"), R"-(not an absolute URL (no scheme) in "/a/b")-");
  EXPECT_EQ(error_of("//a/b"), R"-(not an absolute URL (no scheme) in "//a/b")-");
  EXPECT_EQ(error_of("www.example.com"), R"-(not an absolute URL (no scheme) in "www.example.com")-");
  EXPECT_EQ(error_of(""), R"-(not an absolute URL (no scheme) in "")-");
  EXPECT_EQ(error_of("1http://a/"), R"-(not an absolute URL (no scheme) in "1http://a/")-");
}

TEST(UrlParse, RejectsAMissingHost) {
  EXPECT_EQ(error_of("http:///x"), R"-(missing host in "http:///x")-");
  EXPECT_EQ(error_of("http://"), R"-(missing host in "http://")-");
  EXPECT_EQ(error_of("http://:80/"), R"-(missing host in "http://:80/")-");
  EXPECT_EQ(error_of("http://user@/"), R"-(missing host in "http://user@/")-");
  EXPECT_EQ(error_of("http:/x"), R"-(missing host in "http:/x")-");
  EXPECT_EQ(error_of("http:x"), R"-(missing host in "http:x")-");
  EXPECT_EQ(error_of("http:"), R"-(missing host in "http:")-");
  EXPECT_EQ(error_of("http://?x"), R"-(missing host in "http://?x")-");
}

TEST(UrlParse, AcceptsPortsFromOneTo65535) {
  EXPECT_EQ(parsed("http://a:1/").port(), 1);
  EXPECT_EQ(parsed("http://a:65535/").port(), 65535);
  EXPECT_EQ(parsed("http://a:8080").str(), "http://a:8080/");
  EXPECT_EQ(parsed("http://a:00001/").port(), 1);
}

TEST(UrlParse, GivesTheDefaultPortForAnEmptyPort) {
  const Url u = parsed("https://a:/x");
  EXPECT_EQ(u.port(), 443);
  EXPECT_TRUE(u.has_default_port());
  EXPECT_EQ(u.str(), "https://a/x");
}

TEST(UrlParse, RejectsPortsOutOfRange) {
  EXPECT_EQ(error_of("http://a:0/"), R"-(port "0" out of range in "http://a:0/")-");
  EXPECT_EQ(error_of("http://a:65536/"), R"-(port "65536" out of range in "http://a:65536/")-");
  EXPECT_EQ(error_of("http://a:70000/"), R"-(port "70000" out of range in "http://a:70000/")-");
  // would wrap around to 80 in 32 bits
  EXPECT_EQ(error_of("http://a:4294967376/"),
            R"-(port "4294967376" out of range in "http://a:4294967376/")-");
  EXPECT_NE(error_of("http://a:99999999999999999999999/"), "");
}

TEST(UrlParse, RejectsPortsThatAreNotDigits) {
  EXPECT_EQ(error_of("http://a:8a/"), R"-(invalid port "8a" in "http://a:8a/")-");
  EXPECT_EQ(error_of("http://a:-1/"), R"-(invalid port "-1" in "http://a:-1/")-");
  EXPECT_EQ(error_of("http://a:+80/"), R"-(invalid port "+80" in "http://a:+80/")-");
  EXPECT_EQ(error_of("http://a: 80/"), R"-(invalid port " 80" in "http://a: 80/")-");
  EXPECT_EQ(error_of("http://a:0x50/"), R"-(invalid port "0x50" in "http://a:0x50/")-");
  EXPECT_EQ(error_of("http://a:80:80/"), R"-(invalid port "80:80" in "http://a:80:80/")-");
  EXPECT_EQ(error_of("http://[::1]:x/"), R"-(invalid port "x" in "http://[::1]:x/")-");
}

TEST(UrlParse, DecodesUserinfo) {
  const Url u = parsed("http://us%65r%20name:p%40ss%3Aword@a/");
  EXPECT_TRUE(u.has_userinfo());
  EXPECT_EQ(u.username(), "user name");
  EXPECT_EQ(u.password(), "p@ss:word");
  EXPECT_EQ(u.str(), "http://user%20name:p%40ss:word@a/");
}

TEST(UrlParse, AcceptsAUserWithoutPassword) {
  const Url u = parsed("http://user@a/");
  EXPECT_TRUE(u.has_userinfo());
  EXPECT_EQ(u.username(), "user");
  EXPECT_EQ(u.password(), "");
  EXPECT_EQ(u.str(), "http://user@a/");
}

TEST(UrlParse, AcceptsAnEmptyUserinfo) {
  const Url u = parsed("http://@a/");
  EXPECT_TRUE(u.has_userinfo());
  EXPECT_EQ(u.username(), "");
  EXPECT_EQ(u.str(), "http://@a/");
  EXPECT_EQ(parsed("http://:pw@a/").password(), "pw");
  EXPECT_EQ(parsed("http://:pw@a/").str(), "http://:pw@a/");
}

TEST(UrlParse, EndsTheUserinfoAtTheLastAt) {
  // "@" may not appear in userinfo (§3.2.1) but people type it in passwords;
  // like Go and browsers the last "@" ends the userinfo.
  const Url u = parsed("http://me@example.com:p@ss@a/");
  EXPECT_EQ(u.username(), "me@example.com");
  EXPECT_EQ(u.password(), "p@ss");
  EXPECT_EQ(u.host(), "a");
  EXPECT_EQ(u.str(), "http://me%40example.com:p%40ss@a/");
}

TEST(UrlParse, SplitsUserFromPasswordAtTheFirstColon) {
  const Url u = parsed("http://u:p:q@a/");
  EXPECT_EQ(u.username(), "u");
  EXPECT_EQ(u.password(), "p:q");
  EXPECT_EQ(u.str(), "http://u:p:q@a/");
  EXPECT_EQ(parsed("http://u%3Av:w@a/").username(), "u:v");
  EXPECT_EQ(parsed("http://u%3Av:w@a/").str(), "http://u%3Av:w@a/");
}

TEST(UrlParse, EncodesUserinfoCharactersThatNeedIt) {
  // Raw space, UTF-8 and other bytes RFC 3986 does not allow are accepted
  // (decoded, they are just bytes) and encoded when written.
  const Url u = parsed("http://a b:\xc3\xa9\"<>[]^@h/");
  EXPECT_EQ(u.username(), "a b");
  EXPECT_EQ(u.password(), "\xc3\xa9\"<>[]^");
  EXPECT_EQ(u.host(), "h");
  EXPECT_EQ(u.str(), "http://a%20b:%C3%A9%22%3C%3E%5B%5D%5E@h/");
  // sub-delims stay as they are
  EXPECT_EQ(parsed("http://!$&'()*+,;=:!$&'()*+,;=@h/").str(), "http://!$&'()*+,;=:!$&'()*+,;=@h/");
}

TEST(UrlParse, RejectsABackslashInTheAuthority) {
  EXPECT_EQ(error_of("http://evil\\@good/"), R"-(backslash in authority in "http://evil\\@good/")-");
  EXPECT_EQ(error_of("http://a\\b/"), R"-(backslash in authority in "http://a\\b/")-");
  EXPECT_EQ(error_of("http://a:80\\/"), R"-(backslash in authority in "http://a:80\\/")-");
}

TEST(UrlParse, QuotesATruncatedFormOfVeryLongInput) {
  const std::string input = "ftp://" + std::string(200, 'a') + "/";
  EXPECT_EQ(error_of(input), "unsupported scheme \"ftp\" in \"ftp://" + std::string(94, 'a') + "\"...");
}

TEST(UrlParse, EscapesNonAsciiAndQuotesInMessages) {
  EXPECT_EQ(error_of("http://a/\xc3\xa9\"%"),
            R"-(invalid percent-encoding "%" in path of "http://a/\xc3\xa9\"%")-");
}

TEST(UrlParse, KeepsPasswordsOutOfErrorMessages) {
  EXPECT_EQ(error_of("http://u:secret@a/%zz"),
            R"-(invalid percent-encoding "%zz" in path of "http://u:xxxxx@a/%zz")-");
  EXPECT_EQ(error_of("http://u:se:cr@et@a:0/"), R"-(port "0" out of range in "http://u:xxxxx@a:0/")-");
  EXPECT_EQ(error_of("ftp://u:secret@a/"), R"-(unsupported scheme "ftp" in "ftp://u:xxxxx@a/")-");
  // nothing to redact
  EXPECT_EQ(error_of("http://u:@a:0/"), R"-(port "0" out of range in "http://u:@a:0/")-");
  EXPECT_EQ(error_of("http://u@a:0/"), R"-(port "0" out of range in "http://u@a:0/")-");
  EXPECT_EQ(error_of("http://a:0/@x"), R"-(port "0" out of range in "http://a:0/@x")-");
  EXPECT_EQ(error_of("http://@a:0/"), R"-(port "0" out of range in "http://@a:0/")-");
  // the base's password reaches a resolved target, but not the message
  const auto resolved = Url::parse("http://u:secret@a/")->resolve("%zz");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().message(),
            R"-(invalid percent-encoding "%zz" in path of "http://u:xxxxx@a/%zz")-");
}

TEST(UrlAccessors, GiveAuthorityWithThePortOnlyWhenNotDefault) {
  EXPECT_EQ(parsed("http://a/").authority(), "a");
  EXPECT_EQ(parsed("http://a:8080/").authority(), "a:8080");
  EXPECT_EQ(parsed("https://a:443/").authority(), "a");
  EXPECT_EQ(parsed("https://a:80/").authority(), "a:80");
  EXPECT_EQ(parsed("http://[::1]/").authority(), "[::1]");
  EXPECT_EQ(parsed("http://[::1]:81/").authority(), "[::1]:81");
  EXPECT_EQ(parsed("http://u:p@a/").authority(), "a");
}

TEST(UrlAccessors, GiveHostPortAlwaysWithThePort) {
  EXPECT_EQ(parsed("http://a/").host_port(), "a:80");
  EXPECT_EQ(parsed("https://a/").host_port(), "a:443");
  EXPECT_EQ(parsed("http://a:8080/").host_port(), "a:8080");
  EXPECT_EQ(parsed("https://[2001:DB8::1]/").host_port(), "[2001:db8::1]:443");
  EXPECT_EQ(parsed("http://1.2.3.4:5/").host_port(), "1.2.3.4:5");
}

TEST(UrlAccessors, GiveHostnameWithoutBrackets) {
  EXPECT_EQ(parsed("http://[::1]/").hostname(), "::1");
  EXPECT_EQ(parsed("http://[::1]/").host(), "[::1]");
  EXPECT_TRUE(parsed("http://[::1]/").is_ipv6());
  EXPECT_EQ(parsed("http://1.2.3.4/").hostname(), "1.2.3.4");
  EXPECT_FALSE(parsed("http://1.2.3.4/").is_ipv6());
}

TEST(UrlAccessors, GiveARequestTargetWithoutTheFragment) {
  constexpr Normalisation kCases[] = {
      {"http://a", "/"},      {"http://a/b/c?d=e#f", "/b/c?d=e"}, {"http://a/#f", "/"},
      {"http://a/?#f", "/?"}, {"http://a/x#f?g", "/x"},           {"http://u:p@a:81/x y?z", "/x%20y?z"},
  };
  for (const auto& [input, expected] : kCases) EXPECT_EQ(parsed(input).request_target(), expected) << input;
}

TEST(UrlAccessors, KeepTheFragmentInStr) {
  const Url u = parsed("http://a/b#c d");
  EXPECT_EQ(u.fragment(), "c%20d");
  EXPECT_EQ(u.str(), "http://a/b#c%20d");
  EXPECT_EQ(u.request_target(), "/b");
}

TEST(UrlAccessors, RedactThePasswordOnly) {
  EXPECT_EQ(parsed("https://user:secret@a:8443/p?q#f").redacted(), "https://user:xxxxx@a:8443/p?q#f");
  EXPECT_EQ(parsed("http://user:p%40ss@a/").redacted(), "http://user:xxxxx@a/");
  EXPECT_EQ(parsed("http://:secret@a/").redacted(), "http://:xxxxx@a/");
}

TEST(UrlAccessors, RedactNothingWithoutAPassword) {
  EXPECT_EQ(parsed("http://user@a/").redacted(), "http://user@a/");
  EXPECT_EQ(parsed("http://a/").redacted(), "http://a/");
  EXPECT_EQ(parsed("http://user:@a/").redacted(), "http://user@a/");
}

// Input echoed in logs keeps its spelling, parsed or not; only the password goes.
TEST(RedactUrlText, ReplacesThePasswordAndKeepsEveryOtherByte) {
  EXPECT_EQ(redact_url_text("HTTP://User:secret@A:80/%7e/./x"), "HTTP://User:xxxxx@A:80/%7e/./x");
  EXPECT_EQ(redact_url_text("http://u:p@ss@h/"), "http://u:xxxxx@h/");
  EXPECT_EQ(redact_url_text("http://u:secret@bad host/ x"), "http://u:xxxxx@bad host/ x");
  EXPECT_EQ(redact_url_text("http://:secret@h"), "http://:xxxxx@h");
  EXPECT_EQ(redact_url_text("http://u:secret@[::1]:8080/"), "http://u:xxxxx@[::1]:8080/");
  // A password holding what ends an authority, or a URL without "//": neither
  // parses, and neither may leak.
  EXPECT_EQ(redact_url_text("http://user:s3/cretPW@127.0.0.1:1/"), "http://user:xxxxx@127.0.0.1:1/");
  EXPECT_EQ(redact_url_text("http://user:s?3#cret@h/p"), "http://user:xxxxx@h/p");
  EXPECT_EQ(redact_url_text("user:s3cretPW@127.0.0.1:1/"), "user:xxxxx@127.0.0.1:1/");
  // '@' and ':' elsewhere than in a userinfo stay.
  for (std::string_view same :
       {"http://h/", "http://user@h/", "http://user:@h/", "http://@h/", "h:80", "", "://",
        "http://h:80/users/@me", "http://h:/a@b", "http://h/a:b@c", "http://[::1]/a@b", "http://[::1]:80/a@b",
        "localhost:8080/x@y", "http://h/path?next=http://u:secret@x"})
    EXPECT_EQ(redact_url_text(same), same);
}

TEST(UrlAccessors, CompareEqualAfterNormalisation) {
  EXPECT_EQ(parsed("HTTP://A:80/%7e/./x"), parsed("http://a/~/x"));
  EXPECT_NE(parsed("http://a/x"), parsed("http://a/x?"));
  EXPECT_NE(parsed("http://a/x"), parsed("http://a/x#"));
  EXPECT_NE(parsed("http://a/x"), parsed("https://a:80/x"));
  EXPECT_NE(parsed("http://a/x"), parsed("http://@a/x"));
}

TEST(UrlParse, IsIdempotent) {
  for (const std::string_view input : {
           "HTTP://u%41:p%3a%40@[0:0::1]:0080/%7e/a/../b c/%2f?q %41#f",
           "https://\xc3\xa9:\xc3\xa9@a.b.c./%c3%a9?%c3%a9#%c3%a9",
           "http://a//..//./b/",
           "http://a/%2E%2E%2F",
           "http://[::ffff:1.2.3.4]:1/",
       }) {
    const auto first = Url::parse(input);
    ASSERT_TRUE(first.ok()) << input;
    const Url again = parsed(first->str());
    EXPECT_EQ(again, *first) << input;
    EXPECT_EQ(again.str(), first->str()) << input;
  }
}

}  // namespace
}  // namespace nethttp
