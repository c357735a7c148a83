// The cookie jar: storage (RFC 6265 §5.3), retrieval (§5.4), limits, files.
#include "nethttp/cookie_jar.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace nethttp {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

/// A wall clock moved only by the test.
class FakeWallClock {
 public:
  [[nodiscard]] system_clock::time_point now() const {
    return base_ + std::chrono::seconds(offset_s_.load());
  }
  void advance(std::chrono::seconds d) { offset_s_ += d.count(); }

 private:
  // Wed, 15 Nov 2023 22:13:20 GMT.
  const system_clock::time_point base_ = system_clock::time_point(std::chrono::seconds(1'700'086'400));
  std::atomic<std::int64_t> offset_s_{0};
};

CookieJarOptions with_limits(std::size_t per_domain, std::size_t total) {
  CookieJarOptions options;
  options.max_cookies_per_domain = per_domain;
  options.max_cookies_total = total;
  return options;
}

Url url(std::string_view text) {
  auto u = Url::parse(text);
  EXPECT_TRUE(u.ok()) << text;
  return *u;
}

class CookieJarTest : public ::testing::Test {
 protected:
  std::unique_ptr<CookieJar> make_jar(CookieJarOptions options = {}) {
    options.clock = [c = clock_] { return c->now(); };
    return std::make_unique<CookieJar>(std::move(options));
  }
  void set(std::string_view u, std::vector<std::string_view> values) { jar_->set_cookies(url(u), values); }
  std::string header(std::string_view u) { return jar_->cookie_header(url(u)); }

  std::shared_ptr<FakeWallClock> clock_ = std::make_shared<FakeWallClock>();
  std::unique_ptr<CookieJar> jar_ = make_jar();
};

TEST_F(CookieJarTest, HostOnlyCookiesGoOnlyToTheirHost) {
  set("http://www.example.com/", {"a=1"});
  EXPECT_EQ(header("http://www.example.com/"), "a=1");
  EXPECT_EQ(header("http://sub.www.example.com/"), "");
  EXPECT_EQ(header("http://example.com/"), "");
  const auto cookies = jar_->cookies(url("http://www.example.com/"));
  ASSERT_EQ(cookies.size(), 1u);
  EXPECT_TRUE(cookies[0].host_only);
  EXPECT_EQ(cookies[0].domain, "www.example.com");
}

TEST_F(CookieJarTest, DomainCookiesGoToTheDomainAndItsSubdomains) {
  set("http://www.example.com/", {"a=1; Domain=.EXAMPLE.com"});
  EXPECT_EQ(header("http://example.com/"), "a=1");
  EXPECT_EQ(header("http://www.example.com/"), "a=1");
  EXPECT_EQ(header("http://x.y.example.com/"), "a=1");
  EXPECT_EQ(header("http://badexample.com/"), "");
  EXPECT_EQ(header("http://example.org/"), "");
}

TEST_F(CookieJarTest, RejectsADomainTheHostDoesNotMatch) {
  set("http://www.example.com/",
      {"a=1; Domain=other.com", "b=2; Domain=sub.www.example.com", "c=3; Domain=ample.com"});
  EXPECT_EQ(jar_->size(), 0u);
}

TEST_F(CookieJarTest, IpHostsAcceptOnlyNoDomainOrThemselves) {
  set("http://192.168.0.1/", {"a=1", "b=2; Domain=192.168.0.1", "c=3; Domain=168.0.1", "d=4; Domain=0.1"});
  EXPECT_EQ(header("http://192.168.0.1/"), "a=1; b=2");
  EXPECT_EQ(header("http://192.168.0.2/"), "");
  set("http://[::1]/", {"e=5"});
  EXPECT_EQ(header("http://[::1]/"), "e=5");
}

TEST_F(CookieJarTest, RejectsPublicSuffixDomainsUnlessTheyAreTheHost) {
  set("http://www.example.co.uk/", {"a=1; Domain=co.uk", "b=2; Domain=uk", "c=3; Domain=example.co.uk"});
  set("https://user.github.io/", {"d=4; Domain=github.io"});
  EXPECT_EQ(header("http://other.co.uk/"), "");
  EXPECT_EQ(header("http://www.example.co.uk/"), "c=3");
  EXPECT_EQ(header("https://other.github.io/"), "");
  EXPECT_EQ(jar_->size(), 1u);
  // A public suffix that is the request host itself makes a host-only cookie.
  set("http://github.io/", {"e=5; Domain=github.io"});
  EXPECT_EQ(header("http://github.io/"), "e=5");
  EXPECT_EQ(header("http://user.github.io/"), "");
}

TEST_F(CookieJarTest, WithoutTheListOnlySingleLabelsArePublicSuffixes) {
  CookieJarOptions options;
  options.use_public_suffix_list = false;
  jar_ = make_jar(options);
  set("http://www.example.co.uk/", {"a=1; Domain=co.uk", "b=2; Domain=uk"});
  EXPECT_EQ(header("http://other.co.uk/"), "a=1");
}

TEST_F(CookieJarTest, PathAttributeAndDefaultPathLimitWhereCookiesGo) {
  set("http://example.com/docs/page.html", {"dflt=1", "root=2; Path=/", "api=3; Path=/api", "rel=4; Path=x"});
  EXPECT_EQ(header("http://example.com/docs"), "dflt=1; rel=4; root=2");
  EXPECT_EQ(header("http://example.com/docs/a/b"), "dflt=1; rel=4; root=2");
  EXPECT_EQ(header("http://example.com/docsx"), "root=2");
  EXPECT_EQ(header("http://example.com/api/v1"), "api=3; root=2");
  EXPECT_EQ(header("http://example.com/"), "root=2");
}

TEST_F(CookieJarTest, OrdersLongerPathsFirstThenEarlierCreation) {
  set("http://example.com/", {"z=1; Path=/", "y=2; Path=/a/b", "x=3; Path=/a"});
  clock_->advance(1s);
  set("http://example.com/", {"w=4; Path=/a"});
  clock_->advance(1s);
  set("http://example.com/", {"z=5; Path=/"});  // replacing keeps z's creation time
  EXPECT_EQ(header("http://example.com/a/b/c"), "y=2; x=3; w=4; z=5");
}

TEST_F(CookieJarTest, SecureCookiesComeOnlyFromAndGoOnlyToHttps) {
  set("http://example.com/", {"a=1; Secure"});
  EXPECT_EQ(jar_->size(), 0u);
  set("https://example.com/", {"b=2; Secure", "c=3"});
  EXPECT_EQ(header("https://example.com/"), "b=2; c=3");
  EXPECT_EQ(header("http://example.com/"), "c=3");
  // An insecure origin may not shadow a Secure cookie (RFC 6265bis §5.7).
  set("http://example.com/", {"b=evil"});
  EXPECT_EQ(header("https://example.com/"), "b=2; c=3");
}

TEST_F(CookieJarTest, NamePrefixesAreEnforced) {
  set("https://example.com/",
      {"__Secure-a=1", "__Secure-b=2; Secure", "__Host-c=3; Secure; Path=/",
       "__Host-d=4; Secure; Path=/; Domain=example.com", "__Host-e=5; Secure; Path=/x"});
  EXPECT_EQ(header("https://example.com/x"), "__Secure-b=2; __Host-c=3");
}

TEST_F(CookieJarTest, MaxAgeWinsOverExpires) {
  set("http://example.com/", {"a=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=60",
                              "b=2; Max-Age=60; Expires=Fri, 31 Dec 2049 23:59:59 GMT",
                              "c=3; Expires=Fri, 17 Nov 2023 22:13:20 GMT"});
  EXPECT_EQ(header("http://example.com/"), "a=1; b=2; c=3");
  clock_->advance(59s);
  EXPECT_EQ(jar_->size(), 3u);
  clock_->advance(1s);
  EXPECT_EQ(header("http://example.com/"), "c=3");
  clock_->advance(std::chrono::hours(48) - 60s - 1s);
  EXPECT_EQ(header("http://example.com/"), "c=3");
  clock_->advance(1s);
  EXPECT_EQ(header("http://example.com/"), "");
  EXPECT_EQ(jar_->size(), 0u);
}

TEST_F(CookieJarTest, AnExpiredSetCookieDeletesTheStoredOne) {
  set("http://example.com/", {"a=1", "b=2", "c=3", "d=4; Path=/p"});
  set("http://example.com/", {"a=; Max-Age=0", "b=x; Max-Age=-5", "c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                              "d=; Max-Age=0"});  // d: a different path, so another cookie
  EXPECT_EQ(header("http://example.com/p"), "d=4");
  EXPECT_EQ(jar_->size(), 1u);
}

TEST_F(CookieJarTest, ReplacingACookieKeepsItsCreationTime) {
  set("http://example.com/", {"a=1"});
  const auto created = clock_->now();
  clock_->advance(10s);
  set("http://example.com/", {"a=2; HttpOnly; SameSite=None"});
  const auto cookies = jar_->cookies(url("http://example.com/"));
  ASSERT_EQ(cookies.size(), 1u);
  EXPECT_EQ(cookies[0].value, "2");
  EXPECT_EQ(cookies[0].created, created);
  EXPECT_EQ(cookies[0].last_access, clock_->now());
  EXPECT_TRUE(cookies[0].http_only);
  EXPECT_EQ(cookies[0].same_site, Cookie::SameSite::none);
}

TEST_F(CookieJarTest, PortsPlayNoPart) {
  set("http://example.com:8080/", {"a=1"});
  EXPECT_EQ(header("http://example.com:9090/"), "a=1");
  EXPECT_EQ(header("https://example.com/"), "a=1");
}

TEST_F(CookieJarTest, IgnoresInvalidSetCookieValues) {
  set("http://example.com/", {"", "noequals", "=nameless", "big=" + std::string(5000, 'x'), "ok=1"});
  EXPECT_EQ(header("http://example.com/"), "ok=1");
}

TEST_F(CookieJarTest, EvictsTheLeastRecentlyAccessedCookieOfADomain) {
  jar_ = make_jar(with_limits(3, 100));
  set("http://example.com/", {"a=1", "b=2", "c=3"});
  set("http://other.com/", {"o=1"});
  clock_->advance(1s);
  (void)jar_->cookies(url("http://example.com/"));  // all three accessed now
  clock_->advance(1s);
  set("http://example.com/", {"b=2"});      // b accessed later still
  set("http://www.example.com/", {"d=4"});  // the same registrable domain
  EXPECT_EQ(jar_->size(), 4u);
  EXPECT_EQ(header("http://example.com/"), "b=2; c=3");
  EXPECT_EQ(header("http://other.com/"), "o=1");
}

TEST_F(CookieJarTest, EvictsExpiredCookiesFirstThenTheLeastRecentlyAccessedOverall) {
  jar_ = make_jar(with_limits(50, 3));
  set("http://a.com/", {"a=1; Max-Age=1"});
  set("http://b.com/", {"b=1"});
  set("http://c.com/", {"c=1"});
  clock_->advance(2s);
  set("http://d.com/", {"d=1"});  // a has expired: nothing else goes
  EXPECT_EQ(jar_->size(), 3u);
  set("http://e.com/", {"e=1"});  // b is the least recently accessed
  EXPECT_EQ(header("http://b.com/"), "");
  EXPECT_EQ(header("http://c.com/") + header("http://d.com/") + header("http://e.com/"), "c=1d=1e=1");
}

TEST_F(CookieJarTest, TheDefaultLimitsAreRfc6265Minimums) {
  std::vector<std::string> values;
  for (int i = 0; i < 60; ++i) values.push_back("c" + std::to_string(i) + "=v");
  const std::vector<std::string_view> views(values.begin(), values.end());
  set("http://example.com/", views);
  EXPECT_EQ(jar_->size(), 50u);
}

class CookieFileTest : public CookieJarTest {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("nethttp-cookie-test-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  bool made_ = std::filesystem::create_directories(dir_);
};

TEST_F(CookieFileTest, SaveThenLoadKeepsEveryCookie) {
  set("https://www.example.com/docs/x", {"host=1; HttpOnly", "dom=2; Domain=example.com; Path=/; Secure",
                                         "persist=3; Max-Age=3600", "quoted=\"a b\""});
  const auto file = dir_ / "cookies.txt";
  ASSERT_TRUE(jar_->save(file).ok());

  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("#HttpOnly_www.example.com\tFALSE\t/docs\tFALSE\t0\thost\t1\n"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find(".example.com\tTRUE\t/\tTRUE\t0\tdom\t2\n"), std::string::npos) << text.str();

  auto loaded = make_jar();
  ASSERT_TRUE(loaded->load(file).ok());
  EXPECT_EQ(loaded->size(), 4u);
  const auto want = jar_->cookies(url("https://www.example.com/docs/x"));
  const auto got = loaded->cookies(url("https://www.example.com/docs/x"));
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].value, want[i].value);
    EXPECT_EQ(got[i].domain, want[i].domain);
    EXPECT_EQ(got[i].path, want[i].path);
    EXPECT_EQ(got[i].secure, want[i].secure);
    EXPECT_EQ(got[i].http_only, want[i].http_only);
    EXPECT_EQ(got[i].host_only, want[i].host_only);
    EXPECT_EQ(got[i].expires.has_value(), want[i].expires.has_value());
  }
  EXPECT_EQ(loaded->cookie_header(url("http://sub.example.com/")), "");  // dom is Secure
  EXPECT_EQ(loaded->cookie_header(url("https://sub.example.com/")), "dom=2");
}

TEST_F(CookieFileTest, LoadReadsCurlFilesAndSkipsWhatItCannotUse) {
  const auto file = dir_ / "curl.txt";
  std::ofstream(file) << "# Netscape HTTP Cookie File\n"
                         "# https://curl.se/docs/http-cookies.html\n"
                         "\n"
                         ".example.com\tTRUE\t/\tFALSE\t0\tsession\ts\r\n"
                         "#HttpOnly_example.com\tFALSE\t/\tFALSE\t2000000000\tho\th\n"
                         "example.com\tFALSE\t/\tFALSE\t1000\texpired\te\n"
                         "garbage line\n"
                         "example.com\tFALSE\t/\tFALSE\tnotanumber\tbad\tb\n"
                         "example.com\tFALSE\t/\tFALSE\t0\tnovalue\n";
  ASSERT_TRUE(jar_->load(file).ok());
  EXPECT_EQ(jar_->size(), 3u);
  EXPECT_EQ(header("http://example.com/"), "session=s; ho=h; novalue=");
  EXPECT_EQ(header("http://www.example.com/"), "session=s");
  const auto cookies = jar_->cookies(url("http://example.com/"));
  ASSERT_EQ(cookies.size(), 3u);
  EXPECT_TRUE(cookies[1].http_only);
  EXPECT_TRUE(cookies[1].expires.has_value());
}

TEST_F(CookieFileTest, LoadAndSaveReportIoErrors) {
  const auto missing = jar_->load(dir_ / "missing.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::io);
  EXPECT_NE(missing.error().message().find("missing.txt"), std::string::npos);
  const auto unwritable = jar_->save(dir_ / "no-such-dir" / "cookies.txt");
  ASSERT_FALSE(unwritable.ok());
  EXPECT_EQ(unwritable.error().kind(), ErrorKind::io);
}

TEST_F(CookieJarTest, ManyThreadsSetAndGetAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      const std::string host = "http://h" + std::to_string(t % 3) + ".example.com/";
      const Url u = url(host);
      for (int i = 0; i < kRounds; ++i) {
        const std::string value = "t" + std::to_string(t) + "=" + std::to_string(i) + "; Domain=example.com";
        jar_->set_cookies(u, {value});
        EXPECT_FALSE(jar_->cookie_header(u).empty());
        (void)jar_->size();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(jar_->size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(jar_->cookies(url("http://example.com/")).size(), static_cast<std::size_t>(kThreads));
}

}  // namespace
}  // namespace nethttp
