// The hostile-server suite (issue 8), at the Client: a server that tries to
// smuggle bytes into the next request through the values it sends (a
// Location or Set-Cookie folded over lines, percent-encoded CR LF, a value
// echoed back by the caller), or to redirect the client where it must not
// go: another scheme than http(s), a file, or the caller's own network.
// What the server receives is checked, not only what the client returns.
//
// Covered elsewhere: a request header with CR or LF is refused before
// anything is sent (exchange_test HeaderValueWithCrLfIsRejected...), and a
// bare CR or NUL in a response's Location or Set-Cookie is a protocol error
// (hostile_server_test MalformedHeadIsAProtocolError...).
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "nethttp/cookie_jar.h"
#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"
#include "support/dialers.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/response_body.h"
#include "support/scripted_server.h"
#include "support/wait.h"

namespace nethttp {
namespace {

using testing::body_of;
using testing::GatedDialer;
using testing::kSafetyDeadline;
using testing::LeakCheckedTest;
using testing::Script;
using testing::ScriptedServer;
using testing::ServerRequest;

/// A 302 to `location`, with a small body the client drains.
std::string redirect_to(std::string_view location) {
  return "HTTP/1.1 302 Found\r\nLocation: " + std::string(location) + "\r\nContent-Length: 5\r\n\r\nmoved";
}

/// A GET of `url` that fails rather than hang.
Request get(std::string_view url) {
  Result<Request> made = make_request("GET", url);
  if (!made) {
    ADD_FAILURE() << made.error().message();
    return {};
  }
  made->deadline = std::chrono::steady_clock::now() + kSafetyDeadline;
  return *std::move(made);
}

/// The server must have seen requests without a field of the attacker's
/// choosing and without a line break outside the one ending each line.
void expect_nothing_injected(const std::vector<ServerRequest>& seen) {
  for (const ServerRequest& r : seen) {
    SCOPED_TRACE(r.raw);
    EXPECT_FALSE(r.header("Injected").has_value()) << "a field of the server's choosing was sent";
    EXPECT_EQ(r.target.find_first_of(" \r\n"), std::string::npos);
    for (const auto& [name, value] : r.headers)
      EXPECT_EQ(value.find_first_of("\r\n"), std::string::npos) << name;
  }
}

class HostileRedirect : public LeakCheckedTest {
 protected:
  ScriptedServer& server(std::vector<Script> scripts) {
    return keep_server(std::make_shared<ScriptedServer>(std::move(scripts)));
  }
  Client client(ClientOptions options = {}, TransportOptions transport_options = {}) {
    return Client(testing::borrow(make_transport(std::move(transport_options))), std::move(options));
  }
};

// ---------------------------------------------------------------------------
// Values that try to carry line breaks into the next request

TEST_F(HostileRedirect, FoldedValueEchoedBackByTheCallerIsOneFieldWithoutLineBreaks) {
  // obs-fold: the line after X-Token continues its value (RFC 9112 §5.2).
  ScriptedServer& s =
      server({Script()
                  .expect_request()
                  .send("HTTP/1.1 200 OK\r\nX-Token: abc\r\n Injected: yes\r\nContent-Length: 2\r\n\r\nok")
                  .repeat()});
  Client c = client();
  Result<Response> first = c.send(get(s.url() + "/token"));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_FALSE(first->header.has("Injected"));
  const std::string token(first->header.get("X-Token").value_or(""));
  EXPECT_EQ(token.find_first_of("\r\n"), std::string::npos) << "the fold's line break is in the value";
  EXPECT_NE(token.find("Injected: yes"), std::string::npos) << "the folded line is not part of the value";
  EXPECT_EQ(body_of(first), "ok");

  Request echo = get(s.url() + "/echo");
  echo.header.add("X-Echo", token);
  Result<Response> second = c.send(std::move(echo));
  EXPECT_EQ(body_of(second), "ok");
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].header("X-Echo"), token);
  expect_nothing_injected(seen);
}

TEST_F(HostileRedirect, FoldedLocationNeverPutsARequestLineOrFieldOnTheWire) {
  // Were a fold kept as a line break, the next request would carry a field,
  // or a whole second request, of the server's choosing. Unfolded, it is
  // spaces (percent-encoded in the target) or a tab (no URL may hold one).
  struct Case {
    std::string_view fold;
    std::string_view target;  ///< of the followed request; empty: a bad_url
  };
  const Case cases[] = {
      {"/landed\r\n Injected: yes", "/landed%20%20%20Injected:%20yes"},
      {"/landed\r\n Injected: yes\r\n\tGET /smuggled HTTP/1.1", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fold);
    ScriptedServer s(
        {Script()
             .expect_request()
             .send("HTTP/1.1 302 Found\r\nLocation: " + std::string(c.fold) + "\r\nContent-Length: 0\r\n\r\n")
             .expect_request()
             .respond("ok")});
    Transport t;
    Client follower(testing::borrow(t));
    Result<Response> r = follower.send(get(s.url() + "/start"));
    const std::vector<ServerRequest> seen = s.requests();
    if (c.target.empty()) {
      ASSERT_FALSE(r) << "followed to " << r->request->url.str();
      EXPECT_EQ(r.error().kind(), ErrorKind::bad_url) << r.error().message();
      EXPECT_NE(r.error().message().find("control character"), std::string::npos) << r.error().message();
      EXPECT_EQ(seen.size(), 1u);
    } else {
      EXPECT_EQ(body_of(r), "ok");
      ASSERT_EQ(seen.size(), 2u);
      EXPECT_EQ(seen[1].target, c.target);
    }
    expect_nothing_injected(seen);
  }
}

TEST_F(HostileRedirect, PercentEncodedLineBreaksInALocationStayEncodedOnTheWire) {
  ScriptedServer& s = server({Script()
                                  .expect_request()
                                  .send(redirect_to("/next%0D%0AInjected:%20yes%0d%0a"))
                                  .expect_request()
                                  .respond("landed")});
  Client c = client();
  Result<Response> r = c.send(get(s.url() + "/start"));
  EXPECT_EQ(body_of(r), "landed");
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 2u);
  // Percent-escapes are normalised to upper case (RFC 3986 §6.2.2.1), never decoded.
  EXPECT_EQ(seen[1].target, "/next%0D%0AInjected:%20yes%0D%0A");
  expect_nothing_injected(seen);
}

TEST_F(HostileRedirect, FoldedSetCookieNeverAddsAFieldToTheNextRequest) {
  ScriptedServer& s =
      server({Script()
                  .expect_request()
                  .send("HTTP/1.1 302 Found\r\nSet-Cookie: session=abc\r\n Injected: yes\r\nSet-Cookie: "
                        "other=1; Path=/\r\nLocation: /whoami\r\nContent-Length: 0\r\n\r\n")
                  .expect_request()
                  .respond("landed")});
  ClientOptions options;
  options.jar = std::make_shared<CookieJar>();
  Client c = client(std::move(options));
  Result<Response> r = c.send(get(s.url() + "/login"));
  EXPECT_EQ(body_of(r), "landed");
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].target, "/whoami");
  // Both cookies went along, in the one Cookie field: the folded line is
  // part of a value, whatever the jar makes of it.
  const std::string cookie = seen[1].header("Cookie").value_or("");
  EXPECT_TRUE(cookie.starts_with("session=abc")) << cookie;
  EXPECT_NE(cookie.find("other=1"), std::string::npos) << cookie;
  expect_nothing_injected(seen);
}

// ---------------------------------------------------------------------------
// Redirects to other schemes

TEST_F(HostileRedirect, RedirectToASchemeOtherThanHttpIsABadUrlNamingTheLocation) {
  const std::string_view locations[] = {
      "ftp://example.com/file",
      "file:///etc/passwd",
      "file://localhost/etc/passwd",
      "javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "gopher://127.0.0.1:70/_GET%20/",
      "ws://example.com/socket",
      "mailto:root@example.com",
  };
  for (const std::string_view location : locations) {
    SCOPED_TRACE(location);
    ScriptedServer s({Script().expect_request().send(redirect_to(location)).repeat()});
    Transport t;
    Client c(testing::borrow(t));
    Result<Response> r = c.send(get(s.url() + "/start"));
    ASSERT_FALSE(r) << "followed to " << r->request->url.str();
    EXPECT_EQ(r.error().kind(), ErrorKind::bad_url) << r.error().message();
    EXPECT_EQ(r.error().response_status(), 302);
    EXPECT_TRUE(r.error().message().starts_with("following the redirect from " + s.url() + "/start: "))
        << r.error().message();
    EXPECT_NE(r.error().message().find("unsupported scheme"), std::string::npos) << r.error().message();
    // Quoted as any URL in a message: what reads as a password replaced.
    EXPECT_NE(r.error().message().find("\"" + redact_url_text(location) + "\""), std::string::npos)
        << r.error().message();
    EXPECT_EQ(s.requests().size(), 1u);
    // The redirect's own exchange was clean: its connection is kept.
    EXPECT_EQ(t.stats().in_use, 0u);
    EXPECT_EQ(t.stats().idle, 1u);
  }
}

// ---------------------------------------------------------------------------
// Redirects into the caller's network

/// Servers that look public: every host is dialed to the test server.
class InternalRedirect : public HostileRedirect {
 protected:
  /// A client whose every dial goes to `s`, whatever the host.
  Client client_to(const ScriptedServer& s, bool allow_internal) {
    dialer_ = std::make_shared<GatedDialer>(s.port());
    ClientOptions options;
    options.allow_internal_redirects = allow_internal;
    TransportOptions transport_options;
    transport_options.dial = GatedDialer::func(dialer_);
    return client(std::move(options), std::move(transport_options));
  }
  std::shared_ptr<GatedDialer> dialer_;
};

/// Internal-looking Locations, and the target the followed request asks for.
struct InternalLocation {
  std::string location;
  std::string target;
};

/// The port is any: every dial goes to the test server.
std::vector<InternalLocation> internal_locations() {
  const std::string p = "8080";
  return {
      {"http://127.0.0.1:" + p + "/admin", "/admin"},
      {"http://10.0.0.1:" + p + "/", "/"},
      {"http://192.168.1.1:" + p + "/router", "/router"},
      {"http://172.16.0.1:" + p + "/", "/"},
      {"http://100.64.0.1:" + p + "/cgnat", "/cgnat"},
      {"http://169.254.169.254:" + p + "/latest/meta-data/", "/latest/meta-data/"},
      {"http://0.0.0.0:" + p + "/", "/"},
      {"http://[::1]:" + p + "/", "/"},
      {"http://[fd00::1]:" + p + "/", "/"},
      {"http://[fe80::1]:" + p + "/", "/"},
      {"http://[::ffff:127.0.0.1]:" + p + "/mapped", "/mapped"},
      {"http://[::ffff:a9fe:a9fe]:" + p + "/mapped-metadata", "/mapped-metadata"},
      {"http://localhost:" + p + "/", "/"},
      {"http://LOCALHOST.:" + p + "/", "/"},
      {"http://api.localhost:" + p + "/", "/"},
      {"http://printer.local:" + p + "/", "/"},
      {"http://metadata.google.internal:" + p + "/computeMetadata/v1/", "/computeMetadata/v1/"},
      {"http://intranet:" + p + "/", "/"},
      {"//127.0.0.1:" + p + "/scheme-relative", "/scheme-relative"},
  };
}

TEST_F(InternalRedirect, FromAPublicHostToAnInternalOneIsABadUrlByDefault) {
  for (const InternalLocation& l : internal_locations()) {
    SCOPED_TRACE(l.location);
    ScriptedServer hostile({Script().expect_request().send(redirect_to(l.location)).repeat()});
    Client c = client_to(hostile, /*allow_internal=*/false);
    Result<Response> r = c.send(get("http://example.com:" + std::to_string(hostile.port()) + "/start"));
    ASSERT_FALSE(r) << "followed to " << r->request->url.str();
    EXPECT_EQ(r.error().kind(), ErrorKind::bad_url) << r.error().message();
    EXPECT_EQ(r.error().response_status(), 302);
    EXPECT_TRUE(
        r.error().message().starts_with("redirect from http://example.com:" + std::to_string(hostile.port()) +
                                        "/start to the internal host "))
        << r.error().message();
    EXPECT_EQ(hostile.requests().size(), 1u) << "the internal host got a request";
    EXPECT_EQ(dialer_->dials_started(), 1) << "the internal host was dialed";
  }
}

TEST_F(InternalRedirect, FromAPublicHostToAnInternalOneIsFollowedWhenAllowed) {
  for (const InternalLocation& l : internal_locations()) {
    SCOPED_TRACE(l.location);
    ScriptedServer hostile({Script().expect_request().send(redirect_to(l.location)).repeat()});
    Client c = client_to(hostile, /*allow_internal=*/true);
    Result<Response> r = c.send(get("http://example.com:" + std::to_string(hostile.port()) + "/start"));
    EXPECT_EQ(body_of(r), "ok");
    const std::vector<ServerRequest> seen = hostile.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].target, l.target);
  }
}

TEST_F(InternalRedirect, FromAPublicHostToAnotherPublicOneIsFollowed) {
  ScriptedServer& s = server({Script().expect_request().send(redirect_to("http://example.org/elsewhere"))});
  Client c = client_to(s, /*allow_internal=*/false);
  Result<Response> r = c.send(get("http://example.com:" + std::to_string(s.port()) + "/start"));
  EXPECT_EQ(body_of(r), "ok");
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].header("Host"), "example.org");
}

// Numeric hosts that inet_aton() reads as 127.0.0.1 but a strict parser
// would not: refused as unusable Locations, whatever the policy.
TEST_F(InternalRedirect, AmbiguousNumericHostsAreBadUrlsEvenWhenInternalHostsAreAllowed) {
  for (const std::string_view location : {"http://0x7f.0.0.1/", "http://0x7f000001/", "http://2130706433/",
                                          "http://0177.0.0.1/", "http://127.1/", "http://127.0.0.1.:80/"}) {
    SCOPED_TRACE(location);
    ScriptedServer hostile({Script().expect_request().send(redirect_to(location)).repeat()});
    Client c = client_to(hostile, /*allow_internal=*/true);
    Result<Response> r = c.send(get("http://example.com:" + std::to_string(hostile.port()) + "/start"));
    ASSERT_FALSE(r) << "followed to " << r->request->url.str();
    EXPECT_EQ(r.error().kind(), ErrorKind::bad_url) << r.error().message();
    EXPECT_NE(r.error().message().find("ambiguous numeric host"), std::string::npos) << r.error().message();
    EXPECT_EQ(hostile.requests().size(), 1u);
    EXPECT_EQ(dialer_->dials_started(), 1);
  }
}

// A public host may not reach the internal one through another public hop.
TEST_F(InternalRedirect, ThroughAnotherPublicHopIsRefusedAtTheHopIntoTheInternalHost) {
  // Connection 0 is example.com's, connection 1 example.org's.
  ScriptedServer& s = server({Script().expect_request().send(redirect_to("http://example.org/hop")),
                              Script().expect_request().send(redirect_to("http://127.0.0.1/admin"))});
  Client c = client_to(s, /*allow_internal=*/false);
  Result<Response> r = c.send(get("http://example.com:" + std::to_string(s.port()) + "/start"));
  ASSERT_FALSE(r) << "followed to " << r->request->url.str();
  EXPECT_EQ(r.error().kind(), ErrorKind::bad_url) << r.error().message();
  EXPECT_NE(r.error().message().find("redirect from http://example.org/hop to the internal host "
                                     "http://127.0.0.1/admin"),
            std::string::npos)
      << r.error().message();
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].target, "/hop");
}

}  // namespace
}  // namespace nethttp
