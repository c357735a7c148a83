// Set-Cookie parsing (RFC 6265 §5.2), the cookie-date algorithm (§5.1.1),
// the domain and path rules (§5.1.3, §5.1.4) and the Netscape file lines.
#include "client/cookie_parse.h"

#include <chrono>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "client/cookie_domain.h"
#include "client/cookie_file.h"

namespace nethttp::cookie {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

TEST(CookieDate, ParsesTheCommonFormats) {
  struct Case {
    const char* text;
    sys_seconds want;
  };
  const Case cases[] = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", utc(1994, 11, 6, 8, 49, 37)},   // IMF-fixdate
      {"Sunday, 06-Nov-94 08:49:37 GMT", utc(1994, 11, 6, 8, 49, 37)},  // RFC 850
      {"Sun Nov  6 08:49:37 1994", utc(1994, 11, 6, 8, 49, 37)},        // asctime
      {"Wed, 09 Jun 2021 10:18:14 GMT", utc(2021, 6, 9, 10, 18, 14)},
      {"09 jun 21 1:2:3", utc(2021, 6, 9, 1, 2, 3)},        // 0-69 is 20xx
      {"1 JANUARY 70 00:00:00", utc(1970, 1, 1, 0, 0, 0)},  // 70-99 is 19xx
      {"Thu, 01-Jan-1970 00:00:01 GMT", utc(1970, 1, 1, 0, 0, 1)},
      {"29 Feb 2024 23:59:59", utc(2024, 2, 29, 23, 59, 59)},
      {"1 Jan 1601 00:00:00", utc(1601, 1, 1, 0, 0, 0)},
  };
  for (const Case& c : cases) {
    const auto got = parse_cookie_date(c.text);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(CookieDate, RejectsMissingOrOutOfRangeParts) {
  for (const char* text : {
           "",
           "Sun, 06 Nov 1994",       // no time
           "06 Nov 08:49:37",        // no year
           "Nov 1994 08:49:37",      // no day (1994 is too long for a day)
           "06 1994 08:49:37",       // no month
           "32 Nov 1994 08:49:37",   // day > 31
           "0 Nov 1994 08:49:37",    // day < 1
           "06 Nov 1600 08:49:37",   // year < 1601
           "06 Nov 1994 24:00:00",   // hour > 23
           "06 Nov 1994 08:60:00",   // minute > 59
           "06 Nov 1994 08:00:60",   // second > 59
           "30 Feb 2023 08:00:00",   // no such day
           "29 Feb 2023 08:00:00",   // not a leap year
           "06 Nov 19941 08:49:37",  // five-digit year
           "06 Nov 1994 008:49:37",  // three-digit hour
       }) {
    EXPECT_FALSE(parse_cookie_date(text).has_value()) << text;
  }
}

TEST(CookieParse, ReadsNameValueAndEveryAttribute) {
  const auto c = parse_set_cookie(
      " sid = abc ; Expires=Wed, 09 Jun 2021 10:18:14 GMT; MAX-AGE=60; domain=.Example.COM; path=/docs; "
      "SECURE; httponly; SameSite=Strict; Unknown=1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "sid");
  EXPECT_EQ(c->value, "abc");
  EXPECT_EQ(c->expires, utc(2021, 6, 9, 10, 18, 14));
  EXPECT_EQ(c->max_age, 60);
  EXPECT_EQ(c->domain, "example.com");
  EXPECT_EQ(c->path, "/docs");
  EXPECT_TRUE(c->secure);
  EXPECT_TRUE(c->http_only);
  EXPECT_EQ(c->same_site, Cookie::SameSite::strict);
}

TEST(CookieParse, KeepsQuotesAndEqualsSignsInTheValue) {
  const auto c = parse_set_cookie("a=\"quoted value\"; b=c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->value, "\"quoted value\"");
  const auto d = parse_set_cookie("a=b=c");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->name, "a");
  EXPECT_EQ(d->value, "b=c");
  const auto e = parse_set_cookie("a=");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->value, "");
}

TEST(CookieParse, IgnoresCookiesWithoutEqualsOrName) {
  for (const char* text :
       {"", "novalue", "novalue; Path=/", "=value", " =value", ";a=b", "a\x01=b", "a=b\x7f", "a=b\nc"}) {
    EXPECT_FALSE(parse_set_cookie(text).has_value()) << text;
  }
}

TEST(CookieParse, IgnoresCookiesOverFourKilobytes) {
  EXPECT_TRUE(parse_set_cookie("n=" + std::string(4095, 'v')).has_value());
  EXPECT_FALSE(parse_set_cookie("n=" + std::string(4096, 'v')).has_value());
}

TEST(CookieParse, IgnoresMalformedAttributesAndKeepsTheLastOfEachName) {
  const auto c = parse_set_cookie("a=b; Max-Age=12x; Expires=never; Domain=; Path=relative; SameSite=bogus");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->max_age);
  EXPECT_FALSE(c->expires);
  EXPECT_FALSE(c->domain);
  EXPECT_FALSE(c->path);
  EXPECT_EQ(c->same_site, Cookie::SameSite::unset);

  const auto d = parse_set_cookie("a=b; Path=/one; Path=/two; Max-Age=5; Max-Age=-1; SameSite=Lax");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->path, "/two");
  EXPECT_EQ(d->max_age, -1);
  EXPECT_EQ(d->same_site, Cookie::SameSite::lax);
}

// Found by fuzz/cookie (corpus file domain-leading-dots): "Domain=..x" kept
// ".x", a domain no host can have.
TEST(CookieParse, IgnoresADomainThatIsOnlyADotOrStartsWithTwo) {
  for (const char* text : {"a=b; Domain=.", "a=b; Domain=..example.com", "a=b; Domain=. "}) {
    const auto c = parse_set_cookie(text);
    ASSERT_TRUE(c) << text;
    EXPECT_FALSE(c->domain) << text;
  }
  const auto kept = parse_set_cookie("a=b; Domain=example.com; Domain=..evil.com");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->domain, "example.com") << "an ignored Domain leaves the earlier one";
  EXPECT_EQ(parse_set_cookie("a=b; Domain=.Example.com")->domain, "example.com");
}

TEST(CookieParse, SaturatesHugeMaxAge) {
  const auto c = parse_set_cookie("a=b; Max-Age=99999999999999999999999999");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->max_age, std::numeric_limits<std::int64_t>::max());
}

TEST(CookieDomain, DomainMatchesItselfAndParentsButNotIpAddresses) {
  struct Case {
    const char* host;
    const char* domain;
    bool want;
  };
  const Case cases[] = {
      {"example.com", "example.com", true},
      {"www.example.com", "example.com", true},
      {"a.b.example.com", "example.com", true},
      {"badexample.com", "example.com", false},
      {"example.com", "www.example.com", false},
      {"192.168.0.1", "192.168.0.1", true},
      {"10.192.168.0.1", "192.168.0.1", false},
      {"example.com", "", false},
      {"::1", "::1", true},
  };
  for (const Case& c : cases)
    EXPECT_EQ(domain_match(c.host, c.domain), c.want) << c.host << " / " << c.domain;
}

TEST(CookieDomain, DefaultPathIsTheDirectoryOfTheRequestPath) {
  EXPECT_EQ(default_path(""), "/");
  EXPECT_EQ(default_path("/"), "/");
  EXPECT_EQ(default_path("/file"), "/");
  EXPECT_EQ(default_path("/dir/"), "/dir");
  EXPECT_EQ(default_path("/dir/file"), "/dir");
  EXPECT_EQ(default_path("/a/b/c"), "/a/b");
}

TEST(CookieDomain, PathMatchesOnSegmentBoundaries) {
  struct Case {
    const char* request;
    const char* cookie;
    bool want;
  };
  const Case cases[] = {
      {"/", "/", true},           {"/docs", "/docs", true},    {"/docs/", "/docs", true},
      {"/docs/a", "/docs", true}, {"/docs/a", "/docs/", true}, {"/docsx", "/docs", false},
      {"/doc", "/docs", false},   {"/anything", "/", true},    {"/Docs", "/docs", false},
  };
  for (const Case& c : cases)
    EXPECT_EQ(path_match(c.request, c.cookie), c.want) << c.request << " / " << c.cookie;
}

TEST(CookieDomain, PublicSuffixesComeFromThePublicSuffixList) {
  EXPECT_TRUE(is_public_suffix("com", true));
  EXPECT_TRUE(is_public_suffix("co.uk", true));
  EXPECT_TRUE(is_public_suffix("github.io", true));
  EXPECT_FALSE(is_public_suffix("example.co.uk", true));
  EXPECT_FALSE(is_public_suffix("user.github.io", true));
  EXPECT_TRUE(is_public_suffix("com", false));
  EXPECT_FALSE(is_public_suffix("co.uk", false));
  EXPECT_EQ(registrable_domain("a.b.example.co.uk", true), "example.co.uk");
  EXPECT_EQ(registrable_domain("a.b.example.co.uk", false), "a.b.example.co.uk");
}

TEST(CookieFile, FormatsAndParsesNetscapeLines) {
  const auto now = system_clock::time_point(seconds(1'700'000'000));
  Cookie c;
  c.name = "n";
  c.value = "v w";
  c.domain = "example.com";
  c.path = "/p";
  c.host_only = false;
  c.secure = true;
  c.http_only = true;
  c.expires = now + hours(1);
  const std::string line = format_netscape_line(c);
  EXPECT_EQ(line, "#HttpOnly_.example.com\tTRUE\t/p\tTRUE\t1700003600\tn\tv w");
  const auto back = parse_netscape_line(line, now);
  ASSERT_TRUE(back);
  c.created = c.last_access = now;
  EXPECT_EQ(*back, c);

  EXPECT_FALSE(parse_netscape_line("# a comment", now));
  EXPECT_FALSE(parse_netscape_line("", now));
  EXPECT_FALSE(parse_netscape_line("example.com\tFALSE\t/\tFALSE\tsoon\tn\tv", now));
  EXPECT_FALSE(parse_netscape_line("example.com\tFALSE\t/", now));
  const auto session = parse_netscape_line("Example.com\tFALSE\t/\tFALSE\t0\tn\tv\r", now);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->domain, "example.com");
  EXPECT_TRUE(session->host_only);
  EXPECT_FALSE(session->expires);
  EXPECT_EQ(session->value, "v");
}

}  // namespace
}  // namespace nethttp::cookie
