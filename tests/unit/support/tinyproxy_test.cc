// The tinyproxy harness (tests/support/tinyproxy.h), driven by raw sockets
// (and, through a CONNECT tunnel, the minimal OpenSSL client of
// tls_client.h), not by the library under test: it starts a real tinyproxy,
// forwards absolute-form requests, tunnels TLS to nginx, asks for
// credentials when told to, reports unreachable targets as 5xx, logs what it
// was asked, and leaves nothing.
#include "support/tinyproxy.h"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/nginx.h"
#include "support/scoped_env.h"
#include "support/test_server.h"
#include "support/tls_certs.h"
#include "unit/support/tls_client.h"

namespace nethttp::testing {
namespace {

using namespace std::chrono_literals;

/// "GET http://127.0.0.1:PORT/target HTTP/1.1" with Host and `fields`.
std::string absolute_get(std::uint16_t port, const std::string& target, const std::string& fields = {}) {
  const std::string authority = "127.0.0.1:" + std::to_string(port);
  return "GET http://" + authority + target + " HTTP/1.1\r\nHost: " + authority + "\r\n" + fields + "\r\n";
}

std::string connect_request(std::uint16_t port, const std::string& fields = {}) {
  const std::string authority = "127.0.0.1:" + std::to_string(port);
  return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n" + fields + "\r\n";
}

/// Sends `request` to the proxy on a new connection and reads the response
/// (its head only for CONNECT: a 200 has no body, the tunnel follows).
std::optional<RawResponse> ask(const TinyproxyServer& proxy, const std::string& request,
                               RawSocket* keep = nullptr) {
  RawSocket socket = RawSocket::connect_tcp(proxy.port());
  if (!socket.ok() || !socket.send_all(request)) {
    ADD_FAILURE() << socket.error();
    return std::nullopt;
  }
  std::optional<RawResponse> response = socket.read_response(request.rfind("CONNECT ", 0) == 0);
  if (!response) ADD_FAILURE() << socket.error();
  if (keep != nullptr) *keep = std::move(socket);
  return response;
}

TEST(TinyproxyServer, StartsAndForwardsAnAbsoluteFormGetToATestServer) {
  TestServer origin([](const ServerRequest&, ServerResponse& response) {
    response.add_header("X-Origin", "yes");
    response.set_body("hello from the origin");
  });
  TinyproxyServer proxy;
  ASSERT_TRUE(proxy.start());
  ASSERT_TRUE(proxy.running());
  EXPECT_GT(proxy.pid(), 0);
  EXPECT_EQ(proxy.url(), "http://127.0.0.1:" + std::to_string(proxy.port()));
  EXPECT_EQ(proxy.url_with_credentials(), proxy.url());
  EXPECT_EQ(proxy.proxy_authorization(), "");
  EXPECT_TRUE(proxy.requests().empty()) << "the readiness probes are left out";

  RawSocket socket;
  const std::optional<RawResponse> response = ask(proxy, absolute_get(origin.port(), "/a/b?c=d"), &socket);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response->body, "hello from the origin");
  EXPECT_EQ(response->field("X-Origin"), "yes");
  EXPECT_EQ(response->field("Via"), "1.1 tinyproxy (tinyproxy/1.11.1)");
  EXPECT_TRUE(socket.wait_for_close()) << "one request per client connection: " << socket.error();

  ASSERT_TRUE(origin.wait_for_requests(1, 5s));
  const std::vector<ServerRequest> seen = origin.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/a/b?c=d") << "forwarded in origin form";
  EXPECT_EQ(seen[0].header("Host"), "127.0.0.1:" + std::to_string(origin.port()));
  EXPECT_TRUE(seen[0].has_token("Connection", "close"));
  EXPECT_EQ(seen[0].header("Via"), "1.1 tinyproxy (tinyproxy/1.11.1)");

  EXPECT_EQ(proxy.requests(), std::vector<std::string>{"GET http://127.0.0.1:" +
                                                       std::to_string(origin.port()) + "/a/b?c=d HTTP/1.1"});
  EXPECT_NE(proxy.log().find("Starting main loop"), std::string::npos) << proxy.log();
}

TEST(TinyproxyServer, ConnectTunnelsTlsToNginxsTlsPort) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxOptions options;
  options.file_sizes = {};
  options.tls = NginxTlsOptions{.cert = pki.server_cert(), .key = pki.server_key()};
  NginxServer nginx(options);
  ASSERT_TRUE(nginx.start());
  TinyproxyServer proxy;
  ASSERT_TRUE(proxy.start());

  RawSocket tunnel;
  const std::optional<RawResponse> established = ask(proxy, connect_request(nginx.tls_port()), &tunnel);
  ASSERT_TRUE(established);
  EXPECT_EQ(established->status_line, "HTTP/1.0 200 Connection established");
  EXPECT_EQ(established->field("Proxy-agent"), "tinyproxy/1.11.1");

  const TlsOutcome response = tls_get_through(tunnel.fd(), trusting(pki.ca_cert()));
  EXPECT_TRUE(response.handshake) << "TLS handshake through the tunnel failed: " << response.error;
  EXPECT_EQ(response.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response.head << response.error;
  EXPECT_EQ(line_value(response.body, "tls-protocol"), "TLSv1.3") << response.body;
  EXPECT_EQ(line_value(response.body, "uri"), "/request");
  EXPECT_EQ(proxy.requests(),
            std::vector<std::string>{"CONNECT 127.0.0.1:" + std::to_string(nginx.tls_port()) + " HTTP/1.1"});
}

TEST(TinyproxyServer, ConnectTunnelsPlainBytesBothWays) {
  NginxOptions options;
  options.file_sizes = {};
  NginxServer nginx(options);
  ASSERT_TRUE(nginx.start());
  TinyproxyServer proxy;
  ASSERT_TRUE(proxy.start());
  RawSocket tunnel;
  const std::optional<RawResponse> established = ask(proxy, connect_request(nginx.port()), &tunnel);
  ASSERT_TRUE(established);
  EXPECT_EQ(established->status, 200);
  // Two requests on the tunnel: it is one TCP connection to nginx, untouched.
  for (const int n : {1, 2}) {
    ASSERT_TRUE(tunnel.send_all(get_request("/request"))) << tunnel.error();
    const std::optional<RawResponse> response = tunnel.read_response();
    ASSERT_TRUE(response) << tunnel.error();
    EXPECT_EQ(line_value(response->body, "connection-requests"), std::to_string(n));
    EXPECT_EQ(response->field("Via"), std::nullopt);
  }
}

TEST(TinyproxyServer, UnreachableTargetsGet500) {
  TinyproxyServer proxy;
  ASSERT_TRUE(proxy.start());
  std::string error;
  const std::optional<std::uint16_t> closed_port = pick_free_port(&error);  // nothing listens there
  ASSERT_TRUE(closed_port) << error;

  const std::optional<RawResponse> connect = ask(proxy, connect_request(*closed_port));
  ASSERT_TRUE(connect);
  EXPECT_EQ(connect->status_line, "HTTP/1.1 500 Unable to connect");
  const std::optional<RawResponse> get = ask(proxy, absolute_get(*closed_port, "/"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status_line, "HTTP/1.1 500 Unable to connect");
  EXPECT_NE(proxy.log().find("Could not establish a connection to 127.0.0.1:" + std::to_string(*closed_port)),
            std::string::npos)
      << proxy.log();
}

TEST(TinyproxyServer, BasicAuthAnswers407WithoutCredentialsAnd401ForWrongOnes) {
  TestServer origin;
  TinyproxyOptions options;
  options.basic_auth = ProxyCredentials{"nethttp", "s3cret-Pass.1"};
  TinyproxyServer proxy(options);
  ASSERT_TRUE(proxy.start());
  EXPECT_EQ(proxy.proxy_authorization(), "Basic bmV0aHR0cDpzM2NyZXQtUGFzcy4x");
  EXPECT_EQ(proxy.url_with_credentials(),
            "http://nethttp:s3cret-Pass.1@127.0.0.1:" + std::to_string(proxy.port()));

  for (const std::string& request : {absolute_get(origin.port(), "/"), connect_request(origin.port())}) {
    SCOPED_TRACE(request);
    const std::optional<RawResponse> without = ask(proxy, request);
    ASSERT_TRUE(without);
    EXPECT_EQ(without->status_line, "HTTP/1.0 407 Proxy Authentication Required");
    EXPECT_EQ(without->field("Proxy-Authenticate"), "Basic realm=\"Tinyproxy\"");
  }
  const std::optional<RawResponse> wrong =
      ask(proxy, absolute_get(origin.port(), "/", "Proxy-Authorization: Basic bmV0aHR0cDp3cm9uZw==\r\n"));
  ASSERT_TRUE(wrong);
  // tinyproxy 1.11 answers wrong credentials with a 401, not a 407.
  EXPECT_EQ(wrong->status_line, "HTTP/1.0 401 Unauthorized");
  EXPECT_EQ(wrong->field("WWW-Authenticate"), "Basic realm=\"Tinyproxy\"");

  const std::string credentials = "Proxy-Authorization: " + proxy.proxy_authorization() + "\r\n";
  const std::optional<RawResponse> with = ask(proxy, absolute_get(origin.port(), "/", credentials));
  ASSERT_TRUE(with);
  EXPECT_EQ(with->status, 200);
  EXPECT_EQ(with->body, "ok");
  RawSocket tunnel;
  const std::optional<RawResponse> connect = ask(proxy, connect_request(origin.port(), credentials), &tunnel);
  ASSERT_TRUE(connect);
  EXPECT_EQ(connect->status, 200);
  ASSERT_TRUE(origin.wait_for_requests(1, 5s));
  EXPECT_EQ(origin.requests()[0].header("Proxy-Authorization"), std::nullopt) << "tinyproxy keeps it";
}

TEST(TinyproxyServer, ViaHeaderCanBeTurnedOff) {
  TestServer origin;
  TinyproxyOptions options;
  options.via_header = false;
  TinyproxyServer proxy(options);
  ASSERT_TRUE(proxy.start());
  const std::optional<RawResponse> response = ask(proxy, absolute_get(origin.port(), "/"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->field("Via"), std::nullopt);
  ASSERT_TRUE(origin.wait_for_requests(1, 5s));
  EXPECT_EQ(origin.requests()[0].header("Via"), std::nullopt);
}

TEST(TinyproxyServer, StopEndsTheProcessAndRemovesTheDirectory) {
  TinyproxyServer proxy;
  ASSERT_TRUE(proxy.start());
  const std::string dir = proxy.dir();
  const std::uint16_t port = proxy.port();
  EXPECT_EQ(dir.rfind("/tmp/nethttp-tinyproxy-", 0), 0u) << dir;
  EXPECT_TRUE(std::filesystem::exists(dir + "/tinyproxy.conf"));
  proxy.stop();
  EXPECT_FALSE(proxy.running());
  EXPECT_EQ(proxy.pid(), -1);
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(proxy.dir(), "");
  RawSocket socket = RawSocket::connect_tcp(port);
  EXPECT_FALSE(socket.ok()) << "nothing listens on " << port << " any more";
  proxy.stop();  // again: a no-op
}

TEST(TinyproxyServer, StartFailsWithTinyproxysMessageWhenTheConfigIsBad) {
  TinyproxyOptions options;
  options.extra_config = "NoSuchDirective yes";
  TinyproxyServer proxy(options);
  const ::testing::AssertionResult started = proxy.start();
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("Syntax error"), std::string::npos) << started.message();
  EXPECT_NE(std::string(started.message()).find("NoSuchDirective yes"), std::string::npos)
      << started.message();
  EXPECT_FALSE(proxy.running());
  EXPECT_EQ(proxy.dir(), "");
}

TEST(TinyproxyServer, StartRefusesCredentialsTinyproxyCannotParse) {
  TinyproxyOptions options;
  options.basic_auth = ProxyCredentials{"user", "p@ss:word"};
  TinyproxyServer proxy(options);
  const ::testing::AssertionResult started = proxy.start();
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("only letters, digits"), std::string::npos)
      << started.message();
  EXPECT_EQ(proxy.dir(), "");
}

TEST(TinyproxyServer, StartFailsSayingToRunTestShWhenTinyproxyIsMissing) {
  TinyproxyServer proxy;
  const ::testing::AssertionResult started =
      with_env("NETHTTP_TINYPROXY", "/nonexistent/tinyproxy", [&] { return proxy.start(); });
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("scripts/test.sh"), std::string::npos) << started.message();
  EXPECT_EQ(proxy.dir(), "");
}

}  // namespace
}  // namespace nethttp::testing
