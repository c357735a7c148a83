// The Client's cookie jar across hosts, paths and redirects. One in-process
// server plays every host: a dial hook sends each name (a.example.test,
// b.example.test, a.example.co.uk, ...) to it, so domain rules apply as they
// would across real servers, and the server answers by the Host it is asked
// for.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "nethttp/cookie_jar.h"
#include "support/dialers.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/test_server.h"

namespace nethttp {
namespace {

using testing::GatedDialer;
using testing::ServerRequest;
using testing::ServerResponse;
using testing::TestServer;

/// Decodes the %XX escapes of a path segment.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// /set?<Set-Cookie, escaped>[&<another>...][&next=<URL>]: sets the cookies
/// (the default path of /set is /), then redirects (302) to URL when given.
/// Any other target answers with the Cookie field it got, or "(none)".
void handler(const ServerRequest& request, ServerResponse& response) {
  const std::string_view target = request.target;
  if (!target.starts_with("/set?")) {
    response.set_body(request.header("Cookie").value_or("(none)"));
    return;
  }
  std::string_view query = target.substr(5);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (item.starts_with("next=")) {
      response.set_status(302);
      response.add_header("Location", unescape(item.substr(5)));
    } else {
      response.add_header("Set-Cookie", unescape(item));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  response.set_body("set");
}

class ClientCookies : public testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    server_ = &keep_server(std::make_shared<TestServer>(handler));
    TransportOptions options;
    options.dial = GatedDialer::func(std::make_shared<GatedDialer>(server_->port()));
    ClientOptions policy;
    policy.jar = jar_;
    client_ = std::make_unique<Client>(testing::borrow(make_transport(std::move(options))), policy);
  }
  void TearDown() override {
    client_.reset();
    LeakCheckedTest::TearDown();
  }

  /// "http://HOST:PORT" of the one server under another name.
  std::string origin(const std::string& host) const {
    return "http://" + host + ":" + std::to_string(server_->port());
  }
  /// GETs `url` and returns the body, or "error: ...".
  std::string get(const std::string& url) {
    Result<Response> r = client_->get(url);
    if (!r) return "error: " + r.error().message();
    return std::move(r)->body.read_all().value_or("(body failed)");
  }

  std::shared_ptr<CookieJar> jar_ = std::make_shared<CookieJar>();
  TestServer* server_ = nullptr;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientCookies, ADomainCookieGoesToSiblingHostsAndAHostOnlyOneStaysHome) {
  const std::string a = origin("a.example.test");
  const std::string b = origin("b.example.test");
  // a sets both, then redirects to b: only the domain cookie goes along.
  EXPECT_EQ(get(a + "/set?h=1&d=2;%20Domain=example.test&next=" + b + "/echo"), "d=2");
  EXPECT_EQ(get(a + "/echo"), "h=1; d=2");
  EXPECT_EQ(get(origin("example.test") + "/echo"), "d=2");
  EXPECT_EQ(get(origin("other.test") + "/echo"), "(none)");
  EXPECT_EQ(get(origin("notexample.test") + "/echo"), "(none)") << "a suffix that is not a subdomain";
}

TEST_F(ClientCookies, ADomainThatIsAPublicSuffixIsRejected) {
  const std::string a = origin("a.example.co.uk");
  EXPECT_EQ(get(a + "/set?x=1;%20Domain=co.uk&y=2;%20Domain=example.co.uk"), "set");
  EXPECT_EQ(get(a + "/echo"), "y=2") << "co.uk is a public suffix (libpsl)";
  EXPECT_EQ(get(origin("b.example.co.uk") + "/echo"), "y=2");
  EXPECT_EQ(get(origin("other.co.uk") + "/echo"), "(none)");
}

TEST_F(ClientCookies, APathCookieGoesOnlyUnderItsPathAlsoOnRedirects) {
  const std::string a = origin("a.example.test");
  EXPECT_EQ(get(a + "/set?p=1;%20Path=/private&next=/public/echo"), "(none)");
  EXPECT_EQ(get(a + "/private/echo"), "p=1");
  EXPECT_EQ(get(a + "/privateer"), "(none)") << "a path prefix that is not a segment";
}

TEST_F(ClientCookies, MaxAgeZeroOrAPastExpiresDeletesAndTheNextResponseSeesIt) {
  const std::string a = origin("a.example.test");
  EXPECT_EQ(get(a + "/set?s=1&t=2&u=3"), "set");
  EXPECT_EQ(get(a + "/echo"), "s=1; t=2; u=3");
  EXPECT_EQ(get(a + "/set?s=;%20Max-Age=0&t=;%20Expires=Thu,%2001%20Jan%201970%2000:00:00%20GMT&next=/echo"),
            "u=3");
  EXPECT_EQ(jar_->size(), 1u);
}

TEST_F(ClientCookies, SecureAndHttpOnlyAttributesAreKept) {
  const std::string a = origin("a.example.test");
  EXPECT_EQ(get(a + "/set?sec=1;%20Secure&ho=2;%20HttpOnly;%20SameSite=Strict"), "set");
  EXPECT_EQ(get(a + "/echo"), "ho=2") << "a Secure cookie from http is refused; HttpOnly goes over HTTP";
  const std::vector<Cookie> kept = jar_->cookies(Url::parse(a + "/").value());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_TRUE(kept[0].http_only);
  EXPECT_EQ(kept[0].same_site, Cookie::SameSite::strict);
}

}  // namespace
}  // namespace nethttp
