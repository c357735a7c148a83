// Request-side safety (issue 8), end to end against real servers on
// 127.0.0.1: bytes that would split a request are refused before any
// connection is made; Proxy-Authorization goes to the proxy and nowhere
// else; a URL's password reaches no other origin, no error message and no
// line the CLI prints; TLS verification is off only when asked for.
//
// Covered elsewhere and not repeated here: the writer's checks byte by byte
// (unit/codec/request_writer_test.cc); Authorization and Cookie dropped for
// another port and for the rest of the chain (integration/redirect_test.cc)
// and the subdomain rule (unit/client/redirect_test.cc); redaction in Url's
// own messages (unit/url/url_parse_test.cc) and in ProxyConfig's
// (unit/pool/proxy_config_test.cc); an unknown CA, an expired certificate,
// a wrong name and insecure_skip_verify on a direct connection
// (integration/tls_test.cc); the CLI's -k and a bad certificate in --json
// (integration/cli_test.cc).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/ascii.h"
#include "integration/cli_output.h"
#include "nethttp/client.h"
#include "nethttp/cookie_jar.h"
#include "nethttp/proxy.h"
#include "nethttp/transport.h"
#include "support/cli_runner.h"
#include "support/dead_ports.h"
#include "support/dialers.h"
#include "support/leak_check.h"
#include "support/nginx.h"
#include "support/printers.h"
#include "support/scoped_env.h"
#include "support/scripted_server.h"
#include "support/socks5_server.h"
#include "support/test_server.h"
#include "support/tinyproxy.h"
#include "support/tls_certs.h"
#include "support/wait.h"

#ifndef NETHTTP_CLI_PATH
#error "NETHTTP_CLI_PATH must name the built nethttp binary"
#endif

namespace nethttp {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;
using testing::CliRun;
using testing::NginxServer;
using testing::NginxTlsOptions;
using testing::ServerRequest;
using testing::ServerResponse;
using testing::Socks5Server;
using testing::Socks5ServerOptions;
using testing::TestPki;
using testing::TestServer;
using testing::TinyproxyServer;

// tinyproxy takes only letters and digits in credentials; a password found
// nowhere else, so that finding it anywhere is a leak.
constexpr std::string_view kUser = "user";
constexpr std::string_view kPassword = "s3cretPW";
/// What Basic credentials made of kUser and kPassword look like on the wire.
constexpr std::string_view kBasicCredentials = "Basic dXNlcjpzM2NyZXRQVw==";
/// A Proxy-Authorization field a caller sets ("caller" in base64).
constexpr std::string_view kCallersProxyAuthorization = "Basic Y2FsbGVy";

/// `url` ("http://host...") with kUser:kPassword as its userinfo.
std::string with_password(const std::string& url, std::string_view password = kPassword) {
  const std::size_t authority = url.find("://") + 3;
  return url.substr(0, authority) + std::string(kUser) + ":" + std::string(password) + "@" +
         url.substr(authority);
}

/// `text` with every kPassword replaced by "xxxxx", as Go's URL.Redacted.
std::string redacted(std::string text) {
  for (std::size_t at = text.find(kPassword); at != std::string::npos; at = text.find(kPassword, at)) {
    text.replace(at, kPassword.size(), "xxxxx");
  }
  return text;
}

/// Serves /to/<path or absolute URL> as a 302 there, /loop as a 302 to
/// itself, /stall as a head whose body never comes; anything else as 200
/// "hello".
void handler(const ServerRequest& request, ServerResponse& response) {
  const std::string& target = request.target;
  if (target.starts_with("/to/")) {
    std::string location = target.substr(4);
    // Absolute when a scheme comes before any '/': "to/http://h/x" is a path.
    const std::size_t scheme_end = location.find("://");
    if (scheme_end == std::string::npos || location.find('/') < scheme_end) location.insert(0, "/");
    response.set_status(302);
    response.add_header("Location", location);
  } else if (target == "/loop") {
    response.set_status(302);
    response.add_header("Location", "/loop");
  } else if (target == "/stall") {
    response.add_header("Content-Length", "10");
    response.flush();
    response.wait_for_client_close(testing::kWait);
  } else {
    response.set_body("hello");
  }
}

/// nginx's answer to /auth: the credentials the request carried.
constexpr std::string_view kAuthLocation =
    "location = /auth { default_type text/plain; return 200 "
    "\"authorization=[$http_authorization] proxy-authorization=[$http_proxy_authorization]\\n\"; }";
constexpr std::string_view kNoCredentials = "authorization=[] proxy-authorization=[]\n";

class RequestSafety : public testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    ASSERT_TRUE(TestPki::shared().ok());
  }

  static const TestPki& pki() { return TestPki::shared(); }

  TestServer& server(TestServer::Handler h = handler) {
    return keep_server(std::make_shared<TestServer>(std::move(h)));
  }
  /// nginx with TLS on this certificate (the good one by default) and /auth.
  NginxServer& nginx(std::optional<NginxTlsOptions> tls = std::nullopt) {
    testing::NginxOptions options;
    options.tls =
        tls ? std::move(*tls) : NginxTlsOptions{.cert = pki().server_cert(), .key = pki().server_key()};
    options.extra_locations = std::string(kAuthLocation);
    auto started = std::make_shared<NginxServer>(std::move(options));
    EXPECT_TRUE(started->start());
    return keep_server(std::move(started));
  }
  TinyproxyServer& tinyproxy(testing::TinyproxyOptions options = {}) {
    auto proxy = std::make_shared<TinyproxyServer>(std::move(options));
    EXPECT_TRUE(proxy->start());
    return keep_server(std::move(proxy));
  }
  static std::string https(const NginxServer& s, std::string_view path, std::string_view host = "localhost") {
    return "https://" + std::string(host) + ":" + std::to_string(s.tls_port()) + std::string(path);
  }
  /// A transport sending every request through `proxy_url`.
  Transport& through(const std::string& proxy_url, TransportOptions options = {}) {
    Result<Url> proxy = Url::parse_proxy(proxy_url);
    EXPECT_TRUE(proxy) << proxy.error().message();
    if (proxy) options.proxy = fixed_proxy(*std::move(proxy));
    return make_transport(std::move(options));
  }
  static TransportOptions trusting_the_test_ca() {
    TransportOptions options;
    options.tls.ca_file = pki().ca_cert();
    return options;
  }

  /// A GET of `url` with the caller's Proxy-Authorization set.
  static Request get_with_callers_proxy_authorization(const std::string& url) {
    Result<Request> request = make_request("GET", url);
    EXPECT_TRUE(request) << request.error().message();
    request->header.add("Proxy-Authorization", kCallersProxyAuthorization);
    return *std::move(request);
  }
  static Result<Response> round_trip(Transport& t, Request request) {
    return t.round_trip(std::make_shared<const Request>(std::move(request)));
  }
  /// The body of a response, or "error <kind>: <message>".
  static std::string outcome(Result<Response> r) {
    if (!r) return "error " + std::string(to_string(r.error().kind())) + ": " + r.error().message();
    return r->body.read_all().value_or("(body failed)");
  }
  static std::string get(Transport& t, const std::string& url) {
    Result<Request> request = make_request("GET", url);
    if (!request) return outcome(std::move(request).error());
    return outcome(round_trip(t, *std::move(request)));
  }
};

// ---------------------------------------------------------------------------
// Bytes that would split a request: refused before any connection

/// One way to put a byte where it does not belong.
struct Tamper {
  std::string name;
  std::function<void(Request&)> apply;
};

std::vector<Tamper> line_breaking_tampers() {
  return {
      {"CRLF in the method", [](Request& r) { r.method = "GET / HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET"; }},
      {"NUL in the method", [](Request& r) { r.method = "G\0T"s; }},
      {"CR in a field name", [](Request& r) { r.header.add("X-Bad\r", "1"); }},
      {"LF in a field name", [](Request& r) { r.header.add("X-Injected: 1\nX-Bad", "1"); }},
      {"NUL in a field name", [](Request& r) { r.header.add("X-Bad\0"s, "1"); }},
      {"CRLF in a field value", [](Request& r) { r.header.add("X-Note", "a\r\nX-Injected: 1"); }},
      {"bare LF in a field value", [](Request& r) { r.header.add("X-Note", "a\nX-Injected: 1"); }},
      {"bare CR in a field value", [](Request& r) { r.header.add("X-Note", "a\rb"); }},
      {"NUL in a field value", [](Request& r) { r.header.add("X-Note", "a\0b"s); }},
      {"CRLF in the caller's User-Agent",
       [](Request& r) { r.header.add("User-Agent", "ua\r\nX-Injected: 1"); }},
      {"CRLF in the caller's Cookie", [](Request& r) { r.header.add("Cookie", "a=1\r\nX-Injected: 1"); }},
      {"LF in the caller's Authorization", [](Request& r) { r.header.add("Authorization", "Basic x\ny"); }},
      {"CRLF in the Host override", [](Request& r) { r.host = "example.test\r\nX-Injected: 1"; }},
      {"NUL in the Host override", [](Request& r) { r.host = "example.test\0"s; }},
  };
}

/// Every other control byte (RFC 9110 §5.5: a field value is HTAB, SP,
/// VCHAR and obs-text; Go's httpguts rejects the rest).
std::vector<Tamper> control_byte_tampers() {
  std::vector<Tamper> tampers;
  std::vector<char> bytes;
  for (int b = 0x01; b < 0x20; ++b) {
    if (b != '\t' && b != '\n' && b != '\r') bytes.push_back(static_cast<char>(b));
  }
  bytes.push_back('\x7f');
  for (const char b : bytes) {
    const std::string value = "a"s + b + "b";
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", static_cast<unsigned>(b));
    tampers.push_back(
        {"byte "s + code + " in a field value", [value](Request& r) { r.header.add("X-Note", value); }});
    tampers.push_back({"byte "s + code + " in the Host override", [value](Request& r) { r.host = value; }});
  }
  return tampers;
}

/// Sends each tampered request to an http and an https URL of `origin`,
/// directly, through an HTTP proxy (absolute-form and CONNECT) and through
/// SOCKS5: each fails with invalid_request and no server ever sees a
/// connection.
class RefusedBeforeSending : public RequestSafety {
 protected:
  void expect_refused_everywhere(const std::vector<Tamper>& tampers) {
    TestServer& origin = server();
    // A TestServer as the HTTP proxy: it counts connections, and none may come.
    TestServer& http_proxy = server();
    Socks5Server& socks = keep_server(std::make_shared<Socks5Server>());
    const std::string https_url = "https://127.0.0.1:" + std::to_string(origin.port()) + "/";
    struct Route {
      const char* name;
      Transport* transport;
    };
    const Route routes[] = {
        {"direct", &make_transport()},
        {"HTTP proxy", &through(http_proxy.url())},
        {"SOCKS5", &through(socks.url())},
    };
    for (const Route& route : routes) {
      Client client(testing::borrow(*route.transport));
      for (const Tamper& tamper : tampers) {
        for (const std::string& url : {origin.url() + "/", https_url}) {
          SCOPED_TRACE(tamper.name + " to " + url + " " + route.name);
          Result<Request> request = make_request("GET", url);
          ASSERT_TRUE(request) << request.error().message();
          tamper.apply(*request);
          Result<Response> response = client.send(*std::move(request));
          ASSERT_FALSE(response) << "sent with status " << response->status;
          // One wrong outcome is enough: the others would wait on servers that cannot answer.
          ASSERT_EQ(response.error().kind(), ErrorKind::invalid_request) << response.error().message();
        }
      }
      EXPECT_EQ(route.transport->stats().dials, 0u) << route.name;
      EXPECT_EQ(route.transport->stats().dial_errors, 0u) << route.name;
    }
    EXPECT_EQ(origin.connections_accepted(), 0u);
    EXPECT_EQ(http_proxy.connections_accepted(), 0u);
    EXPECT_EQ(socks.connections_accepted(), 0u);
  }
};

TEST_F(RefusedBeforeSending, ACrLfOrNulInTheMethodAFieldOrTheHostOverride) {
  expect_refused_everywhere(line_breaking_tampers());
}

TEST_F(RefusedBeforeSending, AnyOtherControlByteButTabInAFieldValueOrTheHostOverride) {
  expect_refused_everywhere(control_byte_tampers());
}

TEST_F(RequestSafety, TabAndObsTextInAFieldValueAreSentAsGiven) {
  TestServer& origin = server();
  Client client(testing::borrow(make_transport()));
  Result<Request> request = make_request("GET", origin.url() + "/");
  ASSERT_TRUE(request);
  request->header.add("X-Tab", "a\tb");
  request->header.add("X-Obs-Text", "caf\xc3\xa9 \xff");
  EXPECT_EQ(outcome(client.send(*std::move(request))), "hello");
  ASSERT_EQ(origin.requests().size(), 1u);
  EXPECT_EQ(origin.requests()[0].header("X-Tab"), "a\tb");
  EXPECT_EQ(origin.requests()[0].header("X-Obs-Text"), "caf\xc3\xa9 \xff");
}

TEST_F(RequestSafety, AControlByteInTheTransportsUserAgentFailsEveryRequestBeforeAnyConnection) {
  TestServer& origin = server();
  for (const std::string& user_agent :
       {"nethttp\r\nX-Injected: 1"s, "nethttp\0"s, "nethttp\x01"s, "nethttp\x7f"s}) {
    SCOPED_TRACE(::testing::PrintToString(user_agent));
    TransportOptions options;
    options.user_agent = user_agent;
    Transport& t = make_transport(std::move(options));
    const std::string got = get(t, origin.url() + "/");
    EXPECT_EQ(got.rfind("error invalid_request: ", 0), 0u) << got;
    EXPECT_EQ(t.stats().dials, 0u);
  }
  EXPECT_EQ(origin.connections_accepted(), 0u);
}

TEST_F(RequestSafety, AControlByteInTheUrlIsABadUrlAndAnEncodedOneStaysEncoded) {
  TestServer& origin = server();
  Client client(testing::borrow(make_transport()));
  for (const std::string& path :
       {"/a\r\nX-Injected: 1"s, "/a\nb"s, "/a\rb"s, "/a\0b"s, "/a\x01"s, "/a\x7f"s, "/?q=\r\n"s, "/#\n"s}) {
    SCOPED_TRACE(::testing::PrintToString(path));
    Result<Response> r = client.get(origin.url() + path);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), ErrorKind::bad_url) << r.error().message();
  }
  EXPECT_EQ(origin.connections_accepted(), 0u);

  // Percent-encoded, the same bytes are data: they stay encoded on the wire.
  EXPECT_EQ(outcome(client.get(origin.url() + "/a%0D%0AX-Injected:%201?q=%0a")), "hello");
  EXPECT_EQ(outcome(client.get(origin.url() + "/a HTTP/1.1")), "hello");
  const std::vector<ServerRequest> seen = origin.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/a%0D%0AX-Injected:%201?q=%0A");
  EXPECT_FALSE(seen[0].header("X-Injected"));
  EXPECT_EQ(seen[1].target, "/a%20HTTP/1.1");
}

TEST_F(RequestSafety, ARedirectToAUrlWithAControlByteIsNotFollowed) {
  TestServer& origin = server([](const ServerRequest& request, ServerResponse& response) {
    if (request.target == "/encoded") {
      response.set_status(302);
      response.add_header("Location", "/next%0D%0AX-Injected:%201");
    } else if (request.target == "/raw") {
      response.set_status(302);
      response.add_header("Location", "/next\x01X-Injected: 1");
    } else {
      response.set_body("landed");
    }
  });
  Client client(testing::borrow(make_transport()));
  Result<Response> raw = client.get(origin.url() + "/raw");
  ASSERT_FALSE(raw);
  EXPECT_EQ(raw.error().kind(), ErrorKind::bad_url) << raw.error().message();
  EXPECT_EQ(raw.error().response_status(), 302);
  EXPECT_EQ(origin.requests().size(), 1u) << "the redirect was followed";

  EXPECT_EQ(outcome(client.get(origin.url() + "/encoded")), "landed");
  const std::vector<ServerRequest> seen = origin.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].target, "/next%0D%0AX-Injected:%201");
  EXPECT_FALSE(seen[2].header("X-Injected"));
}

TEST_F(RequestSafety, ACookieFileLineWithAControlByteIsSkippedAndNeverSent) {
  TestServer& origin = server();
  // A Netscape cookie file is the other way into the jar: Set-Cookie values
  // with control bytes are refused (RFC 6265bis §5.6), and so are such lines.
  for (const std::string& value : {"ab\rX-Injected: 1"s, "a\0b"s, "a\x01"s, "a\x7f"s}) {
    SCOPED_TRACE(::testing::PrintToString(value));
    const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("nethttp-safety-cookies-" + std::to_string(::getpid()));
    std::ofstream(file, std::ios::binary) << "127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t" << value << "\n"
                                          << "127.0.0.1\tFALSE\t/\tFALSE\t0\tgood\tyes\n";
    auto jar = std::make_shared<CookieJar>();
    const Result<void> loaded = jar->load(file);
    std::filesystem::remove(file);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(jar->size(), 1u);
    ClientOptions options;
    options.jar = jar;
    Client client(testing::borrow(make_transport()), options);
    Result<Response> r = client.get(origin.url() + "/");
    ASSERT_TRUE(r) << r.error().message();
    const std::vector<ServerRequest> seen = origin.requests();
    ASSERT_FALSE(seen.empty());
    std::vector<std::string> cookies;
    for (const auto& [name, field_value] : seen.back().headers)
      if (ascii::iequals(name, "cookie")) cookies.push_back(field_value);
    EXPECT_EQ(cookies, std::vector<std::string>{"good=yes"});
  }
}

// ---------------------------------------------------------------------------
// Proxy-Authorization: to the proxy, from the proxy URL, never to an origin
// (docs/COMING_FROM_GO.md: "A caller's Proxy-Authorization field is never
// sent: only the transport sets it, from the proxy URL, and only to the
// proxy").

TEST_F(RequestSafety, AnHttpsOriginBehindAConnectProxyNeverSeesProxyAuthorization) {
  NginxServer& origin = nginx();
  testing::TinyproxyOptions guarded;
  guarded.basic_auth = testing::ProxyCredentials{std::string(kUser), std::string(kPassword)};
  TinyproxyServer& proxy = tinyproxy(std::move(guarded));

  // The guarded proxy opens the tunnel only with the credentials of the URL.
  Transport& with_credentials = through(proxy.url_with_credentials(), trusting_the_test_ca());
  EXPECT_EQ(
      outcome(round_trip(with_credentials, get_with_callers_proxy_authorization(https(origin, "/auth")))),
      kNoCredentials);
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].rfind("CONNECT localhost:", 0), 0u) << proxy.requests()[0];

  // The caller's field opens nothing, even with the right value.
  Transport& without = through(proxy.url(), trusting_the_test_ca());
  Request callers = get_with_callers_proxy_authorization(https(origin, "/auth"));
  callers.header.set("Proxy-Authorization", proxy.proxy_authorization());
  Result<Response> refused = round_trip(without, std::move(callers));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::proxy) << refused.error().message();
  EXPECT_EQ(refused.error().response_status(), 407);
}

TEST_F(RequestSafety, AForwardProxyGetsTheProxyUrlsCredentialsOnceAndNeverTheCallers) {
  // A TestServer as the proxy: it records the request exactly as sent.
  TestServer& proxy = server();
  Transport& t = through(with_password(proxy.url()));
  EXPECT_EQ(
      outcome(round_trip(t, get_with_callers_proxy_authorization(with_password("http://origin.test/x")))),
      "hello");
  const std::vector<ServerRequest> seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "http://origin.test/x") << "absolute-form carries no userinfo";
  std::vector<std::string> values;
  for (const auto& [name, value] : seen[0].headers) {
    if (ascii::iequals(name, "Proxy-Authorization")) values.push_back(value);
  }
  EXPECT_EQ(values, std::vector<std::string>{std::string(kBasicCredentials)});
  EXPECT_EQ(seen[0].raw.find(kPassword), std::string::npos) << seen[0].raw;
}

TEST_F(RequestSafety, AnOriginBehindSocks5NeverSeesProxyAuthorization) {
  TestServer& origin = server();
  Socks5Server& socks = keep_server(std::make_shared<Socks5Server>(
      Socks5ServerOptions::requiring(std::string(kUser), std::string(kPassword))));
  Transport& t = through(with_password(socks.url()));
  EXPECT_EQ(outcome(round_trip(t, get_with_callers_proxy_authorization(origin.url() + "/"))), "hello");
  ASSERT_EQ(socks.connects().size(), 1u);
  EXPECT_TRUE(socks.connects()[0].authenticated);
  ASSERT_EQ(origin.requests().size(), 1u);
  EXPECT_FALSE(origin.requests()[0].header("Proxy-Authorization")) << origin.requests()[0].raw;
  EXPECT_EQ(origin.requests()[0].raw.find(kPassword), std::string::npos) << origin.requests()[0].raw;
}

TEST_F(RequestSafety, ADirectRequestCarriesNoProxyCredentialsFromTheEnvironment) {
  TestServer& origin = server();
  const testing::RefusingPort nowhere;
  testing::ScopedEnv env(
      {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"});
  env.set("HTTP_PROXY", with_password(nowhere.url("")));
  env.set("HTTPS_PROXY", with_password(nowhere.url("")));
  env.set("NO_PROXY", "origin.test");
  // Every dial reaches the origin, the proxy's too: a request sent as to a
  // proxy would show there in absolute-form with Proxy-Authorization.
  auto dialer = std::make_shared<testing::GatedDialer>(origin.port());
  TransportOptions from_environment;
  from_environment.proxy = proxy_from_environment();
  from_environment.dial = testing::GatedDialer::func(dialer);
  Transport& environment = make_transport(std::move(from_environment));
  EXPECT_EQ(get(environment, "http://origin.test/no-proxy"), "hello");
  EXPECT_EQ(get(environment, origin.url() + "/loopback"), "hello");
  TransportOptions without_proxy;
  without_proxy.dial = testing::GatedDialer::func(dialer);
  EXPECT_EQ(get(make_transport(std::move(without_proxy)), "http://elsewhere.test/default"), "hello")
      << "a Transport reads no proxy from the environment unless told to";

  const std::vector<ServerRequest> seen = origin.requests();
  ASSERT_EQ(seen.size(), 3u);
  for (const ServerRequest& request : seen) {
    SCOPED_TRACE(request.target);
    EXPECT_EQ(request.target.front(), '/') << "sent as to a proxy";
    EXPECT_FALSE(request.header("Proxy-Authorization"));
    EXPECT_EQ(request.raw.find(kPassword), std::string::npos) << request.raw;
  }
}

// ---------------------------------------------------------------------------
// A URL's password: never to another origin, never in an error message

TEST_F(RequestSafety, AUrlsPasswordNeverReachesAnotherOriginInARedirect) {
  TestServer& first = server();
  TestServer& second = server();
  Client client(testing::borrow(make_transport()));
  // A relative hop keeps the userinfo (RFC 3986 §5.2.2), then another origin.
  Result<Response> r = client.get(with_password(first.url()) + "/to/to/" + second.url() + "/landed");
  EXPECT_EQ(outcome(std::move(r)), "hello");
  ASSERT_EQ(first.requests().size(), 2u);
  ASSERT_EQ(second.requests().size(), 1u);
  // Userinfo is never sent, not even to its own origin (docs/COMING_FROM_GO.md).
  for (const ServerRequest& request : first.requests()) {
    EXPECT_FALSE(request.header("Authorization"));
    EXPECT_EQ(request.raw.find(kPassword), std::string::npos) << request.raw;
  }
  const ServerRequest landed = second.requests()[0];
  EXPECT_FALSE(landed.header("Authorization"));
  EXPECT_FALSE(landed.header("Proxy-Authorization"));
  EXPECT_EQ(landed.header("Referer"), first.url() + "/to/" + second.url() + "/landed") << "without userinfo";
  EXPECT_EQ(landed.raw.find(kPassword), std::string::npos) << landed.raw;
  EXPECT_EQ(landed.raw.find(kBasicCredentials.substr(6)), std::string::npos) << landed.raw;
}

TEST_F(RequestSafety, NoErrorMessageQuotesAUrlsPassword) {
  constexpr std::string_view kWrongPassword = "wr0ngPW";
  struct Failure {
    std::string name;
    ErrorKind kind;
    std::string message;
  };
  std::vector<Failure> failures;
  const auto record = [&failures](std::string name, const Error& error) {
    failures.push_back({std::move(name), error.kind(), error.message()});
  };
  const auto record_get = [&](std::string name, Client& client, const std::string& url) {
    Result<Response> r = client.get(url);
    if (r) {
      Result<std::string> body = r->body.read_all();
      if (!body) return record(std::move(name), body.error());
      ADD_FAILURE() << name << ": no error";
      return;
    }
    record(std::move(name), r.error());
  };

  for (const std::string& url :
       {"http://user:s3cretPW@127.0.0.1:0/"s, "HTTP://user:s3cretPW@[::1/"s, "http://user:s3cretPW@a/%zz"s,
        "ftp://user:s3cretPW@a/"s, "http://user:s3cretPW@a/\x01"s, "http://user:s3cretPW@a b/"s,
        "http://user:" + std::string(200, 'x') + "s3cretPW@a:0/"}) {
    Result<Request> request = make_request("GET", url);
    if (request) {
      ADD_FAILURE() << url << " parsed";
      continue;
    }
    record("make_request(" + url.substr(0, 40) + ")", request.error());
  }

  TestServer& origin = server();
  Client client(testing::borrow(make_transport()));
  const testing::RefusingPort refusing;
  record_get("refused", client, with_password(refusing.url()));
  record_get("too many redirects", client, with_password(origin.url()) + "/loop");
  record_get("a Location to ftp", client, with_password(origin.url()) + "/to/ftp://a/");
  const auto scripted = [this](std::string response) -> testing::ScriptedServer& {
    return keep_server(std::make_shared<testing::ScriptedServer>(
        std::vector<testing::Script>{},
        testing::Script().expect_request().send(std::move(response)).close()));
  };
  record_get("protocol", client, with_password(scripted("garbage\r\n\r\n").url()) + "/");
  record_get("truncated body", client,
             with_password(scripted("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").url()) + "/");

  ClientOptions impatient;
  impatient.timeout = 200ms;
  Client timing_out(testing::borrow(make_transport()), impatient);
  record_get("whole-request timeout", timing_out, with_password(origin.url()) + "/stall");
  const testing::UnansweredListener unanswered;
  TransportOptions short_connect;
  short_connect.connect_timeout = 200ms;
  Client connect_timing_out(testing::borrow(make_transport(std::move(short_connect))));
  record_get("connect timeout", connect_timing_out,
             with_password("http://127.0.0.1:" + std::to_string(unanswered.port()) + "/"));

  Result<Request> canceled = make_request("GET", with_password(origin.url()) + "/");
  ASSERT_TRUE(canceled);
  std::stop_source stop;
  stop.request_stop();
  canceled->cancel = stop.get_token();
  Result<Response> canceled_response = client.send(*std::move(canceled));
  ASSERT_FALSE(canceled_response);
  record("canceled", canceled_response.error());
  Result<Request> late = make_request("GET", with_password(origin.url()) + "/");
  ASSERT_TRUE(late);
  late->deadline = std::chrono::steady_clock::now() - 1s;
  Result<Response> late_response = client.send(*std::move(late));
  ASSERT_FALSE(late_response);
  record("deadline passed", late_response.error());

  NginxServer& untrusted = nginx();
  record_get("tls", client, with_password(https(untrusted, "/small")));

  Socks5Server& socks = keep_server(std::make_shared<Socks5Server>(
      Socks5ServerOptions::requiring(std::string(kUser), std::string(kPassword))));
  Client via_socks(testing::borrow(through(with_password(socks.url(), kWrongPassword))));
  record_get("SOCKS5 refusing the password", via_socks, with_password(origin.url()) + "/");
  TestServer& refusing_proxy = server([](const ServerRequest&, ServerResponse& response) {
    response.set_status(407);
    response.add_header("Proxy-Authenticate", "Basic realm=\"test\"");
  });
  Client via_http_proxy(testing::borrow(through(with_password(refusing_proxy.url(), kWrongPassword))));
  record_get("CONNECT refused", via_http_proxy, with_password("https://origin.test/"));

  for (const Failure& f : failures) {
    SCOPED_TRACE(f.name + " (" + std::string(to_string(f.kind)) + "): " + f.message);
    EXPECT_EQ(f.message.find(kPassword), std::string::npos);
    EXPECT_EQ(f.message.find(kWrongPassword), std::string::npos);
  }
  // Each failure is the one meant, not an earlier one.
  const auto kind_of = [&failures](std::string_view name) {
    const auto it =
        std::find_if(failures.begin(), failures.end(), [&](const Failure& f) { return f.name == name; });
    return it == failures.end() ? std::nullopt : std::optional<ErrorKind>(it->kind);
  };
  EXPECT_EQ(kind_of("refused"), ErrorKind::connect);
  EXPECT_EQ(kind_of("too many redirects"), ErrorKind::too_many_redirects);
  EXPECT_EQ(kind_of("a Location to ftp"), ErrorKind::bad_url);
  EXPECT_EQ(kind_of("protocol"), ErrorKind::protocol);
  EXPECT_EQ(kind_of("truncated body"), ErrorKind::body);
  EXPECT_EQ(kind_of("whole-request timeout"), ErrorKind::timeout);
  EXPECT_EQ(kind_of("connect timeout"), ErrorKind::timeout);
  EXPECT_EQ(kind_of("canceled"), ErrorKind::canceled);
  EXPECT_EQ(kind_of("deadline passed"), ErrorKind::timeout);
  EXPECT_EQ(kind_of("tls"), ErrorKind::tls);
  EXPECT_EQ(kind_of("SOCKS5 refusing the password"), ErrorKind::proxy);
  EXPECT_EQ(kind_of("CONNECT refused"), ErrorKind::proxy);
}

// ---------------------------------------------------------------------------
// TLS verification: off only when asked for

TEST_F(RequestSafety, VerificationHoldsThroughAConnectTunnelAndASocks5Proxy) {
  NginxServer& origin = nginx();
  TinyproxyServer& proxy = tinyproxy();
  Socks5Server& socks = keep_server(std::make_shared<Socks5Server>());
  for (const std::string& proxy_url : {proxy.url(), socks.url("socks5h")}) {
    SCOPED_TRACE(proxy_url);
    const std::string refused = get(through(proxy_url), https(origin, "/small"));
    EXPECT_EQ(refused.rfind("error tls: ", 0), 0u) << refused;
    EXPECT_NE(refused.find("certificate signed by unknown authority"), std::string::npos) << refused;
    // The same path works once the CA is trusted, or verification is skipped.
    EXPECT_EQ(get(through(proxy_url, trusting_the_test_ca()), https(origin, "/small")), "hello, world\n");
    TransportOptions insecure;
    insecure.tls.insecure_skip_verify = true;
    EXPECT_EQ(get(through(proxy_url, std::move(insecure)), https(origin, "/small")), "hello, world\n");
  }
}

TEST_F(RequestSafety, ARedirectFromHttpToAnUntrustedHttpsServerFailsWithTls) {
  NginxServer& untrusted = nginx();
  TestServer& origin = server();
  Client client(testing::borrow(make_transport()));
  Result<Response> r = client.get(origin.url() + "/to/" + https(untrusted, "/small"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::tls) << r.error().message();
  EXPECT_EQ(origin.requests().size(), 1u);
}

TEST_F(RequestSafety, SelfSignedAndWrongNameCertificatesPassOnlyWithInsecureSkipVerify) {
  const NginxTlsOptions certificates[] = {
      {.cert = pki().other_ca_cert(), .key = pki().other_ca_key()},  // self-signed, for another name
      {.cert = pki().wrong_name_cert(), .key = pki().wrong_name_key()},
  };
  for (const NginxTlsOptions& tls : certificates) {
    SCOPED_TRACE(tls.cert);
    NginxServer& s = nginx(tls);
    for (const std::string host : {"localhost", "127.0.0.1"}) {
      const std::string by_default = get(make_transport(), https(s, "/small", host));
      EXPECT_EQ(by_default.rfind("error tls: ", 0), 0u) << by_default;
      const std::string trusting_ca = get(make_transport(trusting_the_test_ca()), https(s, "/small", host));
      EXPECT_EQ(trusting_ca.rfind("error tls: ", 0), 0u) << trusting_ca;
      TransportOptions trusting_itself;
      trusting_itself.tls.ca_file = tls.cert;
      const std::string trusted_self =
          get(make_transport(std::move(trusting_itself)), https(s, "/small", host));
      EXPECT_EQ(trusted_self.rfind("error tls: ", 0), 0u) << "the name is still checked: " << trusted_self;
      TransportOptions insecure;
      insecure.tls.insecure_skip_verify = true;
      EXPECT_EQ(get(make_transport(std::move(insecure)), https(s, "/small", host)), "hello, world\n");
    }
  }
}

TEST_F(RequestSafety, OneTransportSkippingVerificationLeavesOthersVerifying) {
  NginxServer& untrusted = nginx();
  TransportOptions insecure;
  insecure.tls.insecure_skip_verify = true;
  Transport& skipping = make_transport(std::move(insecure));
  EXPECT_EQ(get(skipping, https(untrusted, "/small")), "hello, world\n");
  // Its session (and any state shared by OpenSSL) must not let another in.
  const std::string verifying = get(make_transport(), https(untrusted, "/small"));
  EXPECT_EQ(verifying.rfind("error tls: ", 0), 0u) << verifying;
  EXPECT_EQ(get(skipping, https(untrusted, "/small")), "hello, world\n");
}

TEST_F(RequestSafety, ASessionResumedForOneNameDoesNotSkipTheCheckOfAnother) {
  NginxServer& s = nginx();
  // Every dial reaches nginx's TLS port, whatever the URL names.
  auto dialer = std::make_shared<testing::GatedDialer>(s.tls_port());
  TransportOptions options = trusting_the_test_ca();
  options.dial = testing::GatedDialer::func(dialer);
  options.disable_keep_alives = true;
  Transport& t = make_transport(std::move(options));
  EXPECT_EQ(get(t, "https://localhost:1/small"), "hello, world\n");
  const std::string other_name = get(t, "https://wrong.example:1/small");
  EXPECT_EQ(other_name.rfind("error tls: ", 0), 0u) << other_name;
  EXPECT_NE(other_name.find("not wrong.example"), std::string::npos) << other_name;
  Result<Request> again = make_request("GET", "https://localhost:1/small");
  ASSERT_TRUE(again);
  Result<Response> resumed = round_trip(t, *std::move(again));
  ASSERT_TRUE(resumed) << resumed.error().message();
  ASSERT_NE(resumed->conn.tls, nullptr);
  EXPECT_TRUE(resumed->conn.tls->resumed) << "sessions were in play: the second name had none to resume";
}

// ---------------------------------------------------------------------------
// The CLI: no password in what it prints; no verification switched off by
// the environment

/// Runs the CLI; its output must hold no password (kPassword, or `other`).
CliRun run_cli(const std::vector<std::string>& args, std::string_view other = kPassword) {
  CliRun run = testing::run_program(NETHTTP_CLI_PATH, args);
  EXPECT_EQ(run.out.find(kPassword), std::string::npos) << "stdout: " << run.out;
  EXPECT_EQ(run.err.find(kPassword), std::string::npos) << "stderr: " << run.err;
  EXPECT_EQ(run.out.find(other), std::string::npos) << "stdout: " << run.out;
  EXPECT_EQ(run.err.find(other), std::string::npos) << "stderr: " << run.err;
  return run;
}

/// The one --json line of a run.
std::optional<testing::Json> json_of(const CliRun& run) {
  const std::vector<std::string> lines = testing::lines_of(run.out);
  EXPECT_EQ(lines.size(), 1u) << run.out;
  if (lines.size() != 1) return std::nullopt;
  std::optional<testing::Json> json = testing::JsonReader(lines[0]).document();
  EXPECT_TRUE(json) << "not JSON: " << lines[0];
  return json;
}

TEST(RequestSafetyCli, PrintsNoUrlsPasswordInJsonErrorLinesOrVerboseTraces) {
  TestServer first(handler);
  TestServer second(handler);
  const testing::RefusingPort refusing;
  const testing::UnansweredListener unanswered;
  const std::string base = with_password(first.url());
  struct Case {
    std::string name;
    std::string url;
    std::vector<std::string> flags;
    std::optional<std::string> final_url;  ///< redacted; none when the request fails
    std::string error_kind;                ///< "" on success
  };
  const Case cases[] = {
      {"success", base + "/hello", {}, redacted(base + "/hello"), ""},
      {"same-origin redirect", base + "/to/landed", {}, redacted(base + "/landed"), ""},
      {"redirect to another origin", base + "/to/to/" + second.url() + "/end", {}, second.url() + "/end", ""},
      {"too many redirects", base + "/loop", {"--max-redirs", "3"}, std::nullopt, "too_many_redirects"},
      {"refused", with_password(refusing.url()), {}, std::nullopt, "connect"},
      {"connect timeout",
       with_password("http://127.0.0.1:" + std::to_string(unanswered.port()) + "/"),
       {"--connect-timeout", "0.2"},
       std::nullopt,
       "timeout"},
      {"whole-request timeout", base + "/stall", {"--timeout", "0.3"}, redacted(base + "/stall"), "timeout"},
      {"bad URL", "http://user:s3cretPW@127.0.0.1:0/", {}, std::nullopt, "bad_url"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> args = {"fetch", "--json"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    args.push_back(c.url);
    const CliRun json_run = run_cli(args);
    EXPECT_EQ(json_run.exit_code, c.error_kind.empty() ? 0 : 1) << json_run.err;
    if (const std::optional<testing::Json> json = json_of(json_run)) {
      EXPECT_EQ((*json)["url"].str(), redacted(c.url)) << "the input, its password replaced";
      if (c.final_url) {
        EXPECT_EQ((*json)["final_url"].str(), *c.final_url);
      } else {
        EXPECT_TRUE((*json)["final_url"].is_null());
      }
      if (c.error_kind.empty()) {
        EXPECT_TRUE((*json)["error"].is_null());
      } else {
        EXPECT_EQ((*json)["error"]["kind"].str(), c.error_kind);
      }
    }
    args.erase(args.begin() + 1);  // the body on stdout, the error line on stderr
    const CliRun plain = run_cli(args);
    if (!c.error_kind.empty()) {
      EXPECT_EQ(plain.err.rfind("nethttp: " + redacted(c.url) + ": " + c.error_kind + ": ", 0), 0u)
          << plain.err;
    }
    args.insert(args.begin() + 1, "--verbose");
    const CliRun verbose = run_cli(args);
    if (c.error_kind != "bad_url") {
      EXPECT_NE(verbose.err.find("> GET " + redacted(c.url) + "\n"), std::string::npos) << verbose.err;
    }
  }
}

// By the URL grammar these have no password (a "/", "?" or "#" ends the
// authority; no "//", no authority), yet a person meant one.
TEST(RequestSafetyCli, PrintsNoPasswordOfAUrlThatDoesNotParse) {
  for (const std::string_view url :
       {"http://user:s3/cretPW@127.0.0.1:1/"sv, "http://user:s3?cret#PW@127.0.0.1:1/"sv,
        "user:s3cretPW@127.0.0.1:1/"sv}) {
    SCOPED_TRACE(url);
    const CliRun json_run = run_cli({"fetch", "--json", std::string(url)}, "cret");
    EXPECT_EQ(json_run.exit_code, 1) << json_run.err;
    if (const std::optional<testing::Json> json = json_of(json_run)) {
      EXPECT_EQ((*json)["error"]["kind"].str(), "bad_url");
      EXPECT_NE((*json)["url"].str().find(":xxxxx@127.0.0.1:1/"), std::string::npos) << (*json)["url"].str();
    }
    const CliRun plain = run_cli({"fetch", std::string(url)}, "cret");
    EXPECT_NE(plain.err.find("bad_url"), std::string::npos) << plain.err;
  }
}

TEST(RequestSafetyCli, PrintsNoProxysPassword) {
  TestServer origin(handler);
  testing::TinyproxyOptions guarded;
  guarded.basic_auth = testing::ProxyCredentials{std::string(kUser), std::string(kPassword)};
  TinyproxyServer proxy(std::move(guarded));
  ASSERT_TRUE(proxy.start());
  const CliRun through_proxy =
      run_cli({"fetch", "--verbose", "--json", "--proxy", proxy.url_with_credentials(), origin.url() + "/"});
  EXPECT_EQ(through_proxy.exit_code, 0) << through_proxy.err;
  ASSERT_EQ(proxy.requests().size(), 1u);
  const std::string wrong = with_password(proxy.url(), "wr0ngPW");
  const CliRun refused = run_cli({"fetch", "--verbose", "--proxy", wrong, origin.url() + "/"}, "wr0ngPW");
  EXPECT_EQ(refused.exit_code, 0) << "a forward proxy's refusal is a response: " << refused.err;
  const CliRun bad_proxy = run_cli({"fetch", "--proxy", "http://user:s3cretPW@p:99999", origin.url() + "/"});
  EXPECT_EQ(bad_proxy.exit_code, 2) << bad_proxy.err;

  testing::ScopedEnv env({"HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"});
  env.set("HTTP_PROXY", "http://user:s3cretPW@p:99999");
  const CliRun bad_environment = run_cli({"fetch", "http://nethttp-no-such-host.invalid/"});
  EXPECT_EQ(bad_environment.exit_code, 1);
  EXPECT_NE(bad_environment.err.find("HTTP_PROXY"), std::string::npos) << bad_environment.err;
}

TEST(RequestSafetyCli, TheEnvironmentCannotTurnVerificationOff) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  testing::NginxOptions options;
  options.tls = NginxTlsOptions{.cert = pki.server_cert(), .key = pki.server_key()};
  NginxServer nginx(std::move(options));
  ASSERT_TRUE(nginx.start());
  const std::string url = "https://localhost:" + std::to_string(nginx.tls_port()) + "/small";
  const auto kind_of = [&url](const std::vector<std::string>& flags = {}) -> std::string {
    std::vector<std::string> args = {"fetch", "--json"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(url);
    const std::optional<testing::Json> json = json_of(testing::run_program(NETHTTP_CLI_PATH, args));
    if (!json) return "(no JSON)";
    return (*json)["error"].is_null() ? "ok" : (*json)["error"]["kind"].str();
  };
  testing::ScopedEnv env(
      {"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"});
  const std::pair<const char*, std::string> settings[] = {
      {"SSL_CERT_FILE", "/dev/null"},
      {"SSL_CERT_FILE", "/nonexistent/ca.pem"},
      {"SSL_CERT_FILE", pki.other_ca_cert()},
      {"SSL_CERT_DIR", "/nonexistent"},
      {"SSL_CERT_DIR", "/"},
  };
  for (const auto& [name, value] : settings) {
    SCOPED_TRACE(std::string(name) + "=" + value);
    env.set(name, value);
    EXPECT_EQ(kind_of(), "tls");
    env.unset(name);
  }
  TinyproxyServer proxy;
  ASSERT_TRUE(proxy.start());
  EXPECT_EQ(kind_of({"--proxy", proxy.url()}), "tls");
  EXPECT_EQ(kind_of({"--proxy", proxy.url(), "--insecure"}), "ok");
  // The variables are read: pointed at the test CA, the server is trusted.
  env.set("SSL_CERT_FILE", pki.ca_cert());
  EXPECT_EQ(kind_of(), "ok");
}

}  // namespace
}  // namespace nethttp
