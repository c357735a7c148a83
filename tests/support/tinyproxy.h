// A real forward proxy (Debian's tinyproxy 1.11, /usr/bin/tinyproxy) for the
// proxy tests, started and stopped by the test itself: no root-owned paths,
// no system service (the package's own service is never started; see
// scripts/lib.sh).
//
// TinyproxyServer::start() makes a fresh directory /tmp/nethttp-tinyproxy-XXXXXX,
// writes DIR/tinyproxy.conf there, picks a free port on 127.0.0.1 and runs
// `tinyproxy -d -c DIR/tinyproxy.conf` in the foreground as a ChildProcess
// (child_process.h: PR_SET_PDEATHSIG(SIGKILL), so it dies with a crashed
// test). tinyproxy cannot take a listening socket from its parent, so when
// the port was taken between choosing and binding it ("Could not create
// listening sockets") start() tries again with another. It waits (at most
// 10 s) until tinyproxy answers a request for its stats page
// (GET http://tinyproxy.stats/, answered by tinyproxy itself; a 407 when
// basic_auth is set counts as an answer). stop() sends SIGTERM, waits up to
// 5 s, SIGKILLs, and removes the directory.
//
// The configuration: Listen 127.0.0.1, Port PORT, Allow 127.0.0.1 (other
// clients get 403), no ConnectPort line (tinyproxy then lets CONNECT reach
// any port: a loopback nginx's TLS port works), no upstream proxy, LogLevel
// Info to DIR/tinyproxy.log, PidFile DIR/tinyproxy.pid, MaxClients 100, and
// per TinyproxyOptions: BasicAuth, the Via header, Timeout.
//
// How tinyproxy 1.11 behaves (checked by tests/unit/support/tinyproxy_test.cc):
//   - A request in absolute form ("GET http://127.0.0.1:N/path HTTP/1.1") is
//     forwarded in origin form with "Connection: close" to the server, and the
//     server's status line and fields come back as they are (plus "Via: 1.1
//     tinyproxy (tinyproxy/1.11.1)" unless via_header is off). One request
//     per client connection: tinyproxy closes it after the response.
//   - "CONNECT 127.0.0.1:N HTTP/1.1" opens a tunnel: the answer is
//     "HTTP/1.0 200 Connection established" and a "Proxy-agent:" field, then
//     the bytes go through both ways untouched (TLS works through it).
//   - A server or CONNECT target that refuses the connection gets
//     "HTTP/1.1 500 Unable to connect" (HTML body, Connection: close).
//   - With basic_auth, a request without a Proxy-Authorization field gets
//     "HTTP/1.0 407 Proxy Authentication Required" with Proxy-Authenticate:
//     Basic realm="Tinyproxy" (CONNECT too), and the connection is closed.
//     One with wrong credentials (or another scheme) gets, by a tinyproxy 1.11
//     quirk, "HTTP/1.0 401 Unauthorized" with WWW-Authenticate: Basic
//     realm="Tinyproxy" instead. The right one is not forwarded to the server.
//
// Not thread-safe: use one TinyproxyServer from one thread; the proxy itself
// serves any number of clients at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support/child_process.h"

namespace nethttp::testing {

/// Credentials of tinyproxy's BasicAuth.
struct ProxyCredentials {
  std::string user;
  std::string password;
};

struct TinyproxyOptions {
  /// BasicAuth USER PASSWORD: every request needs
  /// "Proxy-Authorization: Basic base64(USER:PASSWORD)". tinyproxy 1.11 takes
  /// only letters, digits, '-', '.' and '_' in either (start() fails otherwise).
  std::optional<ProxyCredentials> basic_auth;
  /// Forwarded requests and responses get a Via field naming tinyproxy
  /// (ViaProxyName "tinyproxy"); off: DisableViaHeader Yes.
  bool via_header = true;
  /// Timeout: how long tinyproxy waits on an idle connection (a tunnel too).
  std::chrono::seconds idle_timeout{60};
  /// More configuration lines, appended as they are (e.g. "ConnectPort 443").
  std::string extra_config;
};

class TinyproxyServer {
 public:
  using Options = TinyproxyOptions;

  explicit TinyproxyServer(Options options = {});
  /// stop().
  ~TinyproxyServer();
  TinyproxyServer(const TinyproxyServer&) = delete;
  TinyproxyServer& operator=(const TinyproxyServer&) = delete;
  TinyproxyServer(TinyproxyServer&&) = delete;
  TinyproxyServer& operator=(TinyproxyServer&&) = delete;

  /// Where tinyproxy is looked for: $NETHTTP_TINYPROXY if set, else /usr/bin/tinyproxy.
  [[nodiscard]] static std::string binary_path();

  /// Makes the directory, writes the configuration, starts tinyproxy and
  /// waits until it answers (see the top of this file). On failure nothing is
  /// left running and the message says why: tinyproxy not installed (run
  /// scripts/test.sh), or its output, log and configuration. Use as
  /// ASSERT_TRUE(proxy.start()).
  [[nodiscard]] ::testing::AssertionResult start();
  /// SIGTERM, up to 5 s for tinyproxy to exit, then SIGKILL; reaps it and
  /// removes the directory. Safe to call again; the destructor calls it.
  void stop();

  /// tinyproxy is alive: started, not stopped, and not exited on its own (if
  /// it has, this reaps it; the directory stays until stop()).
  [[nodiscard]] bool running();
  /// tinyproxy's process id while running, else -1.
  [[nodiscard]] pid_t pid() const { return tinyproxy_.pid(); }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// "127.0.0.1".
  [[nodiscard]] static std::string host() { return "127.0.0.1"; }
  /// "127.0.0.1:PORT".
  [[nodiscard]] std::string authority() const;
  /// "http://127.0.0.1:PORT": the proxy URL to give a client.
  [[nodiscard]] std::string url() const;
  /// "http://USER:PASSWORD@127.0.0.1:PORT" with basic_auth, else url().
  [[nodiscard]] std::string url_with_credentials() const;
  /// "Basic base64(USER:PASSWORD)", the Proxy-Authorization value basic_auth
  /// wants; "" without basic_auth.
  [[nodiscard]] std::string proxy_authorization() const;
  /// The temp directory ("" when not started or stopped).
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] const Options& options() const { return options_; }

  /// DIR/tinyproxy.log so far (tinyproxy writes each line as it happens);
  /// "" when not there.
  [[nodiscard]] std::string log() const;
  /// tinyproxy's stdout and stderr (startup errors that never reach the log).
  [[nodiscard]] std::string output() const;
  /// The request lines tinyproxy has read from clients, in order, from its
  /// log ("CONNECT 127.0.0.1:443 HTTP/1.1", "GET http://127.0.0.1:8080/ HTTP/1.1"),
  /// without the harness's own readiness probes. tinyproxy logs a request
  /// line before it contacts the server, so once a client has its response
  /// the line is there.
  [[nodiscard]] std::vector<std::string> requests() const;

 private:
  /// start() once the directory is made: picks a port, writes the
  /// configuration, runs tinyproxy and waits for it, retrying with another
  /// port. Leaves the directory for start() to remove when it fails.
  [[nodiscard]] ::testing::AssertionResult start_in_dir(const std::string& binary);
  [[nodiscard]] std::string config() const;
  [[nodiscard]] bool probe(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string diagnostics() const;
  void remove_dir();

  Options options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  ChildProcess tinyproxy_;        ///< SIGTERM, 5 s, SIGKILL
  std::string last_probe_error_;  ///< why the last readiness probe failed
};

}  // namespace nethttp::testing
