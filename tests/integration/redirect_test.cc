// The Client following redirects against a real in-process server.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/response_body.h"
#include "support/test_server.h"
#include "support/wait.h"

namespace nethttp {
namespace {

using testing::body_of;

using testing::ServerRequest;
using testing::ServerResponse;
using testing::TestServer;

/// Serves /to/<status>/<path> as a redirect with that status to /<path> (or
/// to <path> itself when it is an absolute URL),
/// /loop as a redirect to itself, /nolocation as a 302 without Location,
/// /stall as a head whose body never comes, anything else as 200 with the
/// method and path in the body.
void handler(const ServerRequest& request, ServerResponse& response) {
  const std::string& target = request.target;
  if (target.starts_with("/to/")) {
    const std::size_t slash = target.find('/', 4);
    response.set_status(std::stoi(target.substr(4, slash - 4)));
    std::string location = target.substr(slash + 1);
    if (location.find("://") == std::string::npos) location.insert(0, "/");
    response.add_header("Location", location);
    response.set_body("moved");
  } else if (target == "/loop") {
    response.set_status(302);
    response.add_header("Location", "/loop");
  } else if (target == "/dir/rel" || target == "/dir/up" || target == "/schemerel" || target == "/ownfrag") {
    // Location forms: a relative path, a dot-segment, scheme-relative, one
    // with a fragment of its own.
    response.set_status(302);
    const std::string host = request.header("Host").value_or("");
    response.add_header("Location", target == "/dir/rel"     ? "sub/x"
                                    : target == "/dir/up"    ? "../top?q=1"
                                    : target == "/schemerel" ? "//" + host + "/landed"
                                                             : "/landed#own");
  } else if (target == "/nolocation") {
    response.set_status(302);
  } else if (target == "/login") {
    // A cookie set on a redirect: the next hop must already send it.
    response.set_status(302);
    response.add_header("Set-Cookie", "session=abc; Path=/");
    response.add_header("Location", "/whoami");
  } else if (target == "/whoami") {
    response.set_body(request.header("Cookie").value_or("(none)"));
  } else if (target == "/stall") {
    response.add_header("Content-Length", "10");
    response.flush();
    response.sleep(testing::kWait);
  } else {
    response.set_body(request.method + " " + target);
  }
}

/// A body that can be read only once.
class OneShot final : public BodySource {
 public:
  Result<std::size_t> read(std::span<char> buf) override {
    if (done_ || buf.empty()) return std::size_t{0};
    done_ = true;
    buf[0] = 'x';
    return std::size_t{1};
  }

 private:
  bool done_ = false;
};

class ClientRedirect : public testing::LeakCheckedTest {
 protected:
  TestServer& server() { return keep_server(std::make_shared<TestServer>(handler)); }
  Client client(ClientOptions options = {}) {
    return Client(testing::borrow(make_transport()), std::move(options));
  }
};

TEST_F(ClientRedirect, FollowsAChainOnOneConnectionAndReportsItsLength) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.get(s.url() + "/to/302/to/301/done");
  EXPECT_EQ(body_of(r), "GET /done");
  EXPECT_EQ(r->redirects, 2);
  EXPECT_EQ(r->request->url.str(), s.url() + "/done");
  EXPECT_TRUE(r->conn.reused) << "the previous bodies were drained: the connection was reused";
  EXPECT_EQ(s.connections_accepted(), 1u);
}

TEST_F(ClientRedirect, ResolvesEveryFormOfLocationAgainstTheCurrentUrl) {
  TestServer& s = server();
  Client c = client();
  const auto final_url = [](const Result<Response>& r) {
    return r ? r->request->url.str() : r.error().message();
  };
  Result<Response> rel = c.get(s.url() + "/dir/rel");
  EXPECT_EQ(final_url(rel), s.url() + "/dir/sub/x");
  EXPECT_EQ(body_of(rel), "GET /dir/sub/x");
  Result<Response> up = c.get(s.url() + "/dir/up");
  EXPECT_EQ(final_url(up), s.url() + "/top?q=1");
  Result<Response> scheme_relative = c.get(s.url() + "/schemerel");
  EXPECT_EQ(final_url(scheme_relative), s.url() + "/landed");
  Result<Response> absolute = c.get(s.url() + "/to/302/" + s.url() + "/abs");
  EXPECT_EQ(final_url(absolute), s.url() + "/abs");
  // Fragments (RFC 9110 §10.2.2): a Location without one inherits the
  // request's; one with its own keeps it. Neither is sent.
  Result<Response> inherited = c.get(s.url() + "/to/302/landed#section");
  EXPECT_EQ(final_url(inherited), s.url() + "/landed#section");
  Result<Response> own = c.get(s.url() + "/ownfrag#section");
  EXPECT_EQ(final_url(own), s.url() + "/landed#own");
  for (const ServerRequest& seen : s.requests()) {
    EXPECT_EQ(seen.target.find('#'), std::string::npos) << seen.target;
  }
}

TEST_F(ClientRedirect, TurnsAPostIntoAGetWithoutItsBodyOn301To303) {
  TestServer& s = server();
  Client c = client();
  for (const char* status : {"301", "302", "303"}) {
    SCOPED_TRACE(status);
    Result<Response> r =
        c.post(s.url() + "/to/" + status + "/form", "text/plain", RequestBody::from_string("data"));
    EXPECT_EQ(body_of(r), "GET /form");
  }
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 6u);
  for (std::size_t i = 1; i < seen.size(); i += 2) {
    EXPECT_EQ(seen[i].method, "GET");
    EXPECT_EQ(seen[i].body, "");
    EXPECT_FALSE(seen[i].header("Content-Type")) << "a field about the dropped body went along";
  }
}

TEST_F(ClientRedirect, KeepsMethodAndBodyOn307And308) {
  TestServer& s = server();
  Client c = client();
  for (const char* status : {"307", "308"}) {
    SCOPED_TRACE(status);
    Result<Response> r =
        c.post(s.url() + "/to/" + status + "/again", "text/plain", RequestBody::from_string("data"));
    EXPECT_EQ(body_of(r), "POST /again");
  }
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1].body, "data");
  EXPECT_EQ(seen[3].body, "data");
  EXPECT_EQ(seen[3].header("Content-Type"), "text/plain");
}

TEST_F(ClientRedirect, ReturnsA307AsIsWhenItsBodyCannotBeSentAgain) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.post(s.url() + "/to/307/again", "text/plain",
                              RequestBody::from_stream(std::make_unique<OneShot>(), 1));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 307);
  EXPECT_EQ(r->redirects, 0);
}

TEST_F(ClientRedirect, FailsWithTooManyRedirectsAfterTenRequests) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.get(s.url() + "/loop");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::too_many_redirects);
  EXPECT_NE(r.error().message().find("10 requests"), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().response_status(), 302) << "the redirect it stopped at";
  EXPECT_EQ(s.requests().size(), 10u);
}

TEST_F(ClientRedirect, HonoursAChainLimitAndNoFollow) {
  TestServer& s = server();
  ClientOptions three;
  three.max_redirects = 3;
  Client limited = client(three);
  Result<Response> r = limited.get(s.url() + "/to/302/to/302/done");
  EXPECT_EQ(body_of(r), "GET /done");
  Result<Response> too_long = limited.get(s.url() + "/to/302/to/302/to/302/done");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().kind(), ErrorKind::too_many_redirects);

  ClientOptions none;
  none.max_redirects = 0;
  Client no_follow = client(none);
  Result<Response> moved = no_follow.get(s.url() + "/to/302/done");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->status, 302);
  EXPECT_EQ(moved->header.get("Location"), "/done");
}

TEST_F(ClientRedirect, ReturnsA3xxWithoutLocationAsIs) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.get(s.url() + "/nolocation");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 302);
}

TEST_F(ClientRedirect, AsksThePolicyWithTheNextRequestAndTheChain) {
  TestServer& s = server();
  std::vector<std::string> seen;
  ClientOptions options;
  options.check_redirect =
      [&](const Request& next,
          std::span<const std::shared_ptr<const Request>> via) -> Result<RedirectVerdict> {
    seen.push_back(next.url.path() + " after " + std::to_string(via.size()));
    if (next.url.path() == "/forbidden") return Error(ErrorKind::invalid_request, "not there");
    return next.url.path() == "/stop" ? RedirectVerdict::stop : RedirectVerdict::follow;
  };
  Client c = client(options);
  Result<Response> stopped = c.get(s.url() + "/to/302/to/302/stop");
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->status, 302);
  EXPECT_EQ(seen, (std::vector<std::string>{"/to/302/stop after 1", "/stop after 2"}));
  Result<Response> failed = c.get(s.url() + "/to/302/forbidden");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message(), "not there");
  EXPECT_EQ(failed.error().response_status(), 302);
}

TEST_F(ClientRedirect, DropsCredentialsForAnotherServerAndNeverSendsThemAgainInTheChain) {
  TestServer& first = server();
  TestServer& second = server();
  Client c = client();
  // first -> second (another port: credentials dropped) -> back to first.
  Result<Request> request =
      make_request("GET", first.url() + "/to/302/" + second.url() + "/to/302/" + first.url() + "/end");
  ASSERT_TRUE(request.ok());
  request->header.add("Authorization", "Bearer secret");
  request->header.add("Cookie", "a=1");
  request->header.add("X-Trace", "kept");
  Result<Response> r = c.send(*std::move(request));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->redirects, 2);
  const std::vector<ServerRequest> at_first = first.requests();
  const std::vector<ServerRequest> at_second = second.requests();
  ASSERT_EQ(at_first.size(), 2u);
  ASSERT_EQ(at_second.size(), 1u);
  EXPECT_EQ(at_first[0].header("Authorization"), "Bearer secret");
  EXPECT_FALSE(at_second[0].header("Authorization"));
  EXPECT_FALSE(at_second[0].header("Cookie"));
  EXPECT_EQ(at_second[0].header("X-Trace"), "kept");
  EXPECT_FALSE(at_first[1].header("Authorization")) << "dropped once, dropped for the rest of the chain";
  EXPECT_FALSE(at_first[1].header("Cookie"));
}

TEST_F(ClientRedirect, SetsTheRefererUnlessTheCallerDid) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.get(s.url() + "/to/302/next");
  EXPECT_EQ(body_of(r), "GET /next");
  Result<Request> own = make_request("GET", s.url() + "/to/302/next");
  ASSERT_TRUE(own.ok());
  own->header.add("Referer", "http://elsewhere/");
  Result<Response> r2 = c.send(*std::move(own));
  EXPECT_EQ(body_of(r2), "GET /next");
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1].header("Referer"), s.url() + "/to/302/next");
  EXPECT_EQ(seen[3].header("Referer"), "http://elsewhere/");
}

TEST_F(ClientRedirect, SendsCookiesOfTheJarSetOnTheWayAndKeepsThemForLaterRequests) {
  TestServer& s = server();
  ClientOptions options;
  options.jar = std::make_shared<CookieJar>();
  Client c = client(options);
  Result<Response> r = c.get(s.url() + "/login");
  EXPECT_EQ(body_of(r), "session=abc");
  Result<Request> own = make_request("GET", s.url() + "/whoami");
  ASSERT_TRUE(own.ok());
  own->header.add("Cookie", "mine=1");
  Result<Response> later = c.send(*std::move(own));
  EXPECT_EQ(body_of(later), "mine=1; session=abc") << "the caller's cookie first, then the jar's";

  Client without_jar = client();
  Result<Response> none = without_jar.get(s.url() + "/login");
  EXPECT_EQ(body_of(none), "(none)") << "no jar by default, as in Go";
}

TEST_F(ClientRedirect, RefusesALocationThatIsNotHttp) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.get(s.url() + "/to/302/x");
  EXPECT_EQ(body_of(r), "GET /x");
  Result<Response> ftp = c.get(s.url() + "/to/302/ftp://example.com/file");
  ASSERT_FALSE(ftp.ok());
  EXPECT_EQ(ftp.error().kind(), ErrorKind::bad_url);
  EXPECT_EQ(ftp.error().response_status(), 302);
}

TEST_F(ClientRedirect, TimeoutCoversReadingTheBody) {
  TestServer& s = server();
  ClientOptions options;
  options.timeout = std::chrono::milliseconds(200);
  Client c = client(options);
  Result<Response> r = c.get(s.url() + "/stall");
  ASSERT_TRUE(r.ok()) << r.error().message();
  Result<std::string> body = r->body.read_all();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().kind(), ErrorKind::timeout);
}

}  // namespace
}  // namespace nethttp
