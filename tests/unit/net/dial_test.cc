// Dialing on real loopback sockets: the Happy Eyeballs race (RFC 8305) of
// dial_addresses() with addresses that connect, refuse, or never answer (a
// listener whose accept queue is full), the address order, dial_tcp() over
// IPv4 and IPv6, and dial_unix(). Times to success are printed as
// "[ measure  ]" lines and recorded as test properties; the assertions on
// time are only "not before the attempt delay" and generous upper bounds.
#include "net/dial.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "support/dead_ports.h"
#include "support/fd_count.h"
#include "support/socket_io.h"
#include "support/test_server.h"

namespace nethttp::testing {
namespace {

using namespace std::chrono_literals;
using net::Address;
using net::Clock;
using net::DialEvents;
using net::Fd;

[[noreturn]] void fail(const std::string& step) {
  throw std::system_error(errno, std::generic_category(), step);
}

Address ipv4(const char* ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip, &sa.sin_addr) != 1) fail(std::string("inet_pton ") + ip);
  return net::make_address(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

Address ipv6(const char* ip, std::uint16_t port) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  if (::inet_pton(AF_INET6, ip, &sa.sin6_addr) != 1) fail(std::string("inet_pton ") + ip);
  return net::make_address(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

Address loopback4(std::uint16_t port) {
  return ipv4("127.0.0.1", port);
}

/// A TCP socket listening on a free loopback port: connects succeed and wait
/// in its accept queue, never accepted, so the only fd a dial leaves in this
/// process is its own. (A port that refuses is a RefusingPort.)
class ListeningPort {
 public:
  explicit ListeningPort(int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = in6addr_loopback;
      len = sizeof *in6;
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
      *in4 = loopback_address(0);
      len = sizeof *in4;
    }
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&ss), len) != 0) fail("bind");
    if (::listen(fd_, 16) != 0) fail("listen");
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) fail("getsockname");
    port_ = ntohs(family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                     : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  }
  ~ListeningPort() { ::close(fd_); }
  ListeningPort(const ListeningPort&) = delete;
  ListeningPort& operator=(const ListeningPort&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// The connect events of a dial as text: "start A", "done A", "done A
/// refused: connect A: ...".
struct EventLog {
  std::vector<std::string> lines;

  DialEvents events() {
    DialEvents e;
    e.dns_start = [this](std::string_view host) { lines.push_back("dns_start " + std::string(host)); };
    e.dns_done = [this](std::string_view host, const Error* error) {
      lines.push_back("dns_done " + std::string(host) + (error != nullptr ? " error" : ""));
    };
    e.connect_start = [this](std::string_view address) { lines.push_back("start " + std::string(address)); };
    e.connect_done = [this](std::string_view address, const Error* error) {
      std::string line = "done " + std::string(address);
      if (error != nullptr) line += " " + std::string(to_string(error->kind()));
      lines.push_back(line);
    };
    return e;
  }
};

std::vector<std::string> texts(const std::vector<Address>& addresses) {
  std::vector<std::string> out;
  out.reserve(addresses.size());
  for (const Address& a : addresses) out.push_back(a.text);
  return out;
}

bool is_blocking(int fd) {
  return (::fcntl(fd, F_GETFL) & O_NONBLOCK) == 0;
}

int int_option(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  ::getsockopt(fd, level, name, &value, &len);
  return value;
}

bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

/// Checks that the test closes every fd it opens: compares the process's fds
/// at the end with those after the test's own listeners were made (mark()).
class Dial : public ::testing::Test {
 protected:
  void mark() { before_ = open_fds(); }
  /// The fds opened since mark() and still open.
  [[nodiscard]] FdSnapshot opened() const { return opened_since(before_, open_fds()); }
  /// No fd opened since mark() is still open.
  [[nodiscard]] ::testing::AssertionResult all_closed() const {
    const FdSnapshot left = opened();
    if (left.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << describe(left);
  }

 private:
  FdSnapshot before_;
};

// --- the order of addresses (RFC 8305 §4) ---

TEST(OrderAddresses, InterleavesTheFamiliesStartingWithIPv6WhenTheResolverPutsItFirst) {
  const std::vector<Address> resolved = {ipv6("2001:db8::1", 80), ipv6("2001:db8::2", 80),
                                         ipv6("2001:db8::3", 80), ipv4("192.0.2.1", 80),
                                         ipv4("192.0.2.2", 80)};
  EXPECT_EQ(texts(net::order_addresses(resolved)),
            (std::vector<std::string>{"[2001:db8::1]:80", "192.0.2.1:80", "[2001:db8::2]:80", "192.0.2.2:80",
                                      "[2001:db8::3]:80"}));
}

TEST(OrderAddresses, KeepsTheResolversFirstFamilyAndTheOrderWithinEachFamily) {
  // RFC 6724 puts IPv4 first on a host whose IPv6 is not preferred (no
  // global source address, or a gai.conf policy): RFC 8305 keeps that.
  const std::vector<Address> resolved = {ipv4("192.0.2.7", 443), ipv4("192.0.2.3", 443),
                                         ipv6("2001:db8::9", 443), ipv4("192.0.2.5", 443),
                                         ipv6("2001:db8::4", 443)};
  EXPECT_EQ(texts(net::order_addresses(resolved)),
            (std::vector<std::string>{"192.0.2.7:443", "[2001:db8::9]:443", "192.0.2.3:443",
                                      "[2001:db8::4]:443", "192.0.2.5:443"}));
}

TEST(OrderAddresses, LeavesASingleFamilyAndAnEmptyListAsTheyAre) {
  const std::vector<Address> resolved = {ipv4("192.0.2.2", 80), ipv4("192.0.2.1", 80)};
  EXPECT_EQ(texts(net::order_addresses(resolved)),
            (std::vector<std::string>{"192.0.2.2:80", "192.0.2.1:80"}));
  EXPECT_TRUE(net::order_addresses({}).empty());
}

TEST(MakeAddress, WritesIPv6InBrackets) {
  EXPECT_EQ(ipv6("::1", 8080).text, "[::1]:8080");
  EXPECT_EQ(ipv4("127.0.0.1", 1).text, "127.0.0.1:1");
  EXPECT_EQ(ipv6("::1", 8080).family(), AF_INET6);
  EXPECT_EQ(ipv6("::1", 8080).length, sizeof(sockaddr_in6));
}

// --- the race (dial_addresses) ---

TEST_F(Dial, AnUnansweredFirstAddressIsOvertakenByTheNextAfterTheAttemptDelay) {
  const UnansweredListener unanswered;
  const ListeningPort good;
  const std::vector<Address> addresses = {loopback4(unanswered.port()), loopback4(good.port())};
  EventLog log;
  mark();

  const Clock::time_point start = Clock::now();
  Result<Fd> fd = net::dial_addresses(addresses, start + 10s, log.events());
  const auto elapsed = Clock::now() - start;

  ASSERT_TRUE(fd) << fd.error().message();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  std::printf(
      "[ measure  ] Happy Eyeballs: unanswered first address, connected through the second after %.1f ms "
      "(attempt delay %lld ms)\n",
      static_cast<double>(us) / 1000.0, static_cast<long long>(net::kConnectionAttemptDelay.count()));
  RecordProperty("fallback_connect_us", std::to_string(us));
  EXPECT_GE(elapsed, net::kConnectionAttemptDelay) << "the second address started before the attempt delay";
  EXPECT_LT(elapsed, 5s);

  const std::string u = addresses[0].text;
  const std::string g = addresses[1].text;
  EXPECT_EQ(log.lines,
            (std::vector<std::string>{"start " + u, "start " + g, "done " + g, "done " + u + " canceled"}));
  // The unanswered attempt's socket is closed: only the winner is left open.
  const FdSnapshot left = opened();
  ASSERT_EQ(left.size(), 1u) << describe(left);
  EXPECT_EQ(left.begin()->first, fd->get());
  EXPECT_TRUE(is_blocking(fd->get()));
  EXPECT_EQ(int_option(fd->get(), IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(int_option(fd->get(), SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(int_option(fd->get(), IPPROTO_TCP, TCP_KEEPIDLE), 15);
  fd->reset();
  EXPECT_TRUE(all_closed());
}

TEST_F(Dial, ARefusedAddressStartsTheNextAtOnce) {
  const RefusingPort refused;
  const ListeningPort good;
  const std::vector<Address> addresses = {loopback4(refused.port()), loopback4(good.port())};
  EventLog log;
  mark();

  // An attempt delay far longer than the bound below: only a failure that
  // starts the next attempt at once can make it.
  const Clock::time_point start = Clock::now();
  Result<Fd> fd = net::dial_addresses(addresses, start + 30s, log.events(), 10s);
  const auto elapsed = Clock::now() - start;

  ASSERT_TRUE(fd) << fd.error().message();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  std::printf("[ measure  ] refused first address, connected through the second after %.3f ms\n",
              static_cast<double>(us) / 1000.0);
  RecordProperty("after_refused_connect_us", std::to_string(us));
  EXPECT_LT(elapsed, 5s) << "the refusal did not start the next attempt";
  const std::string r = addresses[0].text;
  const std::string g = addresses[1].text;
  EXPECT_EQ(log.lines,
            (std::vector<std::string>{"start " + r, "done " + r + " connect", "start " + g, "done " + g}));
  fd->reset();
  EXPECT_TRUE(all_closed());
}

TEST_F(Dial, EveryAddressRefusedIsAConnectErrorNamingTheLast) {
  const RefusingPort first;
  const RefusingPort second;
  const std::vector<Address> addresses = {loopback4(first.port()), loopback4(second.port())};
  EventLog log;
  mark();

  Result<Fd> fd = net::dial_addresses(addresses, Clock::now() + 10s, log.events());

  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::connect);
  EXPECT_EQ(fd.error().message(),
            "connect 127.0.0.1:" + std::to_string(second.port()) + ": Connection refused");
  EXPECT_EQ(fd.error().sys_errno(), ECONNREFUSED);
  EXPECT_EQ(log.lines.size(), 4u);
  EXPECT_TRUE(all_closed());
}

TEST_F(Dial, EveryAddressUnansweredTimesOutAtTheDeadline) {
  const UnansweredListener first;
  const UnansweredListener second;
  const std::vector<Address> addresses = {loopback4(first.port()), loopback4(second.port())};
  EventLog log;
  mark();

  const Clock::time_point start = Clock::now();
  Result<Fd> fd = net::dial_addresses(addresses, start + 600ms, log.events(), 100ms);
  const auto elapsed = Clock::now() - start;

  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::timeout);
  EXPECT_EQ(fd.error().message(), "connect " + addresses[0].text + ", " + addresses[1].text +
                                      ": no answer before the connect deadline");
  EXPECT_GE(elapsed, 600ms);
  EXPECT_LT(elapsed, 5s);
  const std::string a = addresses[0].text;
  const std::string b = addresses[1].text;
  EXPECT_EQ(log.lines, (std::vector<std::string>{"start " + a, "start " + b, "done " + a + " timeout",
                                                 "done " + b + " timeout"}));
  EXPECT_TRUE(all_closed());
}

TEST_F(Dial, ADeadlineBeforeTheAttemptDelayLeavesTheNextAddressUntried) {
  const UnansweredListener unanswered;
  const ListeningPort good;
  const std::vector<Address> addresses = {loopback4(unanswered.port()), loopback4(good.port())};
  EventLog log;
  mark();

  Result<Fd> fd = net::dial_addresses(addresses, Clock::now() + 100ms, log.events(), 2s);

  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::timeout);
  EXPECT_EQ(fd.error().message(), "connect " + addresses[0].text +
                                      ": no answer before the connect deadline; 1 more address not tried");
  EXPECT_EQ(log.lines.size(), 2u);
  EXPECT_TRUE(all_closed());
}

TEST_F(Dial, ARefusalThenNoAnswerTimesOutNamingBoth) {
  const RefusingPort refused;
  const UnansweredListener unanswered;
  const std::vector<Address> addresses = {loopback4(refused.port()), loopback4(unanswered.port())};
  mark();

  Result<Fd> fd = net::dial_addresses(addresses, Clock::now() + 300ms, {});

  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::timeout);
  EXPECT_EQ(fd.error().message(), "connect " + addresses[1].text +
                                      ": no answer before the connect deadline; connect " +
                                      addresses[0].text + ": Connection refused");
  EXPECT_TRUE(all_closed());
}

TEST(DialAddresses, NoAddressesIsAConnectError) {
  Result<Fd> fd = net::dial_addresses({}, Clock::now() + 1s, {});
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::connect);
}

// --- dial_tcp: resolution, IPv4 and IPv6 ---

TEST(DialTcp, ConnectsToLocalhostAndReportsEachStep) {
  const ListeningPort good;
  EventLog log;
  Result<Fd> fd = net::dial_tcp("localhost", good.port(), Clock::now() + 10s, log.events());
  ASSERT_TRUE(fd) << fd.error().message();
  const std::string address = "127.0.0.1:" + std::to_string(good.port());
  EXPECT_EQ(log.lines, (std::vector<std::string>{"dns_start localhost", "dns_done localhost",
                                                 "start " + address, "done " + address}));
}

TEST(DialTcp, ARefusedPortKeepsTheMessageShape) {
  const RefusingPort refused;
  Result<Fd> fd = net::dial_tcp("127.0.0.1", refused.port(), Clock::now() + 10s, {});
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::connect);
  EXPECT_EQ(fd.error().message(),
            "connect 127.0.0.1:" + std::to_string(refused.port()) + ": Connection refused");
}

TEST(DialTcp, AnUnresolvableNameIsADnsError) {
  Result<Fd> fd = net::dial_tcp("no-such-host.invalid", 80, Clock::now() + 10s, {});
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::dns);
}

TEST(DialTcp, ConnectsOverIPv6Loopback) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  const ListeningPort good(AF_INET6);
  EventLog log;
  Result<Fd> fd = net::dial_tcp("::1", good.port(), Clock::now() + 10s, log.events());
  ASSERT_TRUE(fd) << fd.error().message();
  const std::string address = "[::1]:" + std::to_string(good.port());
  EXPECT_EQ(log.lines, (std::vector<std::string>{"dns_start ::1", "dns_done ::1", "start " + address,
                                                 "done " + address}));
  EXPECT_EQ(int_option(fd->get(), IPPROTO_TCP, TCP_NODELAY), 1);
}

TEST_F(Dial, FallsBackFromAnUnansweredIPv4AddressToIPv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  const UnansweredListener unanswered;
  const ListeningPort good(AF_INET6);
  const std::vector<Address> addresses = {loopback4(unanswered.port()), ipv6("::1", good.port())};
  EventLog log;
  mark();

  const Clock::time_point start = Clock::now();
  Result<Fd> fd = net::dial_addresses(addresses, start + 10s, log.events());
  const auto elapsed = Clock::now() - start;

  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_GE(elapsed, net::kConnectionAttemptDelay);
  EXPECT_LT(elapsed, 5s);
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  ASSERT_EQ(::getpeername(fd->get(), reinterpret_cast<sockaddr*>(&peer), &len), 0);
  EXPECT_EQ(peer.ss_family, AF_INET6);
  EXPECT_EQ(log.lines.back(), "done " + addresses[0].text + " canceled");
  fd->reset();
  EXPECT_TRUE(all_closed());
}

// --- dial_unix ---

/// A fresh directory under /tmp (short enough for Unix socket paths),
/// removed with what is left in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/nethttp-dial-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    for (const char* name : {"server.sock", "full.sock"}) ::unlink((path_ + "/" + name).c_str());
    ::rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(DialUnix, ConnectsToAListeningSocketAndCarriesARequest) {
  const TempDir dir;
  TestServerOptions options;
  options.unix_socket_path = dir.file("server.sock");
  TestServer server({}, options);
  EventLog log;

  Result<Fd> fd = net::dial_unix(server.unix_socket_path(), Clock::now() + 10s, log.events());

  ASSERT_TRUE(fd) << fd.error().message();
  const std::string address = "unix:" + server.unix_socket_path();
  EXPECT_EQ(log.lines, (std::vector<std::string>{"start " + address, "done " + address}));
  EXPECT_TRUE(is_blocking(fd->get()));
  ASSERT_TRUE(write_all(fd->get(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string response;
  char buf[512];
  for (ssize_t n = 0; (n = ::recv(fd->get(), buf, sizeof buf, 0)) > 0;)
    response.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(response.substr(0, 15), "HTTP/1.1 200 OK") << response;
}

TEST(DialUnix, AMissingPathIsAConnectErrorNamingIt) {
  const TempDir dir;
  const std::string path = dir.file("missing.sock");
  EventLog log;
  Result<Fd> fd = net::dial_unix(path, Clock::now() + 10s, log.events());
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::connect);
  EXPECT_EQ(fd.error().message(), "connect unix:" + path + ": No such file or directory");
  EXPECT_EQ(fd.error().sys_errno(), ENOENT);
  EXPECT_EQ(log.lines, (std::vector<std::string>{"start unix:" + path, "done unix:" + path + " connect"}));
}

TEST(DialUnix, APathTooLongForASockaddrUnIsAConnectErrorSayingSo) {
  const std::string path = "/tmp/" + std::string(200, 'x') + ".sock";
  Result<Fd> fd = net::dial_unix(path, Clock::now() + 10s, {});
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::connect);
  EXPECT_NE(fd.error().message().find("connect unix:" + path + ": path too long (210 bytes"),
            std::string::npos)
      << fd.error().message();
  EXPECT_EQ(fd.error().sys_errno(), ENAMETOOLONG);
}

TEST(DialUnix, AListenerWithAFullQueueTimesOutAtTheDeadline) {
  const TempDir dir;
  const std::string path = dir.file("full.sock");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0)
      << std::strerror(errno);
  ASSERT_EQ(::listen(listener.get(), 0), 0);
  // Fill the accept queue (a backlog of 0 admits one connection).
  const Fd filler(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ASSERT_EQ(::connect(filler.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0)
      << std::strerror(errno);
  const Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
    GTEST_SKIP() << "this kernel does not bound a Unix socket's accept queue by its backlog";
  }

  const Clock::time_point start = Clock::now();
  Result<Fd> fd = net::dial_unix(path, start + 300ms, {});
  const auto elapsed = Clock::now() - start;

  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::timeout) << fd.error().message();
  EXPECT_NE(fd.error().message().find("no answer before the connect deadline"), std::string::npos)
      << fd.error().message();
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 5s);
}

}  // namespace
}  // namespace nethttp::testing
