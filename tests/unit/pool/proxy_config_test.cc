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

/// A row of the bypass rules: both proxies set (kHttp, kHttps), so only
/// NO_PROXY and the URL decide.
struct BypassCase {
  std::string_view rule;
  std::string_view no_proxy;
  std::string_view url;
  std::string_view expected;
};

void check_bypass(const std::vector<BypassCase>& cases) {
  std::vector<Case> full;
  full.reserve(cases.size());
  for (const BypassCase& c : cases) full.push_back({c.rule, kHttp, kHttps, c.no_proxy, c.url, c.expected});
  check(full);
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
  check_bypass({
      {"localhost", "", "http://localhost:8080/", "direct"},
      {"LOCALHOST (hosts are lower-cased)", "", "https://LocalHost/", "direct"},
      {"127.0.0.1", "", "http://127.0.0.1:8080/", "direct"},
      {"127.0.0.0/8", "", "https://127.45.6.7/", "direct"},
      {"::1", "", "http://[::1]:8080/", "direct"},
      {"IPv4-mapped loopback", "", "http://[::ffff:127.0.0.1]/", "direct"},
      {"a name under localhost is a name", "", "http://localhost.example.com/", kViaHttp},
      {"128.0.0.1 is not loopback", "", "http://128.0.0.1/", kViaHttp},
      {"::2 is not loopback", "", "http://[::2]/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyStarMeansNoProxyAtAll) {
  check_bypass({
      {"*", "*", "http://example.com/", "direct"},
      {"* for https", "*", "https://10.1.2.3:8443/", "direct"},
      {"* with whitespace", "  *  ", "http://example.com/", "direct"},
      {"* among other entries", "foo.com, *", "http://example.com/", "direct"},
      {"*x is not a wildcard", "*x", "http://example.com/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyIpAddressesMatchThatAddress) {
  check_bypass({
      {"IPv4", "1.2.3.4", "http://1.2.3.4/", "direct"},
      {"IPv4, any port", "1.2.3.4", "https://1.2.3.4:8443/", "direct"},
      {"IPv4, another address", "1.2.3.4", "http://1.2.3.5/", kViaHttp},
      {"IPv4 entry, IPv4-mapped URL", "1.2.3.4", "http://[::ffff:1.2.3.4]/", "direct"},
      {"IPv6 in brackets", "[2001:db8::1]", "http://[2001:db8::1]/", "direct"},
      {"IPv6 bare", "2001:db8::1", "http://[2001:db8:0::1]/", "direct"},
      {"IPv6, another address", "2001:db8::1", "http://[2001:db8::2]/", kViaHttp},
      {"IPv6 in another spelling", "2001:DB8:0:0:0:0:0:1", "http://[2001:db8::1]/", "direct"},
      {"an address entry does not match a name", "1.2.3.4", "http://1.2.3.4.example/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyCidrPrefixesMatchAddressesInside) {
  check_bypass({
      {"IPv4 /8", "10.0.0.0/8", "http://10.200.3.4/", "direct"},
      {"IPv4 /8, outside", "10.0.0.0/8", "http://11.0.0.1/", kViaHttp},
      {"IPv4 /8 with host bits set", "1.2.3.4/8", "http://1.9.9.9/", "direct"},
      {"IPv4 /32", "192.168.1.1/32", "http://192.168.1.1/", "direct"},
      {"IPv4 /32, next address", "192.168.1.1/32", "http://192.168.1.2/", kViaHttp},
      {"IPv4 /0", "0.0.0.0/0", "http://8.8.8.8/", "direct"},
      {"IPv4 /20, inside", "172.16.0.0/20", "http://172.16.15.255/", "direct"},
      {"IPv4 /20, outside", "172.16.0.0/20", "http://172.16.16.0/", kViaHttp},
      {"IPv4 prefix, any port", "10.0.0.0/8", "https://10.0.0.1:8443/", "direct"},
      {"IPv6 /32", "2001:db8::/32", "http://[2001:db8:1::5]/", "direct"},
      {"IPv6 /32, outside", "2001:db8::/32", "http://[2001:db9::1]/", kViaHttp},
      {"IPv6 prefix does not match IPv4", "2001:db8::/32", "http://10.0.0.1/", kViaHttp},
      {"IPv4 prefix does not match IPv6", "10.0.0.0/8", "http://[2001:db8::1]/", kViaHttp},
      {"a prefix does not match a name", "10.0.0.0/8", "http://example.com/", kViaHttp},
      {"IPv4 length over 32 is ignored", "10.0.0.0/33", "http://10.0.0.1/", kViaHttp},
      {"a name with a length is ignored", "foo.com/8", "http://foo.com/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyDomainNamesMatchTheNameAndItsSubdomains) {
  check_bypass({
      {"the name itself", "foo.com", "http://foo.com/", "direct"},
      {"a subdomain", "foo.com", "https://bar.foo.com/", "direct"},
      {"a deeper subdomain", "foo.com", "http://a.b.foo.com/", "direct"},
      {"a name that only ends the same", "foo.com", "http://barfoo.com/", kViaHttp},
      {"a name that starts the same", "foo.com", "http://foo.com.evil.net/", kViaHttp},
      {"a parent domain", "bar.foo.com", "http://foo.com/", kViaHttp},
      {"leading dot: a subdomain", ".foo.com", "http://bar.foo.com/", "direct"},
      {"leading dot: not the name itself", ".foo.com", "http://foo.com/", kViaHttp},
      {"*. like a leading dot: a subdomain", "*.foo.com", "http://bar.foo.com/", "direct"},
      {"*. like a leading dot: not the name", "*.foo.com", "http://foo.com/", kViaHttp},
      {"a name does not match an address", "3.4", "http://1.2.3.4/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyEntriesWithAPortMatchOnlyThatPort) {
  check_bypass({
      {"name:port, same port", "foo.com:8080", "http://foo.com:8080/", "direct"},
      {"name:port, subdomain", "foo.com:8080", "http://a.foo.com:8080/", "direct"},
      {"name:port, default port differs", "foo.com:8080", "http://foo.com/", kViaHttp},
      {"name:80 matches http's default port", "foo.com:80", "http://foo.com/", "direct"},
      {"name:80 does not match https's", "foo.com:80", "https://foo.com/", kViaHttps},
      {".name:port", ".foo.com:8443", "https://a.foo.com:8443/", "direct"},
      {".name:port, other port", ".foo.com:8443", "https://a.foo.com/", kViaHttps},
      {"IPv4:port", "1.2.3.4:80", "http://1.2.3.4/", "direct"},
      {"IPv4:port, other port", "1.2.3.4:80", "https://1.2.3.4/", kViaHttps},
      {"[IPv6]:port", "[2001:db8::1]:443", "https://[2001:db8::1]/", "direct"},
      {"[IPv6]:port, other port", "[2001:db8::1]:443", "http://[2001:db8::1]/", kViaHttp},
  });
}

TEST(ProxyConfig, NoProxyIsCaseInsensitiveAndTrimsEntries) {
  check_bypass({
      {"upper-case entry", "FOO.COM", "http://Bar.Foo.Com/", "direct"},
      {"entries trimmed", " foo.com ,\tbar.com ", "http://bar.com/", "direct"},
      {"first of several", "foo.com,bar.com", "http://foo.com/", "direct"},
      {"empty entries skipped", ",,foo.com,", "http://foo.com/", "direct"},
      {"only empty entries", " , ,", "http://foo.com/", kViaHttp},
      {"no entry matches", "foo.com,10.0.0.0/8", "http://example.com/", kViaHttp},
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

/// What `proxy` chooses for a GET of `target`.
Result<std::optional<Url>> proxy_of(const ProxyFunc& proxy, std::string_view target) {
  const auto request = make_request("GET", target);
  EXPECT_TRUE(request.ok()) << target;
  if (!request.ok()) return request.error();
  return proxy(*request);
}

TEST(ProxyConfig, FixedProxyIsUsedForEveryRequestLoopbackIncluded) {
  const ProxyFunc proxy = fixed_proxy(*Url::parse_proxy("socks5h://proxy:1080"));
  for (const std::string_view target : {"http://example.com/", "https://localhost/", "http://127.0.0.1/"}) {
    EXPECT_EQ(choice(proxy_of(proxy, target)), "socks5h://proxy/") << target;  // 1080 is the default
  }
}

// ---------------------------------------------------------------- environment

using testing::ScopedEnv;

/// The variables ProxyConfig reads: each test starts with none of them set.
const std::vector<std::string> proxy_variables = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY",   "https_proxy",
                                                  "NO_PROXY",   "no_proxy",   "REQUEST_METHOD"};

TEST(ProxyEnvironment, ReadsUpperCaseFirstThenLowerCase) {
  ScopedEnv env(proxy_variables);
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
  const ScopedEnv env(proxy_variables);
  const ProxyConfig config = ProxyConfig::from_environment();
  EXPECT_EQ(config.http_proxy, "");
  EXPECT_EQ(config.https_proxy, "");
  EXPECT_EQ(config.no_proxy, "");
  EXPECT_EQ(choice(config.proxy_for(url("http://example.com/"))), "direct");
}

TEST(ProxyEnvironment, InACgiHandlerUpperCaseHttpProxyIsIgnored) {
  ScopedEnv env(proxy_variables);
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
  ScopedEnv env(proxy_variables);
  env.set("HTTP_PROXY", "proxy.corp:3128");
  env.set("NO_PROXY", ".internal");
  const ProxyFunc proxy = proxy_from_environment();
  env.set("HTTP_PROXY", "http://changed:1");
  env.set("NO_PROXY", "*");

  EXPECT_EQ(choice(proxy_of(proxy, "http://example.com/")), "http://proxy.corp:3128/");
  EXPECT_EQ(choice(proxy_of(proxy, "http://db.internal/")), "direct");
  EXPECT_EQ(choice(proxy_of(proxy, "https://example.com/")), "direct");
}

TEST(ProxyEnvironment, ProxyFromEnvironmentFailsTheRequestsABadValueAppliesTo) {
  ScopedEnv env(proxy_variables);
  env.set("HTTPS_PROXY", "gopher://proxy");
  const ProxyFunc proxy = proxy_from_environment();
  const auto r = proxy_of(proxy, "https://example.com/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::bad_url);
  EXPECT_EQ(r.error().message().rfind("HTTPS_PROXY: ", 0), 0U) << r.error().message();
  EXPECT_EQ(choice(proxy_of(proxy, "http://example.com/")), "direct");
}

}  // namespace
}  // namespace nethttp
