// Proxy selection (nethttp/proxy.h): Go's httpproxy rules, one table row
// per rule, then reading the environment.
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/proxy.h"
#include "nethttp/request.h"
#include "nethttp/url.h"
#include "support/scoped_env.h"

namespace nethttp {
namespace {

Url url(std::string_view text) {
  auto u = Url::parse(text);
  EXPECT_TRUE(u.ok()) << text;
  return u.ok() ? *std::move(u) : Url();
}

/// What proxy_for() chose, as text: the proxy URL, "direct", or "error: <message>".
std::string choice(const Result<std::optional<Url>>& r) {
  if (!r.ok()) return "error: " + r.error().message();
  return r->has_value() ? (*r)->str() : "direct";
}

struct Case {
  std::string_view rule;  ///< what the row shows
  std::string_view http_proxy;
  std::string_view https_proxy;
  std::string_view no_proxy;
  std::string_view url;
  std::string_view expected;  ///< a proxy URL as Url::str() writes it, or "direct"
};

constexpr std::string_view kHttp = "http://proxy:3128";
constexpr std::string_view kHttps = "http://sproxy:3129";
constexpr std::string_view kViaHttp = "http://proxy:3128/";
constexpr std::string_view kViaHttps = "http://sproxy:3129/";

void check(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    ProxyConfig config;
    config.http_proxy = c.http_proxy;
    config.https_proxy = c.https_proxy;
    config.no_proxy = c.no_proxy;
    EXPECT_EQ(choice(config.proxy_for(url(c.url))), c.expected)
        << c.rule << ": NO_PROXY=\"" << c.no_proxy << "\" url " << c.url;
  }
}

TEST(ProxyConfig, PicksTheProxyOfTheUrlsScheme) {
  check({
      {"http URL: HTTP_PROXY", kHttp, kHttps, "", "http://example.com/", kViaHttp},
      {"https URL: HTTPS_PROXY", kHttp, kHttps, "", "https://example.com/", kViaHttps},
      {"https URL without HTTPS_PROXY: direct (HTTP_PROXY is for http)", kHttp, "", "",
       "https://example.com/", "direct"},
      {"http URL without HTTP_PROXY: direct", "", kHttps, "", "http://example.com/", "direct"},
      {"nothing configured", "", "", "", "http://example.com/", "direct"},
      {"whitespace only is nothing", "  ", "", "", "http://example.com/", "direct"},
  });
}

TEST(ProxyConfig, ReadsProxyValuesAsGoDoes) {
  check({
      {"no scheme means http", "proxy.corp:8080", "", "", "http://example.com/", "http://proxy.corp:8080/"},
      {"no scheme, IP and port", "10.0.0.1:3128", "", "", "http://example.com/", "http://10.0.0.1:3128/"},
      {"no scheme, no port", "proxy.corp", "", "", "http://example.com/", "http://proxy.corp/"},
      {"no scheme, userinfo kept", "u:p@proxy.corp:8080", "", "", "http://example.com/",
       "http://u:p@proxy.corp:8080/"},
      {"https proxy", "", "https://proxy.corp", "", "https://example.com/", "https://proxy.corp/"},
      {"socks5 proxy", "socks5://127.0.0.2", "", "", "http://example.com/", "socks5://127.0.0.2/"},
      {"socks5h proxy with port", "", "SOCKS5H://Proxy:9050", "", "https://example.com/",
       "socks5h://proxy:9050/"},
      {"surrounding whitespace trimmed", " http://proxy:3128 ", "", "", "http://example.com/", kViaHttp},
  });
  ProxyConfig config;
  config.http_proxy = "socks5://proxy";
  const auto r = config.proxy_for(url("http://example.com/"));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->port(), 1080);
}

TEST(ProxyConfig, NeverProxiesLocalhostOrLoopbackAddresses) {
  check({
      {"localhost", kHttp, kHttps, "", "http://localhost:8080/", "direct"},
      {"LOCALHOST (hosts are lower-cased)", kHttp, kHttps, "", "https://LocalHost/", "direct"},
      {"127.0.0.1", kHttp, kHttps, "", "http://127.0.0.1:8080/", "direct"},
      {"127.0.0.0/8", kHttp, kHttps, "", "https://127.45.6.7/", "direct"},
      {"::1", kHttp, kHttps, "", "http://[::1]:8080/", "direct"},
      {"IPv4-mapped loopback", kHttp, kHttps, "", "http://[::ffff:127.0.0.1]/", "direct"},
      {"a name under localhost is a name", kHttp, kHttps, "", "http://localhost.example.com/", kViaHttp},
      {"128.0.0.1 is not loopback", kHttp, kHttps, "", "http://128.0.0.1/", kViaHttp},
      {"::2 is not loopback", kHttp, kHttps, "", "http://[::2]/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyStarMeansNoProxyAtAll) {
  check({
      {"*", kHttp, kHttps, "*", "http://example.com/", "direct"},
      {"* for https", kHttp, kHttps, "*", "https://10.1.2.3:8443/", "direct"},
      {"* with whitespace", kHttp, kHttps, "  *  ", "http://example.com/", "direct"},
      {"* among other entries", kHttp, kHttps, "foo.com, *", "http://example.com/", "direct"},
      {"*x is not a wildcard", kHttp, kHttps, "*x", "http://example.com/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyIpAddressesMatchThatAddress) {
  check({
      {"IPv4", kHttp, kHttps, "1.2.3.4", "http://1.2.3.4/", "direct"},
      {"IPv4, any port", kHttp, kHttps, "1.2.3.4", "https://1.2.3.4:8443/", "direct"},
      {"IPv4, another address", kHttp, kHttps, "1.2.3.4", "http://1.2.3.5/", kViaHttp},
      {"IPv4 entry, IPv4-mapped URL", kHttp, kHttps, "1.2.3.4", "http://[::ffff:1.2.3.4]/", "direct"},
      {"IPv6 in brackets", kHttp, kHttps, "[2001:db8::1]", "http://[2001:db8::1]/", "direct"},
      {"IPv6 bare", kHttp, kHttps, "2001:db8::1", "http://[2001:db8:0::1]/", "direct"},
      {"IPv6, another address", kHttp, kHttps, "2001:db8::1", "http://[2001:db8::2]/", kViaHttp},
      {"IPv6 in another spelling", kHttp, kHttps, "2001:DB8:0:0:0:0:0:1", "http://[2001:db8::1]/", "direct"},
      {"an address entry does not match a name", kHttp, kHttps, "1.2.3.4", "http://1.2.3.4.example/",
       kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyCidrPrefixesMatchAddressesInside) {
  check({
      {"IPv4 /8", kHttp, kHttps, "10.0.0.0/8", "http://10.200.3.4/", "direct"},
      {"IPv4 /8, outside", kHttp, kHttps, "10.0.0.0/8", "http://11.0.0.1/", kViaHttp},
      {"IPv4 /8 with host bits set", kHttp, kHttps, "1.2.3.4/8", "http://1.9.9.9/", "direct"},
      {"IPv4 /32", kHttp, kHttps, "192.168.1.1/32", "http://192.168.1.1/", "direct"},
      {"IPv4 /32, next address", kHttp, kHttps, "192.168.1.1/32", "http://192.168.1.2/", kViaHttp},
      {"IPv4 /0", kHttp, kHttps, "0.0.0.0/0", "http://8.8.8.8/", "direct"},
      {"IPv4 /20, inside", kHttp, kHttps, "172.16.0.0/20", "http://172.16.15.255/", "direct"},
      {"IPv4 /20, outside", kHttp, kHttps, "172.16.0.0/20", "http://172.16.16.0/", kViaHttp},
      {"IPv4 prefix, any port", kHttp, kHttps, "10.0.0.0/8", "https://10.0.0.1:8443/", "direct"},
      {"IPv6 /32", kHttp, kHttps, "2001:db8::/32", "http://[2001:db8:1::5]/", "direct"},
      {"IPv6 /32, outside", kHttp, kHttps, "2001:db8::/32", "http://[2001:db9::1]/", kViaHttp},
      {"IPv6 prefix does not match IPv4", kHttp, kHttps, "2001:db8::/32", "http://10.0.0.1/", kViaHttp},
      {"IPv4 prefix does not match IPv6", kHttp, kHttps, "10.0.0.0/8", "http://[2001:db8::1]/", kViaHttp},
      {"a prefix does not match a name", kHttp, kHttps, "10.0.0.0/8", "http://example.com/", kViaHttp},
      {"IPv4 length over 32 is ignored", kHttp, kHttps, "10.0.0.0/33", "http://10.0.0.1/", kViaHttp},
      {"a name with a length is ignored", kHttp, kHttps, "foo.com/8", "http://foo.com/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyDomainNamesMatchTheNameAndItsSubdomains) {
  check({
      {"the name itself", kHttp, kHttps, "foo.com", "http://foo.com/", "direct"},
      {"a subdomain", kHttp, kHttps, "foo.com", "https://bar.foo.com/", "direct"},
      {"a deeper subdomain", kHttp, kHttps, "foo.com", "http://a.b.foo.com/", "direct"},
      {"a name that only ends the same", kHttp, kHttps, "foo.com", "http://barfoo.com/", kViaHttp},
      {"a name that starts the same", kHttp, kHttps, "foo.com", "http://foo.com.evil.net/", kViaHttp},
      {"a parent domain", kHttp, kHttps, "bar.foo.com", "http://foo.com/", kViaHttp},
      {"leading dot: a subdomain", kHttp, kHttps, ".foo.com", "http://bar.foo.com/", "direct"},
      {"leading dot: not the name itself", kHttp, kHttps, ".foo.com", "http://foo.com/", kViaHttp},
      {"*. like a leading dot: a subdomain", kHttp, kHttps, "*.foo.com", "http://bar.foo.com/", "direct"},
      {"*. like a leading dot: not the name", kHttp, kHttps, "*.foo.com", "http://foo.com/", kViaHttp},
      {"a name does not match an address", kHttp, kHttps, "3.4", "http://1.2.3.4/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyEntriesWithAPortMatchOnlyThatPort) {
  check({
      {"name:port, same port", kHttp, kHttps, "foo.com:8080", "http://foo.com:8080/", "direct"},
      {"name:port, subdomain", kHttp, kHttps, "foo.com:8080", "http://a.foo.com:8080/", "direct"},
      {"name:port, default port differs", kHttp, kHttps, "foo.com:8080", "http://foo.com/", kViaHttp},
      {"name:80 matches http's default port", kHttp, kHttps, "foo.com:80", "http://foo.com/", "direct"},
      {"name:80 does not match https's", kHttp, kHttps, "foo.com:80", "https://foo.com/", kViaHttps},
      {".name:port", kHttp, kHttps, ".foo.com:8443", "https://a.foo.com:8443/", "direct"},
      {".name:port, other port", kHttp, kHttps, ".foo.com:8443", "https://a.foo.com/", kViaHttps},
      {"IPv4:port", kHttp, kHttps, "1.2.3.4:80", "http://1.2.3.4/", "direct"},
      {"IPv4:port, other port", kHttp, kHttps, "1.2.3.4:80", "https://1.2.3.4/", kViaHttps},
      {"[IPv6]:port", kHttp, kHttps, "[2001:db8::1]:443", "https://[2001:db8::1]/", "direct"},
      {"[IPv6]:port, other port", kHttp, kHttps, "[2001:db8::1]:443", "http://[2001:db8::1]/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyIsCaseInsensitiveAndTrimsEntries) {
  check({
      {"upper-case entry", kHttp, kHttps, "FOO.COM", "http://Bar.Foo.Com/", "direct"},
      {"entries trimmed", kHttp, kHttps, " foo.com ,\tbar.com ", "http://bar.com/", "direct"},
      {"first of several", kHttp, kHttps, "foo.com,bar.com", "http://foo.com/", "direct"},
      {"empty entries skipped", kHttp, kHttps, ",,foo.com,", "http://foo.com/", "direct"},
      {"only empty entries", kHttp, kHttps, " , ,", "http://foo.com/", kViaHttp},
      {"no entry matches", kHttp, kHttps, "foo.com,10.0.0.0/8", "http://example.com/", kViaHttp},
  });
}

/// The error proxy_for() gives for `url` with this config, or "" when it gives none.
std::string error_of(const ProxyConfig& config, std::string_view target) {
  const auto r = config.proxy_for(url(target));
  if (r.ok()) return "";
  EXPECT_EQ(r.error().kind(), ErrorKind::bad_url);
  return r.error().message();
}

TEST(ProxyConfig, AnUnusableProxyValueIsABadUrlNamingTheVariable) {
  ProxyConfig config;
  config.http_proxy = "ftp://proxy.corp";
  config.https_proxy = "http://user:secret@proxy:99999";
  const std::string http = error_of(config, "http://example.com/");
  EXPECT_EQ(http.rfind("HTTP_PROXY: invalid proxy URL: ", 0), 0U) << http;
  EXPECT_NE(http.find("unsupported scheme"), std::string::npos) << http;
  const std::string https = error_of(config, "https://example.com/");
  EXPECT_EQ(https.rfind("HTTPS_PROXY: invalid proxy URL: ", 0), 0U) << https;
  EXPECT_NE(https.find("99999"), std::string::npos) << https;
  EXPECT_EQ(https.find("secret"), std::string::npos) << "the password leaks: " << https;

  config.http_proxy = "socks4://proxy.corp";
  EXPECT_NE(error_of(config, "http://example.com/"), "");
}

TEST(ProxyConfig, AnUnusableProxyValueIsNotLookedAtWhenItDoesNotApply) {
  ProxyConfig config;
  config.http_proxy = "ftp://proxy.corp";
  config.no_proxy = "internal.example";
  EXPECT_EQ(error_of(config, "http://internal.example/"), "");  // bypassed
  EXPECT_EQ(error_of(config, "http://localhost/"), "");         // loopback
  EXPECT_EQ(error_of(config, "https://example.com/"), "");      // not the https value
  EXPECT_NE(error_of(config, "http://example.com/"), "");
}

TEST(ProxyConfig, FixedProxyIsUsedForEveryRequestLoopbackIncluded) {
  const ProxyFunc proxy = fixed_proxy(*Url::parse_proxy("socks5h://proxy:1080"));
  for (const std::string_view target : {"http://example.com/", "https://localhost/", "http://127.0.0.1/"}) {
    const auto request = make_request("GET", target);
    ASSERT_TRUE(request.ok());
    EXPECT_EQ(choice(proxy(*request)), "socks5h://proxy/") << target;  // 1080 is the default
  }
}

// ---------------------------------------------------------------- environment

using testing::ScopedEnv;

/// The variables ProxyConfig reads: each test starts with none of them set.
const std::vector<std::string> kProxyVariables = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY",   "https_proxy",
                                                  "NO_PROXY",   "no_proxy",   "REQUEST_METHOD"};

TEST(ProxyEnvironment, ReadsUpperCaseFirstThenLowerCase) {
  ScopedEnv env(kProxyVariables);
  env.set("HTTP_PROXY", "http://upper:1");
  env.set("http_proxy", "http://lower:1");
  env.set("https_proxy", "http://lower:2");
  env.set("HTTPS_PROXY", "");  // empty counts as unset
  env.set("no_proxy", "foo.com");
  const ProxyConfig config = ProxyConfig::from_environment();
  EXPECT_EQ(config.http_proxy, "http://upper:1");
  EXPECT_EQ(config.https_proxy, "http://lower:2");
  EXPECT_EQ(config.no_proxy, "foo.com");

  env.set("NO_PROXY", "bar.com");
  EXPECT_EQ(ProxyConfig::from_environment().no_proxy, "bar.com");
}

TEST(ProxyEnvironment, NothingSetMeansNoProxy) {
  const ScopedEnv env(kProxyVariables);
  const ProxyConfig config = ProxyConfig::from_environment();
  EXPECT_EQ(config.http_proxy, "");
  EXPECT_EQ(config.https_proxy, "");
  EXPECT_EQ(config.no_proxy, "");
  EXPECT_EQ(choice(config.proxy_for(url("http://example.com/"))), "direct");
}

TEST(ProxyEnvironment, InACgiHandlerUpperCaseHttpProxyIsIgnored) {
  ScopedEnv env(kProxyVariables);
  env.set("REQUEST_METHOD", "GET");
  env.set("HTTP_PROXY", "http://from-a-request-header:1");  // a "Proxy:" header (httpoxy)
  env.set("HTTPS_PROXY", "http://sproxy:2");
  EXPECT_EQ(ProxyConfig::from_environment().http_proxy, "");
  EXPECT_EQ(ProxyConfig::from_environment().https_proxy, "http://sproxy:2");
  env.set("http_proxy", "http://lower:1");
  EXPECT_EQ(ProxyConfig::from_environment().http_proxy, "http://lower:1");
  env.unset("REQUEST_METHOD");
  EXPECT_EQ(ProxyConfig::from_environment().http_proxy, "http://from-a-request-header:1");
}

TEST(ProxyEnvironment, ProxyFromEnvironmentReadsTheEnvironmentOnceWhenMade) {
  ScopedEnv env(kProxyVariables);
  env.set("HTTP_PROXY", "proxy.corp:3128");
  env.set("NO_PROXY", ".internal");
  const ProxyFunc proxy = proxy_from_environment();
  env.set("HTTP_PROXY", "http://changed:1");
  env.set("NO_PROXY", "*");

  auto request = make_request("GET", "http://example.com/");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(choice(proxy(*request)), "http://proxy.corp:3128/");
  request = make_request("GET", "http://db.internal/");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(choice(proxy(*request)), "direct");
  request = make_request("GET", "https://example.com/");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(choice(proxy(*request)), "direct");
}

TEST(ProxyEnvironment, ProxyFromEnvironmentFailsTheRequestsABadValueAppliesTo) {
  ScopedEnv env(kProxyVariables);
  env.set("HTTPS_PROXY", "gopher://proxy");
  const ProxyFunc proxy = proxy_from_environment();
  auto request = make_request("GET", "https://example.com/");
  ASSERT_TRUE(request.ok());
  const auto r = proxy(*request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::bad_url);
  EXPECT_EQ(r.error().message().rfind("HTTPS_PROXY: ", 0), 0U) << r.error().message();
  request = make_request("GET", "http://example.com/");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(choice(proxy(*request)), "direct");
}

}  // namespace
}  // namespace nethttp
