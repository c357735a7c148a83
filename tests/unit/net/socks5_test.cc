// socks5_connect(): against the in-process Socks5Server relaying to a
// TestServer, then byte by byte over a socketpair where the test plays a
// broken proxy.
#include "net/socks5.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "net/dial.h"
#include "net/fd.h"
#include "net/socket_io.h"
#include "support/socket_io.h"
#include "support/socks5_server.h"
#include "support/test_server.h"
#include "support/wait.h"

namespace nethttp::net {
namespace {

using namespace std::chrono_literals;
using testing::Socks5Fault;
using testing::Socks5Server;
using testing::Socks5ServerOptions;
using testing::TestServer;

Clock::time_point safety_deadline() {
  return Clock::now() + testing::kSafetyDeadline;
}

/// A blocking connection to the proxy, as the transport will have dialled it.
Fd dial_proxy(const Socks5Server& proxy) {
  Result<Fd> fd = dial_tcp("127.0.0.1", proxy.port(), safety_deadline(), {});
  EXPECT_TRUE(fd.ok()) << fd.error().message();
  return fd.ok() ? *std::move(fd) : Fd();
}

/// Sends a GET with Connection: close through the tunnel and reads the
/// response to EOF (bounded by the safety deadline).
std::string get_through(int fd) {
  if (!testing::write_all(fd, "GET /via-socks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    return "write failed";
  std::string response;
  std::array<char, 4096> buf{};
  const Clock::time_point deadline = safety_deadline();
  for (;;) {
    Result<Readiness> ready = wait_ready(fd, false, deadline);
    if (!ready || !ready->readable) return response + " [timed out]";
    Result<std::size_t> n = recv_some(fd, buf);
    if (!n) return response + " [" + n.error().message() + "]";
    if (*n == 0) return response;
    response.append(buf.data(), *n);
  }
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// A connection to `proxy` and what socks5_connect() made of it: on success,
/// a tunnel to host:port.
struct Tunnel {
  Fd fd;
  Result<void> result;
};

Tunnel connect_through(const Socks5Server& proxy, const std::string& host, std::uint16_t port,
                       const std::optional<Socks5Auth>& auth = std::nullopt) {
  Fd fd = dial_proxy(proxy);
  Result<void> result = socks5_connect(fd.get(), proxy.host_port(), host, port, auth, safety_deadline());
  return {std::move(fd), std::move(result)};
}

// ---------------------------------------------------------------- against Socks5Server

TEST(Socks5Client, TunnelsToTheTargetWithoutAuthentication) {
  TestServer server;
  Socks5Server proxy;
  const Tunnel tunnel = connect_through(proxy, "127.0.0.1", server.port());
  ASSERT_TRUE(tunnel.result.ok()) << tunnel.result.error().message();
  const std::string response = get_through(tunnel.fd.get());
  EXPECT_TRUE(starts_with(response, "HTTP/1.1 200 ")) << response;
  EXPECT_EQ(response.substr(response.size() - 2), "ok");

  ASSERT_EQ(server.requests().size(), 1U);
  EXPECT_EQ(server.requests()[0].target, "/via-socks");
  const auto connects = proxy.connects();
  ASSERT_EQ(connects.size(), 1U);
  EXPECT_EQ(connects[0].target, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(connects[0].address_type, 1);  // IPv4
  EXPECT_FALSE(connects[0].authenticated);
  EXPECT_EQ(connects[0].methods_offered, std::vector<std::uint8_t>{0x00});
}

TEST(Socks5Client, AuthenticatesWithUsernameAndPasswordWhenTheProxyAsks) {
  TestServer server;
  Socks5Server proxy(Socks5ServerOptions::requiring("alice", "s3cret"));
  const Tunnel tunnel = connect_through(proxy, "127.0.0.1", server.port(), Socks5Auth{"alice", "s3cret"});
  ASSERT_TRUE(tunnel.result.ok()) << tunnel.result.error().message();
  EXPECT_TRUE(starts_with(get_through(tunnel.fd.get()), "HTTP/1.1 200 "));
  const auto connects = proxy.connects();
  ASSERT_EQ(connects.size(), 1U);
  EXPECT_TRUE(connects[0].authenticated);
  EXPECT_EQ(connects[0].username, "alice");
  EXPECT_EQ(connects[0].methods_offered, (std::vector<std::uint8_t>{0x00, 0x02}));
}

TEST(Socks5Client, OffersCredentialsButGoesOnWithoutWhenTheProxyNeedsNone) {
  TestServer server;
  Socks5Server proxy;
  const Tunnel tunnel = connect_through(proxy, "127.0.0.1", server.port(), Socks5Auth{"alice", "s3cret"});
  ASSERT_TRUE(tunnel.result.ok()) << tunnel.result.error().message();
  EXPECT_TRUE(starts_with(get_through(tunnel.fd.get()), "HTTP/1.1 200 "));
  ASSERT_EQ(proxy.connects().size(), 1U);
  EXPECT_FALSE(proxy.connects()[0].authenticated);
}

TEST(Socks5Client, AWrongPasswordIsAProxyErrorAndNothingIsConnected) {
  Socks5Server proxy(Socks5ServerOptions::requiring("alice", "s3cret"));
  const Result<void> r = connect_through(proxy, "example.com", 80, Socks5Auth{"alice", "wrong"}).result;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::proxy);
  EXPECT_EQ(r.error().message(), "SOCKS5 proxy " + proxy.host_port() +
                                     ": authentication: the proxy rejected the username \"alice\" or its "
                                     "password (status 1)");
  EXPECT_EQ(r.error().message().find("wrong"), std::string::npos);
  EXPECT_TRUE(proxy.connects().empty());
}

TEST(Socks5Client, NoCredentialsForAProxyThatRequiresThemIsNoAcceptableMethod) {
  Socks5Server proxy(Socks5ServerOptions::requiring("alice", "s3cret"));
  const Result<void> r = connect_through(proxy, "example.com", 80).result;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::proxy);
  EXPECT_TRUE(starts_with(r.error().message(), "SOCKS5 proxy " + proxy.host_port() +
                                                   ": greeting: no acceptable authentication method"))
      << r.error().message();
}

TEST(Socks5Client, ARefusalIsAProxyErrorNamingTheReply) {
  Socks5Server proxy(Socks5ServerOptions::refusing(5));
  const Result<void> r = connect_through(proxy, "example.com", 443).result;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::proxy);
  EXPECT_EQ(r.error().message(), "SOCKS5 proxy " + proxy.host_port() +
                                     ": connect to example.com:443: connection refused (reply 5)");
}

TEST(Socks5Client, EveryReplyCodeHasItsRfcText) {
  const std::pair<std::uint8_t, std::string_view> cases[] = {
      {1, "general SOCKS server failure (reply 1)"}, {2, "connection not allowed by ruleset (reply 2)"},
      {3, "network unreachable (reply 3)"},          {4, "host unreachable (reply 4)"},
      {5, "connection refused (reply 5)"},           {6, "TTL expired (reply 6)"},
      {7, "command not supported (reply 7)"},        {8, "address type not supported (reply 8)"},
      {9, "unassigned reply code (reply 9)"},        {255, "unassigned reply code (reply 255)"},
  };
  for (const auto& [code, text] : cases) {
    Socks5Server proxy(Socks5ServerOptions::refusing(code));
    const Fd fd = dial_proxy(proxy);
    const Result<void> r = socks5_connect(fd.get(), "p", "h", 1, std::nullopt, safety_deadline());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), ErrorKind::proxy);
    EXPECT_EQ(r.error().message(), "SOCKS5 proxy p: connect to h:1: " + std::string(text));
  }
}

TEST(Socks5Client, ATargetTheProxyCannotReachIsItsReply) {
  Socks5Server proxy;
  TestServer stopped;
  const std::uint16_t port = stopped.port();
  stopped.stop();  // nothing listens there now
  const Result<void> r = connect_through(proxy, "127.0.0.1", port).result;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::proxy);
  EXPECT_NE(r.error().message().find("connection refused (reply 5)"), std::string::npos)
      << r.error().message();
}

TEST(Socks5Client, SendsAHostNameAsADomainNameForTheProxyToResolve) {
  TestServer server;
  Socks5Server proxy;
  const Tunnel tunnel = connect_through(proxy, "localhost", server.port());
  ASSERT_TRUE(tunnel.result.ok()) << tunnel.result.error().message();
  EXPECT_TRUE(starts_with(get_through(tunnel.fd.get()), "HTTP/1.1 200 "));
  ASSERT_EQ(proxy.connects().size(), 1U);
  EXPECT_EQ(proxy.connects()[0].target, "localhost:" + std::to_string(server.port()));
  EXPECT_EQ(proxy.connects()[0].address_type, 3);  // DOMAINNAME
}

TEST(Socks5Client, SendsIpLiteralsAsAddresses) {
  struct Expected {
    std::string target;
    std::uint8_t address_type;
  };
  const std::pair<std::string_view, Expected> cases[] = {
      {"10.1.2.3", {"10.1.2.3:8080", 1}},
      {"::1", {"[::1]:8080", 4}},
      {"[2001:db8::1]", {"[2001:db8::1]:8080", 4}},
  };
  for (const auto& [host, expected] : cases) {
    Socks5Server proxy(Socks5ServerOptions::refusing(2));  // only the request matters here
    const Result<void> r = connect_through(proxy, std::string(host), 8080).result;
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("connect to " + expected.target + ": connection not allowed"),
              std::string::npos)
        << r.error().message();
    ASSERT_EQ(proxy.connects().size(), 1U) << host;
    EXPECT_EQ(proxy.connects()[0].target, expected.target);
    EXPECT_EQ(proxy.connects()[0].address_type, expected.address_type) << host;
  }
}

/// socks5_connect() against a proxy that misbehaves with `fault`, with a deadline `wait` from now.
Result<void> connect_with_fault(Socks5Fault fault, std::chrono::milliseconds wait,
                                std::chrono::milliseconds* elapsed = nullptr) {
  Socks5Server proxy(Socks5ServerOptions::failing(fault));
  const Fd fd = dial_proxy(proxy);
  const Clock::time_point start = Clock::now();
  Result<void> r = socks5_connect(fd.get(), "proxy:1080", "example.com", 80, std::nullopt, start + wait);
  if (elapsed != nullptr)
    *elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return r;
}

TEST(Socks5Client, AProxyThatStallsIsATimeoutAtTheDeadline) {
  for (const Socks5Fault fault : {Socks5Fault::stall_after_greeting, Socks5Fault::stall_after_connect}) {
    std::chrono::milliseconds elapsed{};
    const Result<void> r = connect_with_fault(fault, 200ms, &elapsed);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), ErrorKind::timeout) << r.error().message();
    EXPECT_EQ(r.error().sys_errno(), ETIMEDOUT);
    EXPECT_GE(elapsed, 200ms);
    EXPECT_LT(elapsed, 3s);
    const std::string_view step =
        fault == Socks5Fault::stall_after_greeting ? "greeting" : "connect to example.com:80";
    EXPECT_EQ(r.error().message(), "SOCKS5 proxy proxy:1080: " + std::string(step) +
                                       ": no answer from the proxy before the deadline");
  }
}

TEST(Socks5Client, AProxyThatClosesIsAnIoError) {
  const Result<void> greeting =
      connect_with_fault(Socks5Fault::close_after_greeting, testing::kSafetyDeadline);
  ASSERT_FALSE(greeting.ok());
  EXPECT_EQ(greeting.error().kind(), ErrorKind::io);
  EXPECT_EQ(greeting.error().message(),
            "SOCKS5 proxy proxy:1080: greeting: connection closed by the proxy after 0 of 2 reply bytes");

  const Result<void> connect = connect_with_fault(Socks5Fault::close_after_connect, testing::kSafetyDeadline);
  ASSERT_FALSE(connect.ok());
  EXPECT_EQ(connect.error().kind(), ErrorKind::io);
  EXPECT_TRUE(starts_with(connect.error().message(), "SOCKS5 proxy proxy:1080: connect to example.com:80: "))
      << connect.error().message();
}

// ---------------------------------------------------------------- the test plays the proxy

/// A socketpair: the client end for socks5_connect(), the proxy end for the test.
struct Pair {
  Fd client;
  Fd proxy;
};

Pair socket_pair() {
  std::array<int, 2> fds{-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()), 0);
  return {Fd(fds[0]), Fd(fds[1])};
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(v));
  return out;
}

/// What the client has sent so far (without waiting).
std::string sent_by_client(const Pair& p) {
  std::string out;
  std::array<char, 1024> buf{};
  for (;;) {
    const ssize_t n = ::recv(p.proxy.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

/// Plays `replies` (written up front: the client reads them in turn), then
/// closes the proxy end when `close_after` says so, and runs socks5_connect().
Result<void> against(Pair& p, std::string_view replies, const std::string& host = "example.com",
                     const std::optional<Socks5Auth>& auth = std::nullopt, bool close_after = false) {
  EXPECT_TRUE(testing::write_all(p.proxy.get(), replies));
  if (close_after) ::shutdown(p.proxy.get(), SHUT_WR);
  return socks5_connect(p.client.get(), "proxy:1080", host, 443, auth, Clock::now() + 2s);
}

/// The proxy picks "no authentication".
std::string greeting_ok() {
  return bytes({5, 0});
}

/// CONNECT succeeded, bound to 10.0.0.1:8080.
std::string connect_ok_ipv4() {
  return bytes({5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90});
}

TEST(Socks5Wire, SendsTheGreetingAndAConnectWithADomainName) {
  Pair p = socket_pair();
  const Result<void> r = against(p, greeting_ok() + connect_ok_ipv4());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(sent_by_client(p), bytes({5, 1, 0}) + bytes({5, 1, 0, 3, 11}) + "example.com" + bytes({1, 0xbb}));
}

TEST(Socks5Wire, SendsIpv4AndIpv6LiteralsAsAddressTypes1And4) {
  Pair v4 = socket_pair();
  ASSERT_TRUE(against(v4, greeting_ok() + connect_ok_ipv4(), "192.0.2.7").ok());
  EXPECT_EQ(sent_by_client(v4), bytes({5, 1, 0, 5, 1, 0, 1, 192, 0, 2, 7, 1, 0xbb}));

  Pair v6 = socket_pair();
  ASSERT_TRUE(against(v6, greeting_ok() + connect_ok_ipv4(), "[2001:db8::1]").ok());
  EXPECT_EQ(sent_by_client(v6), bytes({5, 1, 0, 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0,   0,
                                       0, 0, 0, 0, 0, 0, 0, 0,    0,    1,    1,    0xbb}));
}

TEST(Socks5Wire, SendsUsernameAndPasswordAsRfc1929Says) {
  Pair p = socket_pair();
  const Result<void> r =
      against(p, bytes({5, 2}) + bytes({1, 0}) + connect_ok_ipv4(), "example.com", Socks5Auth{"bob", "pw"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(sent_by_client(p), bytes({5, 2, 0, 2}) + bytes({1, 3}) + "bob" + bytes({2}) + "pw" +
                                   bytes({5, 1, 0, 3, 11}) + "example.com" + bytes({1, 0xbb}));
}

TEST(Socks5Wire, ReadsAndDiscardsEveryKindOfBoundAddressLeavingTheTunnelUntouched) {
  const std::string replies[] = {
      connect_ok_ipv4(),
      bytes({5, 0, 0, 3, 4}) + "abcd" + bytes({0, 80}),
      bytes({5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80}),
  };
  for (const std::string& reply : replies) {
    Pair p = socket_pair();
    const Result<void> r = against(p, greeting_ok() + reply + "TUNNEL");
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::array<char, 16> buf{};
    const ssize_t n = ::recv(p.client.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    EXPECT_EQ(std::string_view(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0), "TUNNEL");
  }
}

struct BrokenProxy {
  std::string_view what;
  std::string replies;
  ErrorKind kind;
  std::string_view message;  ///< after "SOCKS5 proxy proxy:1080: "
};

/// Plays each case's replies and closes; socks5_connect() (with `auth`) fails as the case says.
void expect_each_fails(std::span<const BrokenProxy> cases, const std::optional<Socks5Auth>& auth) {
  for (const BrokenProxy& c : cases) {
    Pair p = socket_pair();
    const Result<void> r = against(p, c.replies, "example.com", auth, /*close_after=*/true);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().kind(), c.kind) << c.what << ": " << r.error().message();
    EXPECT_EQ(r.error().message(), "SOCKS5 proxy proxy:1080: " + std::string(c.message)) << c.what;
  }
}

TEST(Socks5Wire, ValidatesEverythingTheProxySends) {
  const BrokenProxy cases[] = {
      {"a SOCKS4 answer", bytes({4, 0}), ErrorKind::proxy,
       "greeting: the proxy answered with version 4, not 5: \"\\x04\\x00\""},
      {"an HTTP proxy's answer", "HTTP/1.1 400 Bad Request\r\n\r\n", ErrorKind::proxy,
       "greeting: the proxy answered with version 72, not 5: \"HT\""},
      {"no acceptable methods", bytes({5, 0xff}), ErrorKind::proxy,
       "greeting: no acceptable authentication method (offered: no authentication; does the proxy need a "
       "username and password?)"},
      {"a method not offered", bytes({5, 2}), ErrorKind::proxy,
       "greeting: the proxy chose username/password, which was not offered"},
      {"an unknown method", bytes({5, 0x80}), ErrorKind::proxy,
       "greeting: the proxy chose method 0x80, which was not offered"},
      {"a reply of another version", greeting_ok() + bytes({4, 0, 0, 1}), ErrorKind::proxy,
       "connect to example.com:443: the proxy answered with version 4, not 5: \"\\x04\\x00\\x00\\x01\""},
      {"an unknown address type", greeting_ok() + bytes({5, 0, 0, 2, 1, 2, 3, 4}), ErrorKind::proxy,
       "connect to example.com:443: the reply has an unknown address type 2"},
      {"a greeting reply cut short", bytes({5}), ErrorKind::io,
       "greeting: connection closed by the proxy after 1 of 2 reply bytes"},
      {"a connect reply cut short", greeting_ok() + bytes({5, 0, 0}), ErrorKind::io,
       "connect to example.com:443: connection closed by the proxy after 3 of 4 reply bytes"},
      {"a bound address cut short", greeting_ok() + bytes({5, 0, 0, 1, 10, 0}), ErrorKind::io,
       "connect to example.com:443: connection closed by the proxy after 2 of 6 reply bytes"},
      {"a bound name cut short", greeting_ok() + bytes({5, 0, 0, 3}), ErrorKind::io,
       "connect to example.com:443: connection closed by the proxy after 0 of 1 reply bytes"},
  };
  expect_each_fails(cases, std::nullopt);
}

TEST(Socks5Wire, ValidatesTheAuthenticationReply) {
  const BrokenProxy cases[] = {
      {"another subnegotiation version", bytes({5, 2}) + bytes({5, 0}), ErrorKind::proxy,
       "authentication: the proxy answered with subnegotiation version 5, not 1: \"\\x05\\x00\""},
      {"a failure status", bytes({5, 2}) + bytes({1, 0x7f}), ErrorKind::proxy,
       "authentication: the proxy rejected the username \"bob\" or its password (status 127)"},
      {"a reply cut short", bytes({5, 2}) + bytes({1}), ErrorKind::io,
       "authentication: connection closed by the proxy after 1 of 2 reply bytes"},
  };
  expect_each_fails(cases, Socks5Auth{"bob", "pw"});
}

TEST(Socks5Wire, RefusesInputsItCannotSendWithoutSendingAnything) {
  const std::pair<std::string, std::optional<Socks5Auth>> cases[] = {
      {std::string(256, 'a'), std::nullopt},
      {"", std::nullopt},
      {"[not-an-address]", std::nullopt},
      {"example.com", Socks5Auth{"", "pw"}},
      {"example.com", Socks5Auth{std::string(256, 'u'), "pw"}},
      {"example.com", Socks5Auth{"bob", std::string(256, 'p')}},
  };
  for (const auto& [host, auth] : cases) {
    Pair p = socket_pair();
    const Result<void> r = socks5_connect(p.client.get(), "proxy:1080", host, 443, auth, Clock::now() + 2s);
    ASSERT_FALSE(r.ok()) << host.size();
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_request) << r.error().message();
    EXPECT_EQ(sent_by_client(p), "");
  }
  Pair p = socket_pair();
  ASSERT_TRUE(against(p, greeting_ok() + connect_ok_ipv4(), std::string(255, 'a')).ok());
}

TEST(Socks5Wire, ASilentProxyIsATimeoutAtTheDeadline) {
  Pair p = socket_pair();
  const Clock::time_point start = Clock::now();
  const Result<void> r =
      socks5_connect(p.client.get(), "proxy:1080", "example.com", 443, std::nullopt, start + 100ms);
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::timeout);
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(Socks5Wire, InterruptFromAnotherThreadEndsItAtOnce) {
  Pair p = socket_pair();
  std::thread interrupter([&] {
    // Once the greeting has arrived, the client is (about to be) waiting for its reply.
    std::array<char, 3> greeting{};
    [[maybe_unused]] const ssize_t n = ::recv(p.proxy.get(), greeting.data(), greeting.size(), MSG_WAITALL);
    interrupt(p.client.get());
  });
  const Clock::time_point start = Clock::now();
  const Result<void> r =
      socks5_connect(p.client.get(), "proxy:1080", "example.com", 443, std::nullopt, safety_deadline());
  interrupter.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::io) << r.error().message();
  EXPECT_LT(Clock::now() - start, 3s);
}

}  // namespace
}  // namespace nethttp::net
