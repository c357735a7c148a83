// Url::parse_proxy: the socks5 and socks5h proxy schemes, which parse()
// keeps refusing.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "nethttp/url.h"

namespace nethttp {
namespace {

TEST(UrlParseProxy, AcceptsSocksSchemesWithTheirDefaultPort) {
  for (const std::string_view scheme : {"socks5", "socks5h", "SOCKS5H"}) {
    const auto u = Url::parse_proxy(std::string(scheme) + "://user:pw@proxy.example");
    ASSERT_TRUE(u.ok()) << scheme << ": " << u.error().message();
    EXPECT_EQ(u->scheme(), std::string(scheme) == "SOCKS5H" ? "socks5h" : std::string(scheme));
    EXPECT_EQ(u->host(), "proxy.example");
    EXPECT_EQ(u->port(), 1080);
    EXPECT_TRUE(u->has_default_port());
    EXPECT_EQ(u->username(), "user");
    EXPECT_EQ(u->password(), "pw");
    EXPECT_FALSE(u->is_https());
  }
}

TEST(UrlParseProxy, KeepsAnExplicitPortAndWritesItBack) {
  const auto u = Url::parse_proxy("socks5://127.0.0.1:9050");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port(), 9050);
  EXPECT_EQ(u->host_port(), "127.0.0.1:9050");
  EXPECT_EQ(u->str(), "socks5://127.0.0.1:9050/");
  const auto d = Url::parse_proxy("socks5h://[::1]:1080");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->has_default_port());
  EXPECT_EQ(d->authority(), "[::1]");
  EXPECT_EQ(d->host_port(), "[::1]:1080");
}

TEST(UrlParseProxy, ParsesHttpProxiesAsParseDoes) {
  for (const std::string_view text : {"http://proxy:3128", "https://u@proxy/", "HTTP://Proxy"}) {
    const auto a = Url::parse_proxy(text);
    const auto b = Url::parse(text);
    ASSERT_TRUE(a.ok() && b.ok()) << text;
    EXPECT_EQ(*a, *b) << text;
  }
}

TEST(UrlParseProxy, RefusesOtherSchemesAndMalformedUrls) {
  for (const std::string_view text : {"socks4://proxy:1080", "ftp://proxy", "socks5:proxy", "socks5://"}) {
    const auto u = Url::parse_proxy(text);
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_EQ(u.error().kind(), ErrorKind::bad_url) << text;
  }
}

TEST(UrlParseProxy, RequestUrlsStayHttpOnly) {
  const auto u = Url::parse("socks5://proxy:1080");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().kind(), ErrorKind::bad_url);
  EXPECT_NE(u.error().message().find("unsupported scheme"), std::string::npos) << u.error().message();
  const auto base = Url::parse("http://a/");
  ASSERT_TRUE(base.ok());
  EXPECT_FALSE(base->resolve("socks5://proxy/").ok());
}

}  // namespace
}  // namespace nethttp
