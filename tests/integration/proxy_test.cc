// Proxies and Unix sockets against real servers: tinyproxy (Debian) as an
// HTTP proxy, forwarding http and tunnelling https with CONNECT, with and
// without credentials; an in-process SOCKS5 server; nginx on a Unix socket.
#include "nethttp/proxy.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "nethttp/transport.h"
#include "support/leak_check.h"
#include "support/nginx.h"
#include "support/printers.h"
#include "support/scoped_env.h"
#include "support/scripted_server.h"
#include "support/socks5_server.h"
#include "support/tinyproxy.h"
#include "support/tls_certs.h"

namespace nethttp {
namespace {

using testing::NginxServer;
using testing::NginxTlsOptions;
using testing::Socks5Server;
using testing::Socks5ServerOptions;
using testing::TestPki;
using testing::TinyproxyServer;

class Proxy : public testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    ASSERT_TRUE(TestPki::shared().ok());
    testing::NginxOptions options;
    options.tls =
        NginxTlsOptions{.cert = TestPki::shared().server_cert(), .key = TestPki::shared().server_key()};
    auto server = std::make_shared<NginxServer>(std::move(options));
    ASSERT_TRUE(server->start());
    nginx_ = &keep_server(std::move(server));
  }

  TinyproxyServer& tinyproxy(testing::TinyproxyOptions options = {}) {
    auto proxy = std::make_shared<TinyproxyServer>(std::move(options));
    EXPECT_TRUE(proxy->start());
    return keep_server(std::move(proxy));
  }
  /// A transport sending everything through `proxy_url` and trusting the test CA.
  Transport& through(const std::string& proxy_url, TransportOptions options = {}) {
    Result<Url> proxy = Url::parse_proxy(proxy_url);
    EXPECT_TRUE(proxy) << proxy.error().message();
    options.proxy = fixed_proxy(*std::move(proxy));
    options.tls.ca_file = TestPki::shared().ca_cert();
    return make_transport(std::move(options));
  }
  std::string https(std::string_view path) const {
    return "https://localhost:" + std::to_string(nginx_->tls_port()) + std::string(path);
  }
  /// GETs `url`; "<status> <body>", or "error <kind>: <message>".
  static std::string get(Transport& t, const std::string& url, Response* out = nullptr) {
    Result<Request> request = make_request("GET", url);
    if (!request) return "error bad_url: " + request.error().message();
    Result<Response> response = t.round_trip(std::make_shared<const Request>(*std::move(request)));
    if (!response) {
      return "error " + std::string(to_string(response.error().kind())) + ": " + response.error().message();
    }
    std::string text =
        std::to_string(response->status) + " " + response->body.read_all().value_or("(body failed)");
    if (out != nullptr) *out = std::move(*response);
    return text;
  }

  NginxServer* nginx_ = nullptr;
};

TEST_F(Proxy, ForwardsAnHttpRequestInAbsoluteForm) {
  TinyproxyServer& proxy = tinyproxy();
  Transport& t = through(proxy.url());
  EXPECT_EQ(get(t, nginx_->url("/small")), "200 hello, world\n");
  const std::vector<std::string> seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0].find("GET " + nginx_->url("/small")), std::string::npos) << seen[0];
}

TEST_F(Proxy, TunnelsHttpsWithConnectAndVerifiesTheOriginInside) {
  TinyproxyServer& proxy = tinyproxy();
  Transport& t = through(proxy.url());
  Response response;
  EXPECT_EQ(get(t, https("/small"), &response), "200 hello, world\n");
  ASSERT_NE(response.conn.tls, nullptr);
  EXPECT_EQ(response.conn.tls->server_name, "localhost");
  const std::vector<std::string> seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0].find("CONNECT localhost:" + std::to_string(nginx_->tls_port())), std::string::npos)
      << seen[0];
  // The tunnel is a kept connection like any other.
  EXPECT_EQ(get(t, https("/small"), &response), "200 hello, world\n");
  EXPECT_TRUE(response.conn.reused);
}

TEST_F(Proxy, SendsTheProxyUrlsCredentials) {
  testing::TinyproxyOptions guarded;
  guarded.basic_auth = testing::ProxyCredentials{"user", "secret"};
  TinyproxyServer& proxy = tinyproxy(std::move(guarded));
  Transport& with_credentials = through(proxy.url_with_credentials());
  const std::string forwarded = get(with_credentials, nginx_->url("/request"));
  EXPECT_EQ(forwarded.rfind("200 ", 0), 0u) << forwarded;
  EXPECT_EQ(get(with_credentials, https("/small")), "200 hello, world\n");

  Transport& without = through(proxy.url());
  EXPECT_EQ(get(without, nginx_->url("/small")).rfind("407 ", 0), 0u)
      << "a forward proxy's 407 is a response";
  const std::string refused = get(without, https("/small"));
  EXPECT_EQ(refused.rfind("error proxy: ", 0), 0u) << refused;
  EXPECT_NE(refused.find("refused with 407"), std::string::npos) << refused;
}

TEST_F(Proxy, AConnectTheProxyCannotMakeIsAProxyErrorWithItsStatus) {
  TinyproxyServer& proxy = tinyproxy();
  Transport& t = through(proxy.url());
  const std::string refused = get(t, "https://127.0.0.1:1/");
  EXPECT_EQ(refused.rfind("error proxy: ", 0), 0u) << refused;
  EXPECT_NE(refused.find("CONNECT 127.0.0.1:1"), std::string::npos) << refused;
}

// A proxy that stalls or breaks the tunnel ends the request within its
// limits, with the kind of the step, and the connection is dropped.
TEST_F(Proxy, AConnectProxyThatStallsOrBreaksTheTunnelFailsWithinItsLimits) {
  using testing::Script;
  using testing::ScriptedServer;
  using namespace std::chrono_literals;
  struct Case {
    std::string_view name;
    Script script;
    ErrorKind kind;
    std::string_view says;
  };
  const Case cases[] = {
      {"no answer to CONNECT", Script().expect_request().stall_until_closed(), ErrorKind::timeout,
       "no answer before the connect deadline"},
      {"an answer cut short",
       Script().expect_request().close_after("HTTP/1.1 200 Connection established\r\n", 20), ErrorKind::proxy,
       "CONNECT"},
      {"not HTTP, then silence",
       Script().expect_request().send("SSH-2.0-OpenSSH_9.2\r\n").stall_until_closed(), ErrorKind::proxy,
       "malformed status line"},
      {"a tunnel that never carries the handshake",
       Script().expect_request().send("HTTP/1.1 200 Connection established\r\n\r\n").stall_until_closed(),
       ErrorKind::timeout, "handshake"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScriptedServer proxy({c.script});
    TransportOptions options;
    options.connect_timeout = 300ms;
    options.tls_handshake_timeout = 300ms;
    Transport& t = through(proxy.url(), std::move(options));
    const auto start = std::chrono::steady_clock::now();
    const std::string got = get(t, https("/small"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "a hang, not a timeout";
    EXPECT_EQ(got.rfind("error " + std::string(to_string(c.kind)) + ": ", 0), 0u) << got;
    EXPECT_NE(got.find(c.says), std::string::npos) << got;
    EXPECT_NE(got.find(proxy.host_port()), std::string::npos) << "names the proxy: " << got;
    EXPECT_EQ(t.stats().idle, 0u);
    EXPECT_TRUE(proxy.wait_for_open_connections(0, 5s)) << "the connection was kept";
  }
}

TEST_F(Proxy, ThroughSocks5BothSchemesWithAndWithoutCredentials) {
  Socks5Server& open = keep_server(std::make_shared<Socks5Server>());
  Transport& t = through(open.url("socks5h"));
  EXPECT_EQ(get(t, nginx_->url("/small")), "200 hello, world\n");
  EXPECT_EQ(get(t, https("/small")), "200 hello, world\n");
  ASSERT_EQ(open.connects().size(), 2u);
  EXPECT_EQ(open.connects()[1].target, "localhost:" + std::to_string(nginx_->tls_port())) << "remote DNS";

  Socks5Server& guarded =
      keep_server(std::make_shared<Socks5Server>(Socks5ServerOptions::requiring("u", "p")));
  Transport& with_credentials = through("socks5://u:p@" + guarded.host_port());
  EXPECT_EQ(get(with_credentials, https("/small")), "200 hello, world\n");
  ASSERT_EQ(guarded.connects().size(), 1u);
  EXPECT_TRUE(guarded.connects()[0].authenticated);
  const std::string refused = get(through(guarded.url()), nginx_->url("/small"));
  EXPECT_EQ(refused.rfind("error proxy: ", 0), 0u) << refused;
}

TEST_F(Proxy, TheProxyIsPartOfTheConnectionKey) {
  TinyproxyServer& proxy = tinyproxy();
  std::optional<Url> chosen;
  TransportOptions options;
  options.proxy = [&chosen](const Request&) -> Result<std::optional<Url>> { return chosen; };
  options.tls.ca_file = TestPki::shared().ca_cert();
  Transport& t = make_transport(std::move(options));
  Response direct;
  Response proxied;
  EXPECT_EQ(get(t, https("/small"), &direct), "200 hello, world\n");
  chosen = Url::parse_proxy(proxy.url()).value();
  EXPECT_EQ(get(t, https("/small"), &proxied), "200 hello, world\n");
  EXPECT_NE(direct.conn.id, proxied.conn.id) << "a direct connection was used for a proxied request";
  EXPECT_EQ(proxy.requests().size(), 1u);
}

TEST_F(Proxy, TheEnvironmentsProxyIsUsedButNeverForLoopback) {
  TinyproxyServer& proxy = tinyproxy();
  TransportOptions options;
  {
    testing::ScopedEnv env({"NO_PROXY", "no_proxy"});
    env.set("HTTP_PROXY", proxy.url());
    options.proxy = proxy_from_environment();
  }
  Transport& t = make_transport(std::move(options));
  EXPECT_EQ(get(t, nginx_->url("/small")), "200 hello, world\n");
  EXPECT_TRUE(proxy.requests().empty()) << "loopback goes direct, as in Go";
  // A name the proxy must resolve (and cannot, here): the proxy answers.
  const std::string through_proxy = get(t, "http://nethttp-no-such-host.invalid/");
  EXPECT_EQ(through_proxy.rfind("error", 0), std::string::npos) << through_proxy;
  EXPECT_EQ(proxy.requests().size(), 1u);
}

TEST_F(Proxy, AUnixSocketCarriesRequestsWithTheUrlsHost) {
  TransportOptions options;
  options.unix_socket = nginx_->unix_socket_path();
  Transport& t = make_transport(std::move(options));
  const std::string seen = get(t, "http://example.test/request");
  EXPECT_EQ(seen.rfind("200 ", 0), 0u) << seen;
  EXPECT_NE(seen.find("host: example.test\n"), std::string::npos) << seen;
  TransportOptions missing;
  missing.unix_socket = "/nonexistent/nethttp.sock";
  const std::string refused = get(make_transport(std::move(missing)), "http://example.test/");
  EXPECT_EQ(refused.rfind("error connect: ", 0), 0u) << refused;
  EXPECT_NE(refused.find("/nonexistent/nethttp.sock"), std::string::npos) << refused;
}

}  // namespace
}  // namespace nethttp
