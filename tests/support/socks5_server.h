// Socks5Server: an in-process SOCKS5 proxy (RFC 1928, with RFC 1929's
// username/password authentication) on 127.0.0.1:0, for the proxy tests. It
// answers CONNECT only: it resolves a domain name itself, connects to the
// target and relays bytes both ways until both sides have closed (a FIN on
// one side is passed on to the other as a half-close), and records every
// CONNECT it received. It can require credentials, refuse every CONNECT with
// a chosen reply code, or misbehave at a chosen step (stall, close).
//
//   Socks5Server proxy(Socks5ServerOptions::requiring("user", "secret"));
//   // ... a client connects through proxy.port() to server.port() ...
//   EXPECT_EQ(proxy.connects().at(0).target, "127.0.0.1:" + std::to_string(server.port()));
//
// Written independently of the library's SOCKS5 client (src/net/socks5.cc),
// which it exists to test. It listens and accepts with detail::AcceptLoop
// (test_server.h), as TestServer does, and speaks SOCKS5 on the raw fd of
// each accepted ServerSocket.
//
// Threads: AcceptLoop's acceptor thread and one thread per accepted
// connection. Every blocking wait (reads, writes, connecting to the target,
// relaying) also polls the server's stop eventfd, so stop() and the
// destructor return promptly even while a client keeps a tunnel open; after
// them no thread or fd of the server is left.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/test_server.h"

namespace nethttp::testing {

/// The username and password a Socks5Server requires (RFC 1929).
struct Socks5Credentials {
  std::string username;
  std::string password;
};

/// Where a Socks5Server stops following the protocol, to test a client's
/// handling of a broken proxy.
enum class Socks5Fault {
  none,
  stall_after_greeting,  ///< read the greeting, then answer nothing until the client closes
  close_after_greeting,  ///< read the greeting, then close the connection
  stall_after_connect,   ///< answer the greeting (and auth), read the CONNECT, answer nothing
  close_after_connect,   ///< answer the greeting (and auth), read the CONNECT, close
};

struct Socks5ServerOptions {
  /// When set, only username/password authentication with exactly these is
  /// accepted; a client that does not offer it gets "no acceptable methods"
  /// (0xFF), wrong credentials get status 1 and the connection is closed.
  /// When unset, only "no authentication" is accepted.
  std::optional<Socks5Credentials> credentials;
  /// When not 0, every CONNECT is answered with this reply code (RFC 1928
  /// §6: 1-8, or any other non-zero byte) and the connection is closed; no
  /// connection to the target is attempted.
  std::uint8_t refuse_with = 0;
  Socks5Fault fault = Socks5Fault::none;

  /// Shorthands for one option (g++ warns about designated initializers that leave fields out).
  static Socks5ServerOptions requiring(std::string username, std::string password) {
    Socks5ServerOptions o;
    o.credentials = Socks5Credentials{std::move(username), std::move(password)};
    return o;
  }
  static Socks5ServerOptions refusing(std::uint8_t reply_code) {
    Socks5ServerOptions o;
    o.refuse_with = reply_code;
    return o;
  }
  static Socks5ServerOptions failing(Socks5Fault fault) {
    Socks5ServerOptions o;
    o.fault = fault;
    return o;
  }
};

/// One CONNECT request as the server received it. Values, freely copied.
struct Socks5Connect {
  /// 0-based count of connections the server had accepted before this one.
  std::size_t connection_index = 0;
  /// "host:port" as the client sent it: a domain name, a dotted IPv4
  /// address, or an IPv6 address in brackets ("[::1]:80", inet_ntop's form).
  std::string target;
  /// The address type of the request (RFC 1928 §5): 1 IPv4, 3 domain name, 4 IPv6.
  std::uint8_t address_type = 0;
  /// The client authenticated with username/password (RFC 1929).
  bool authenticated = false;
  std::string username;  ///< when authenticated
  /// The methods the client's greeting offered, in its order.
  std::vector<std::uint8_t> methods_offered;
};

/// A SOCKS5 proxy on 127.0.0.1:0. Thread-safe.
class Socks5Server {
 public:
  /// Starts listening at once. Throws std::system_error when it cannot.
  explicit Socks5Server(Socks5ServerOptions options = {});
  /// stop().
  ~Socks5Server();
  Socks5Server(const Socks5Server&) = delete;
  Socks5Server& operator=(const Socks5Server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return loop_.port(); }
  /// "127.0.0.1:PORT", as a client names the proxy.
  [[nodiscard]] std::string host_port() const;
  /// "<scheme>://127.0.0.1:PORT", e.g. for a proxy setting.
  [[nodiscard]] std::string url(std::string_view scheme = "socks5") const;

  [[nodiscard]] std::size_t connections_accepted() const { return loop_.connections_accepted(); }
  /// Copies of every CONNECT request received so far, in order.
  [[nodiscard]] std::vector<Socks5Connect> connects() const;
  /// Blocks until `n` CONNECT requests are recorded; false after `timeout`.
  bool wait_for_connects(std::size_t n, std::chrono::milliseconds timeout) const;

  /// Stops accepting, wakes and joins every thread, closes every fd (clients
  /// and targets see EOF, or a reset when bytes were left unread). Idempotent.
  void stop();

 private:
  /// One client's connection, on its own thread, until it ends or the server stops.
  void serve(std::size_t connection_index, ServerSocket& client_socket);
  void record(Socks5Connect connect);

  const Socks5ServerOptions options_;

  mutable std::mutex mu_;  // guards connects_
  mutable std::condition_variable changed_;
  std::vector<Socks5Connect> connects_;

  detail::AcceptLoop loop_;  ///< last: its threads call serve(), which uses the members above
};

}  // namespace nethttp::testing
