// Hosts in Url::parse: reg-names, IPv4 and IPv6 literals (RFC 3986 §3.2.2).
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "nethttp/url.h"

namespace nethttp {
namespace {

struct HostCase {
  std::string_view url;
  std::string_view host;  ///< expected host(), or the expected error message
};

void expect_hosts(const HostCase* begin, const HostCase* end) {
  for (const HostCase* c = begin; c != end; ++c) {
    const auto u = Url::parse(c->url);
    ASSERT_TRUE(u.ok()) << c->url << ": " << u.error().message();
    EXPECT_EQ(u->host(), c->host) << c->url;
  }
}

void expect_errors(const HostCase* begin, const HostCase* end) {
  for (const HostCase* c = begin; c != end; ++c) {
    const auto u = Url::parse(c->url);
    ASSERT_FALSE(u.ok()) << c->url << " parsed as host " << u->host();
    EXPECT_EQ(u.error().kind(), ErrorKind::bad_url) << c->url;
    EXPECT_EQ(u.error().message(), c->host) << c->url;
  }
}

TEST(UrlHost, LowerCasesARegName) {
  constexpr HostCase kCases[] = {
      {"http://WWW.Example.COM/", "www.example.com"},
      {"http://xn--BCHER-KVA.example/", "xn--bcher-kva.example"},
      {"http://a-b_c~d.e/", "a-b_c~d.e"},
      {"http://localhost/", "localhost"},
      {"http://example.com./", "example.com."},
      {"http://a.b.c.d.e/", "a.b.c.d.e"},
      // sub-delims are allowed in a reg-name
      {"http://a!$&'()*+,;=b/", "a!$&'()*+,;=b"},
      // labels that merely start with digits are names
      {"http://1.2.3.4a/", "1.2.3.4a"},
      {"http://123.example/", "123.example"},
      {"http://0a/", "0a"},
      {"http://x0x10/", "x0x10"},
  };
  expect_hosts(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, DecodesPercentEncodedUnreservedCharactersInARegName) {
  constexpr HostCase kCases[] = {
      {"http://%41%62c/", "abc"},
      {"http://a%2Eb/", "a.b"},
      {"http://%31.2.3.4/", "1.2.3.4"},
  };
  expect_hosts(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, RejectsOtherPercentEncodingInARegName) {
  constexpr HostCase kCases[] = {
      {"http://a%2Fb/", R"-(percent-encoded byte "%2F" not allowed in host of "http://a%2Fb/")-"},
      {"http://a%00b/", R"-(percent-encoded byte "%00" not allowed in host of "http://a%00b/")-"},
      {"http://b%C3%BCcher.example/",
       R"-(percent-encoded byte "%C3" not allowed in host of "http://b%C3%BCcher.example/")-"},
      {"http://a%zz/", R"-(invalid percent-encoding "%zz" in host of "http://a%zz/")-"},
  };
  expect_errors(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, RejectsCharactersNotAllowedInARegName) {
  constexpr HostCase kCases[] = {
      {"http://a b/", R"-(invalid character " " in host of "http://a b/")-"},
      {"http://b\xc3\xbc"
       "cher/",
       R"-(invalid character "\xc3" in host of "http://b\xc3\xbccher/")-"},
      {"http://a<b/", R"-(invalid character "<" in host of "http://a<b/")-"},
      {"http://a\"b/", R"-(invalid character "\"" in host of "http://a\"b/")-"},
      {"http://a]b/", R"-(invalid character "]" in host of "http://a]b/")-"},
      {"http://a{b}/", R"-(invalid character "{" in host of "http://a{b}/")-"},
      {"http://a|b/", R"-(invalid character "|" in host of "http://a|b/")-"},
      {"http://::1/", R"-(missing host in "http://::1/")-"},
  };
  expect_errors(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, AcceptsDottedDecimalIpv4) {
  constexpr HostCase kCases[] = {
      {"http://1.2.3.4/", "1.2.3.4"},
      {"http://0.0.0.0/", "0.0.0.0"},
      {"http://255.255.255.255/", "255.255.255.255"},
      {"http://127.0.0.1:8080/", "127.0.0.1"},
      {"http://10.0.100.250/", "10.0.100.250"},
  };
  expect_hosts(std::begin(kCases), std::end(kCases));
}

// inet_aton() reads all of these as addresses: octal, hex, short and integer
// forms. A filter that sees a name while the resolver sees 127.0.0.1 is an
// SSRF bypass, so they are rejected rather than guessed.
TEST(UrlHost, RejectsAmbiguousNumericHosts) {
  constexpr std::string_view kHosts[] = {
      "01.2.3.4",   "1.2.3.04",    "1.2.3",        "1.2",       "2130706433",  "0x7f.0.0.1",
      "0X7F.0.0.1", "127.0.0.0x1", "256.1.1.1",    "1.2.3.256", "1.2.3.4.5",   "1..2.3",
      "0x",         "0",           "017700000001", "1.2.3.4.",  "example.123", "a.0x10",
      "1.2.3.0000", "00.0.0.0",    "%30x7f.1",     "0xzz",
  };
  for (const std::string_view host : kHosts) {
    const std::string url = "http://" + std::string(host) + "/";
    const auto u = Url::parse(url);
    ASSERT_FALSE(u.ok()) << url << " parsed as host " << u->host();
    EXPECT_EQ(u.error().kind(), ErrorKind::bad_url);
    EXPECT_NE(u.error().message().find("ambiguous numeric host"), std::string::npos) << u.error().message();
  }
  EXPECT_EQ(
      Url::parse("http://0x7f.0.0.1/").error().message(),
      R"-(ambiguous numeric host "0x7f.0.0.1" (not a dotted-decimal IPv4 address) in "http://0x7f.0.0.1/")-");
}

TEST(UrlHost, NormalisesIpv6ToRfc5952Form) {
  constexpr HostCase kCases[] = {
      {"http://[::1]/", "[::1]"},
      {"http://[::]/", "[::]"},
      {"http://[2001:DB8:0:0:0:0:0:1]/", "[2001:db8::1]"},
      {"http://[2001:db8::0:1]/", "[2001:db8::1]"},
      {"http://[2001:0db8:0000:0000:0000:0000:0000:0001]/", "[2001:db8::1]"},
      {"http://[0:0:0:0:0:0:0:1]/", "[::1]"},
      {"http://[0:0:0:0:0:0:0:0]/", "[::]"},
      {"http://[1::]/", "[1::]"},
      {"http://[1:0:0:0:0:0:0:0]/", "[1::]"},
      // §4.2.2: a single zero group is not shortened
      {"http://[2001:db8:0:1:1:1:1:1]/", "[2001:db8:0:1:1:1:1:1]"},
      {"http://[2001:db8::1:1:1:1:1]/", "[2001:db8:0:1:1:1:1:1]"},
      // §4.2.3: the longest run, the first of equal runs
      {"http://[2001:0:0:1:0:0:0:1]/", "[2001:0:0:1::1]"},
      {"http://[2001:db8:0:0:1:0:0:1]/", "[2001:db8::1:0:0:1]"},
      {"http://[1:0:0:2:0:0:3:4]/", "[1::2:0:0:3:4]"},
      // §4.3: lower case; §4.1: no leading zeros
      {"http://[ABCD:EF01:0023:0456:7890:ABCD:EF01:2345]/", "[abcd:ef01:23:456:7890:abcd:ef01:2345]"},
      {"http://[fe80::0001]:8080/", "[fe80::1]"},
      // embedded IPv4 (RFC 4291 §2.2 item 3); §5: mapped addresses keep it
      {"http://[::ffff:1.2.3.4]/", "[::ffff:1.2.3.4]"},
      {"http://[::FFFF:0102:0304]/", "[::ffff:1.2.3.4]"},
      {"http://[0:0:0:0:0:ffff:192.0.2.1]/", "[::ffff:192.0.2.1]"},
      {"http://[::1.2.3.4]/", "[::102:304]"},
      {"http://[64:ff9b::192.0.2.33]/", "[64:ff9b::c000:221]"},
      {"http://[1:2:3:4:5:6:1.2.3.4]/", "[1:2:3:4:5:6:102:304]"},
      {"http://[1:2:3:4:5:6:7:8]/", "[1:2:3:4:5:6:7:8]"},
      {"http://[1:2:3:4:5:6:7::]/", "[1:2:3:4:5:6:7:0]"},
      {"http://[::2:3:4:5:6:7:8]/", "[0:2:3:4:5:6:7:8]"},
  };
  expect_hosts(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, RejectsInvalidIpv6) {
  constexpr std::string_view kLiterals[] = {
      "[1::2::3]",
      "[12345::]",
      "[::g]",
      "[1:2:3:4:5:6:7:8:9]",
      "[1:2:3:4:5:6:7]",
      "[1:2:3:4:5:6:7:8::]",
      "[::1:2:3:4:5:6:7:8]",
      "[:1::]",
      "[1::2:]",
      "[:::]",
      "[1:::2]",
      "[]",
      "[1]",
      "[1.2.3.4]",
      "[::1.2.3]",
      "[::1.2.3.04]",
      "[::256.1.1.1]",
      "[1:2:3:4:5:6:7:1.2.3.4]",
      "[::1.2.3.4:5]",
      "[::1.2.3.4.5]",
      "[ ::1]",
      "[::1 ]",
      "[:]",
      "[0x1::]",
      "[::-1]",
      "[1:2:3:4:5:6:7:8:]",
  };
  for (const std::string_view literal : kLiterals) {
    const std::string url = "http://" + std::string(literal) + "/";
    const auto u = Url::parse(url);
    ASSERT_FALSE(u.ok()) << url << " parsed as host " << u->host();
    EXPECT_EQ(u.error().message(),
              "invalid IPv6 address \"" + std::string(literal) + "\" in \"" + url + "\"");
  }
}

TEST(UrlHost, RejectsAnUnterminatedIpv6Literal) {
  constexpr HostCase kCases[] = {
      {"http://[::1/", R"-(unterminated IPv6 address "[::1" in "http://[::1/")-"},
      {"http://[::1", R"-(unterminated IPv6 address "[::1" in "http://[::1")-"},
      {"http://[::1]x/", R"-(unexpected "x" after IPv6 address in "http://[::1]x/")-"},
      {"http://[::1]]/", R"-(unexpected "]" after IPv6 address in "http://[::1]]/")-"},
      {"http://[::1][::2]/", R"-(unexpected "[::2]" after IPv6 address in "http://[::1][::2]/")-"},
      {"http://x[::1]/", R"-(invalid character "[" in host of "http://x[::1]/")-"},
  };
  expect_errors(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, RejectsIpv6ZoneIdentifiers) {
  constexpr HostCase kCases[] = {
      {"http://[fe80::1%25eth0]/",
       R"-(IPv6 zone identifiers are not supported in "http://[fe80::1%25eth0]/")-"},
      {"http://[fe80::1%eth0]/", R"-(IPv6 zone identifiers are not supported in "http://[fe80::1%eth0]/")-"},
      {"http://[fe80::1%251]:80/",
       R"-(IPv6 zone identifiers are not supported in "http://[fe80::1%251]:80/")-"},
  };
  expect_errors(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, RejectsIpvFuture) {
  constexpr HostCase kCases[] = {
      {"http://[v1.x]/", R"-(IPvFuture address "[v1.x]" is not supported in "http://[v1.x]/")-"},
      {"http://[V7.abc:def]:80/",
       R"-(IPvFuture address "[V7.abc:def]" is not supported in "http://[V7.abc:def]:80/")-"},
  };
  expect_errors(std::begin(kCases), std::end(kCases));
}

TEST(UrlHost, KeepsBracketsAndCanonicalFormInStr) {
  const auto u = Url::parse("http://u@[2001:DB8::0001]:8080/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->str(), "http://u@[2001:db8::1]:8080/x");
  EXPECT_EQ(u->authority(), "[2001:db8::1]:8080");
}

}  // namespace
}  // namespace nethttp
