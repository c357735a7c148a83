#include "client/redirect.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace nethttp::client {
namespace {

/// A body that can be read only once.
class OneShot final : public BodySource {
 public:
  Result<std::size_t> read(std::span<char>) override { return std::size_t{0}; }
};

Url url(std::string_view text) {
  Result<Url> u = Url::parse(text);
  EXPECT_TRUE(u.ok()) << text;
  return u ? *u : Url();
}

Request request(std::string method, RequestBody body = {}) {
  Request r;
  r.method = std::move(method);
  r.url = url("http://example.com/form");
  r.body = std::move(body);
  return r;
}

TEST(RedirectBehavior, FollowsAsGoDoesForEachStatus) {
  struct Case {
    const char* method;
    int status;
    bool follows;
    const char* next_method;
    bool keeps_body;
  };
  const Case cases[] = {
      {"GET", 301, true, "GET", false},  {"HEAD", 302, true, "HEAD", false},
      {"POST", 301, true, "GET", false}, {"POST", 302, true, "GET", false},
      {"PUT", 303, true, "GET", false},  {"DELETE", 303, true, "GET", false},
      {"POST", 307, true, "POST", true}, {"PUT", 308, true, "PUT", true},
      {"GET", 307, true, "GET", false},  {"GET", 300, false, "", false},
      {"GET", 304, false, "", false},    {"GET", 305, false, "", false},
      {"GET", 306, false, "", false},    {"GET", 200, false, "", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + std::to_string(c.status));
    const RequestBody body = std::string(c.method) == "GET" || std::string(c.method) == "HEAD"
                                 ? RequestBody()
                                 : RequestBody::from_string("payload");
    const std::optional<RedirectBehavior> b = redirect_behavior(request(c.method, body), c.status);
    ASSERT_EQ(b.has_value(), c.follows);
    if (!b) continue;
    EXPECT_EQ(b->method, c.next_method);
    EXPECT_EQ(b->keep_body, c.keeps_body);
  }
}

TEST(RedirectBehavior, Returns307And308AsIsWhenTheBodyCannotBeReplayed) {
  const Request post = request("POST", RequestBody::from_stream(std::make_unique<OneShot>(), 3));
  EXPECT_FALSE(redirect_behavior(post, 307));
  EXPECT_FALSE(redirect_behavior(post, 308));
  // 303 drops the body anyway: it is followed.
  ASSERT_TRUE(redirect_behavior(post, 303));
  EXPECT_EQ(redirect_behavior(post, 303)->method, "GET");
}

TEST(RedirectBehavior, Replays307WithAFactoryBody) {
  const Request post =
      request("POST", RequestBody::from_factory([] { return std::make_unique<OneShot>(); }, 0));
  ASSERT_TRUE(redirect_behavior(post, 307));
  EXPECT_TRUE(redirect_behavior(post, 307)->keep_body);
}

TEST(KeepsHeaderOnRedirect, DropsCredentialsForAnotherHostOrPort) {
  struct Case {
    const char* name;
    const char* origin;
    const char* target;
    bool kept;
  };
  const Case cases[] = {
      {"Authorization", "http://example.com/", "http://example.com/next", true},
      {"Authorization", "http://example.com/", "https://example.com/next", false},  // port 80 -> 443
      {"Authorization", "http://example.com/", "http://sub.example.com/", true},
      {"Authorization", "http://example.com/", "http://a.b.example.com/", true},
      {"Authorization", "http://sub.example.com/", "http://example.com/", false},
      {"Authorization", "http://example.com/", "http://evil.com/", false},
      {"Authorization", "http://example.com/", "http://notexample.com/", false},
      {"Authorization", "http://example.com:8080/", "http://example.com:9090/", false},
      {"Authorization", "https://example.com:8443/", "http://example.com:8443/", false},  // clear text
      {"Cookie", "https://example.com:8443/", "http://sub.example.com:8443/", false},
      {"Authorization", "http://example.com:8443/", "https://example.com:8443/", true},
      {"Authorization", "https://example.com/", "https://sub.example.com/", true},
      {"authorization", "http://example.com/", "http://evil.com/", false},
      {"WWW-Authenticate", "http://example.com/", "http://evil.com/", false},
      {"Cookie", "http://example.com/", "http://evil.com/", false},
      {"cookie2", "http://example.com/", "http://evil.com/", false},
      {"Cookie", "http://example.com/", "http://sub.example.com/", true},
      {"Authorization", "http://[::1]:8080/", "http://[::1]:8080/x", true},
      {"Authorization", "http://127.0.0.1/", "http://127.0.0.2/", false},
      {"X-Custom", "http://example.com/", "http://evil.com/", true},
      {"Accept", "http://example.com/", "http://evil.com/", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.name) + ": " + c.origin + " -> " + c.target);
    EXPECT_EQ(keeps_header_on_redirect(c.name, url(c.origin), url(c.target)), c.kept);
  }
}

TEST(RefererFor, IsThePreviousUrlWithoutCredentialsOrFragment) {
  EXPECT_EQ(referer_for(url("http://user:pass@example.com/a?q=1#frag"), url("http://example.com/b")),
            "http://example.com/a?q=1");
  EXPECT_EQ(referer_for(url("http://example.com:8080/a"), url("https://other.com/")),
            "http://example.com:8080/a");
  EXPECT_EQ(referer_for(url("https://example.com/a"), url("https://other.com/")), "https://example.com/a");
}

TEST(RefererFor, IsEmptyFromHttpsToHttp) {
  EXPECT_EQ(referer_for(url("https://example.com/secret"), url("http://example.com/")), "");
}

}  // namespace
}  // namespace nethttp::client
