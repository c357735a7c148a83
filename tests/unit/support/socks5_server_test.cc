// Socks5Server driven by raw client sockets speaking SOCKS5 byte by byte
// (not by the library's client, which the server exists to test).
#include "support/socks5_server.h"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support/fd_count.h"
#include "support/test_server.h"
#include "unit/support/raw_client.h"

namespace nethttp::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kWait = 5s;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string port_bytes(std::uint16_t port) {
  return bytes({port >> 8, port & 0xff});
}

/// A raw client on the proxy that reads its replies one at a time.
class SocksClient {
 public:
  explicit SocksClient(std::uint16_t proxy_port) : raw_(proxy_port) {}

  bool send(std::string_view b) { return raw_.send(b); }
  /// The next `n` bytes from the proxy, or "" if the stream ended first.
  std::string next(std::size_t n) {
    if (!raw_.read_at_least(used_ + n)) return "";
    std::string out = raw_.buffered().substr(used_, n);
    used_ += n;
    return out;
  }
  /// Whether the proxy closed with nothing more sent.
  bool closed_with_nothing_more() {
    return raw_.read_to_end() == ReadEnd::eof && raw_.buffered().size() == used_;
  }
  RawClient& raw() { return raw_; }

 private:
  RawClient raw_;
  std::size_t used_ = 0;
};

/// Greets without authentication and sends CONNECT 127.0.0.1:port; returns the reply head (4 bytes).
std::string connect_ipv4(SocksClient& client, std::uint16_t port) {
  EXPECT_TRUE(client.send(bytes({5, 1, 0})));
  EXPECT_EQ(client.next(2), bytes({5, 0}));
  EXPECT_TRUE(client.send(bytes({5, 1, 0, 1, 127, 0, 0, 1}) + port_bytes(port)));
  return client.next(4);
}

TEST(Socks5Server, RelaysAConnectToTheTargetAndRecordsIt) {
  TestServer target;
  Socks5Server proxy;
  SocksClient client(proxy.port());
  const std::string head = connect_ipv4(client, target.port());
  EXPECT_EQ(head, bytes({5, 0, 0, 1}));  // succeeded, an IPv4 bound address
  EXPECT_EQ(client.next(6).size(), 6U);

  ASSERT_TRUE(client.send("GET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  RawClient& raw = client.raw();
  // The target's close reaches the client through the proxy.
  EXPECT_EQ(raw.read_to_end(), ReadEnd::eof);
  const std::string response = raw.buffered().substr(12);
  EXPECT_EQ(response.substr(0, 13), "HTTP/1.1 200 ") << response;
  EXPECT_EQ(response.substr(response.size() - 2), "ok");

  ASSERT_EQ(target.requests().size(), 1U);
  EXPECT_EQ(target.requests()[0].target, "/tunnelled");
  const std::vector<Socks5Connect> connects = proxy.connects();
  ASSERT_EQ(connects.size(), 1U);
  EXPECT_EQ(connects[0].connection_index, 0U);
  EXPECT_EQ(connects[0].target, "127.0.0.1:" + std::to_string(target.port()));
  EXPECT_EQ(connects[0].address_type, 1);
  EXPECT_FALSE(connects[0].authenticated);
  EXPECT_EQ(connects[0].methods_offered, std::vector<std::uint8_t>{0});
  EXPECT_EQ(proxy.connections_accepted(), 1U);
}

TEST(Socks5Server, ResolvesADomainNameItself) {
  TestServer target;
  Socks5Server proxy;
  SocksClient client(proxy.port());
  ASSERT_TRUE(client.send(bytes({5, 1, 0})));
  EXPECT_EQ(client.next(2), bytes({5, 0}));
  ASSERT_TRUE(client.send(bytes({5, 1, 0, 3, 9}) + "localhost" + port_bytes(target.port())));
  const std::string head = client.next(4);
  ASSERT_EQ(head.substr(0, 2), bytes({5, 0}));
  EXPECT_EQ(client.next(head[3] == 4 ? 18 : 6).empty(), false);
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(target.wait_for_requests(1, kWait));
  ASSERT_TRUE(proxy.wait_for_connects(1, kWait));
  EXPECT_EQ(proxy.connects()[0].target, "localhost:" + std::to_string(target.port()));
  EXPECT_EQ(proxy.connects()[0].address_type, 3);
}

TEST(Socks5Server, RecordsAnIpv6TargetInBrackets) {
  Socks5Server proxy(Socks5ServerOptions::refusing(2));
  SocksClient client(proxy.port());
  ASSERT_TRUE(client.send(bytes({5, 1, 0})));
  EXPECT_EQ(client.next(2), bytes({5, 0}));
  ASSERT_TRUE(
      client.send(bytes({5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80})));
  EXPECT_EQ(client.next(4), bytes({5, 2, 0, 1}));
  ASSERT_TRUE(proxy.wait_for_connects(1, kWait));
  EXPECT_EQ(proxy.connects()[0].target, "[2001:db8::1]:80");
  EXPECT_EQ(proxy.connects()[0].address_type, 4);
}

TEST(Socks5Server, RequiresTheConfiguredCredentials) {
  TestServer target;
  Socks5Server proxy(Socks5ServerOptions::requiring("u", "p"));

  SocksClient no_auth(proxy.port());
  ASSERT_TRUE(no_auth.send(bytes({5, 1, 0})));
  EXPECT_EQ(no_auth.next(2), bytes({5, 0xff}));  // no acceptable methods
  EXPECT_TRUE(no_auth.closed_with_nothing_more());

  SocksClient wrong(proxy.port());
  ASSERT_TRUE(wrong.send(bytes({5, 2, 0, 2})));
  EXPECT_EQ(wrong.next(2), bytes({5, 2}));
  ASSERT_TRUE(wrong.send(bytes({1, 1}) + "u" + bytes({1}) + "x"));
  EXPECT_EQ(wrong.next(2), bytes({1, 1}));
  EXPECT_TRUE(wrong.closed_with_nothing_more());

  SocksClient right(proxy.port());
  ASSERT_TRUE(right.send(bytes({5, 2, 0, 2})));
  EXPECT_EQ(right.next(2), bytes({5, 2}));
  ASSERT_TRUE(right.send(bytes({1, 1}) + "u" + bytes({1}) + "p"));
  EXPECT_EQ(right.next(2), bytes({1, 0}));
  ASSERT_TRUE(right.send(bytes({5, 1, 0, 1, 127, 0, 0, 1}) + port_bytes(target.port())));
  EXPECT_EQ(right.next(4), bytes({5, 0, 0, 1}));

  ASSERT_TRUE(proxy.wait_for_connects(1, kWait));
  const std::vector<Socks5Connect> connects = proxy.connects();
  ASSERT_EQ(connects.size(), 1U);
  EXPECT_EQ(connects[0].connection_index, 2U);
  EXPECT_TRUE(connects[0].authenticated);
  EXPECT_EQ(connects[0].username, "u");
  EXPECT_EQ(connects[0].methods_offered, (std::vector<std::uint8_t>{0, 2}));
}

TEST(Socks5Server, RefusesWithTheConfiguredReplyCode) {
  Socks5Server proxy(Socks5ServerOptions::refusing(2));
  SocksClient client(proxy.port());
  EXPECT_EQ(connect_ipv4(client, 9), bytes({5, 2, 0, 1}));
  EXPECT_EQ(client.next(6), bytes({0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(client.closed_with_nothing_more());
  ASSERT_EQ(proxy.connects().size(), 1U);
  EXPECT_EQ(proxy.connects()[0].target, "127.0.0.1:9");
}

TEST(Socks5Server, AnswersAnUnreachableTargetWithConnectionRefused) {
  Socks5Server proxy;
  TestServer stopped;
  const std::uint16_t port = stopped.port();
  stopped.stop();
  SocksClient client(proxy.port());
  EXPECT_EQ(connect_ipv4(client, port), bytes({5, 5, 0, 1}));
}

TEST(Socks5Server, AnswersAnUnknownNameWithHostUnreachable) {
  Socks5Server proxy;
  SocksClient client(proxy.port());
  ASSERT_TRUE(client.send(bytes({5, 1, 0})));
  EXPECT_EQ(client.next(2), bytes({5, 0}));
  ASSERT_TRUE(client.send(bytes({5, 1, 0, 3, 13}) + "nonexistent.." + bytes({0, 80})));
  EXPECT_EQ(client.next(4), bytes({5, 4, 0, 1}));
}

TEST(Socks5Server, AnswersOtherCommandsWithCommandNotSupported) {
  Socks5Server proxy;
  SocksClient client(proxy.port());
  ASSERT_TRUE(client.send(bytes({5, 1, 0})));
  EXPECT_EQ(client.next(2), bytes({5, 0}));
  ASSERT_TRUE(client.send(bytes({5, 2, 0, 1, 127, 0, 0, 1, 0, 80})));  // BIND
  EXPECT_EQ(client.next(4), bytes({5, 7, 0, 1}));
}

TEST(Socks5Server, ClosesOrStallsAtTheConfiguredFault) {
  {
    Socks5Server proxy(Socks5ServerOptions::failing(Socks5Fault::close_after_greeting));
    SocksClient client(proxy.port());
    ASSERT_TRUE(client.send(bytes({5, 1, 0})));
    EXPECT_TRUE(client.closed_with_nothing_more());
  }
  {
    Socks5Server proxy(Socks5ServerOptions::failing(Socks5Fault::close_after_connect));
    SocksClient client(proxy.port());
    EXPECT_EQ(connect_ipv4(client, 9), "");
    EXPECT_EQ(proxy.connects().size(), 1U);
  }
  {
    // A stalled connection holds its thread until the client closes or stop().
    Socks5Server proxy(Socks5ServerOptions::failing(Socks5Fault::stall_after_connect));
    SocksClient client(proxy.port());
    ASSERT_TRUE(client.send(bytes({5, 1, 0})));
    EXPECT_EQ(client.next(2), bytes({5, 0}));
    ASSERT_TRUE(client.send(bytes({5, 1, 0, 1, 127, 0, 0, 1, 0, 9})));
    ASSERT_TRUE(proxy.wait_for_connects(1, kWait));
    const auto start = std::chrono::steady_clock::now();
    proxy.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_TRUE(client.closed_with_nothing_more());
  }
}

TEST(Socks5Server, StopEndsOpenTunnelsAndLeavesNoFd) {
  const int before = count_open_fds();
  {
    TestServer target;
    Socks5Server proxy;
    SocksClient client(proxy.port());
    EXPECT_EQ(connect_ipv4(client, target.port()), bytes({5, 0, 0, 1}));
    EXPECT_EQ(client.next(6).size(), 6U);
    ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));  // keep-alive: the tunnel stays open
    ASSERT_TRUE(target.wait_for_requests(1, kWait));
    const auto start = std::chrono::steady_clock::now();
    proxy.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(client.raw().read_to_end(), ReadEnd::eof);
    proxy.stop();  // idempotent
  }
  EXPECT_EQ(count_open_fds(), before);
}

}  // namespace
}  // namespace nethttp::testing
