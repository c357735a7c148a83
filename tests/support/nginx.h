// A real nginx (Debian's /usr/sbin/nginx) for integration tests, started and
// stopped by the test itself: no root-owned paths, no system service.
//
// NginxServer::start() makes a fresh prefix /tmp/nethttp-nginx-XXXXXX, writes
// nginx.conf and the static files there, picks a free port on 127.0.0.1 and
// runs `nginx -p PREFIX/ -c PREFIX/nginx.conf -e PREFIX/error.log` as a single
// foreground process (daemon off, master_process off), so one signal ends it.
// Everything nginx writes (error.log, access.log, nginx.pid, nginx.sock, the
// temp paths, the child's stdout/stderr in nginx.stderr) stays in the prefix,
// which stop() removes. nginx runs as a ChildProcess (child_process.h), with
// PR_SET_PDEATHSIG(SIGKILL): when the thread that called start() dies (a
// crashed test), the kernel kills nginx; start() removes such a test's prefix
// once it is ten minutes old.
//
// What the server answers (PORT is port(); every location takes any method
// unless said otherwise):
//   /stub_status       nginx's counters (see StubStatus); the harness reads them.
//   /small             static file, "hello, world\n" (kSmallBody), text/plain,
//                      Content-Length 13, with ETag, Last-Modified, Range (GET/HEAD).
//   /bytes/N           static file of N bytes, pattern_bytes(N), for every N in
//                      NginxOptions::file_sizes; application/octet-stream (GET/HEAD).
//   /chunked/N         the same bytes through the SSI filter, which drops the length:
//                      Transfer-Encoding: chunked to HTTP/1.1 requests (GET/HEAD);
//                      N = 0 keeps Content-Length: 0 (the filter skips empty files).
//   /gzip/N            the same bytes, gzip-compressed and chunked when the request
//                      has Accept-Encoding: gzip; identity with a length otherwise.
//   /status/NNN        `return NNN;` for NNN in kReturnStatuses: an empty body with
//                      Content-Length: 0 for 200/204/304, nginx's small HTML page else.
//   /redirect          302 to /small. /redirect/NNN: NNN in 301 302 303 307 308 to
//                      /small. Location is absolute: http://127.0.0.1:PORT/small
//                      (host from the Host field, port of the listener).
//   /request           200 text/plain describing the request; any request body is
//                      read and discarded. One "name: value" line each, in order:
//                        method, uri, protocol, host, content-length,
//                        transfer-encoding, content-type, connection-header
//                        (the Connection field), connection (nginx's serial number
//                        of the TCP connection: equal on reuse), connection-requests
//                        (1 for the first request on a connection, 2 for the next...).
//                      A field the request lacks gives an empty value.
//   /close             `return 444;`: nginx closes the connection without answering.
//   NginxOptions::files and NginxOptions::extra_locations add to this.
//
// TLS (NginxOptions::tls, see NginxTlsOptions): a second listener on
// 127.0.0.1:tls_port() speaks TLS and serves the same locations (the redirects'
// Location then says https://HOST:TLS_PORT/small). The plain listener
// stays, and start() still probes it. With TLS on, /request's body goes on
// after connection-requests with these lines (empty values on the plain
// listener and the Unix socket; without TLS they are not there at all):
//     tls-protocol        "TLSv1.3", "TLSv1.2", "TLSv1" ($ssl_protocol)
//     tls-cipher          OpenSSL's name of the cipher, e.g. "TLS_AES_256_GCM_SHA384"
//     tls-session-reused  "r" when the handshake resumed a session, "." when not
//     tls-server-name     the SNI name the client sent ("" when none)
//     tls-alpn            the ALPN protocol agreed ("http/1.1"; "" when none)
//     tls-client-verify   "SUCCESS", "FAILED:reason" or "NONE" ($ssl_client_verify)
//     tls-client-subject  the client certificate's subject, e.g. "CN=nethttp test client"
// With a client CA set, nginx asks for a client certificate in the handshake
// but never fails the handshake for it: a missing certificate (with
// require_client_cert) or one it cannot verify gets an HTTP 400 answer on the
// TLS connection instead.
//
// Also here: RawSocket, a tiny blocking HTTP/1.1 client over plain sockets that
// does not use the library (for the harness's own /stub_status queries and for
// tests that need exact bytes on the wire).
//
// Not thread-safe: use one NginxServer from one thread (several servers may run
// at once, in one process or in parallel test programs).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/child_process.h"

namespace nethttp::testing {

/// The body of /small.
inline constexpr std::string_view kSmallBody = "hello, world\n";
/// The statuses served under /status/NNN.
inline constexpr std::array<int, 7> kReturnStatuses = {200, 204, 304, 400, 404, 500, 503};
/// How long RawSocket waits for a response or a close unless told otherwise.
inline constexpr std::chrono::milliseconds kRawTimeout{5000};

/// `size` bytes of the /bytes/N files: lines of 63 letters and digits and a
/// '\n' (every 64th byte), each line shifted by one from the previous, so a
/// lost, repeated or misplaced piece shows.
[[nodiscard]] std::string pattern_bytes(std::size_t size);

/// What nginx's stub_status reports. Counters are since nginx started and
/// include the harness's own queries (see NginxServer::accepted_connections()).
struct StubStatus {
  std::uint64_t active = 0;    ///< open client connections, including the query's own
  std::uint64_t accepts = 0;   ///< connections accepted
  std::uint64_t handled = 0;   ///< connections handled (== accepts unless a limit hit)
  std::uint64_t requests = 0;  ///< requests started
  std::uint64_t reading = 0;   ///< connections reading a request head
  std::uint64_t writing = 0;   ///< connections writing a response (the query's own, at least)
  std::uint64_t waiting = 0;   ///< idle keep-alive connections
};

/// The TLS listener of NginxOptions::tls. Paths are PEM files nginx reads
/// at start (tls_certs.h makes them), e.g.
///   options.tls = NginxTlsOptions{.cert = pki.server_cert(), .key = pki.server_key()};
/// (every member has a default, so g++'s -Wmissing-field-initializers lets
/// designated initializers leave any out).
struct NginxTlsOptions {
  /// ssl_certificate: the server's certificate (and any chain after it).
  std::string cert{};
  /// ssl_certificate_key.
  std::string key{};
  /// ssl_protocols, nginx's names separated by spaces ("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3").
  std::string protocols = "TLSv1.2 TLSv1.3";
  /// ssl_ciphers (OpenSSL's cipher list for TLS 1.2 and below); "" keeps
  /// nginx's default, HIGH:!aNULL:!MD5. TLS 1.3 suites are not set by it (use
  /// "ssl_conf_command Ciphersuites ...;" in extra_locations).
  std::string ciphers{};
  /// ssl_client_certificate: the CA whose certificates clients may present;
  /// "" asks clients for no certificate.
  std::string client_ca{};
  /// With client_ca: ssl_verify_client on (a request without a valid client
  /// certificate gets a 400) rather than optional (it is served, and
  /// tls-client-verify says NONE or FAILED).
  bool require_client_cert = true;
  /// A shared session cache and session tickets, so a client resumes its
  /// session on a second connection (TLS 1.2 and 1.3); off: "ssl_session_cache
  /// off; ssl_session_tickets off;", every handshake is a full one.
  bool session_resumption = true;

  /// A listener that speaks TLS 1.0 only (and refuses TLS 1.1 and later):
  /// protocols "TLSv1" and ciphers "DEFAULT@SECLEVEL=0", without which
  /// OpenSSL 3 refuses TLS 1.0 (its SHA-1 signatures). A client needs
  /// SECLEVEL=0 as well to get through.
  [[nodiscard]] static NginxTlsOptions tls10_only(std::string cert, std::string key);
};

struct NginxOptions {
  /// nginx's keepalive_requests: after this many requests on one connection
  /// the response says Connection: close and nginx closes it.
  int keepalive_requests = 1000;
  /// nginx's keepalive_timeout (written in ms, so fractions of a second work);
  /// zero disables keep-alive. 75 s is nginx's default.
  std::chrono::milliseconds keepalive_timeout = std::chrono::seconds(75);
  /// Also listen on PREFIX/nginx.sock (see unix_socket_path()).
  bool unix_socket = true;
  /// Sizes of the /bytes/N, /chunked/N and /gzip/N files.
  std::vector<std::size_t> file_sizes = {0, 1, 1024, 65536, 1048576};
  /// More static files: (path relative to the document root, content), e.g.
  /// {"dir/page.html", "<p>hi</p>"} is served as /dir/page.html. No "..".
  std::vector<std::pair<std::string, std::string>> files;
  /// nginx configuration text inserted into the server block after the
  /// built-in locations, e.g. "location = /teapot { return 418; }".
  std::string extra_locations;
  /// Also listen with TLS on another port (see the top of this file).
  std::optional<NginxTlsOptions> tls;
};

/// One response as RawSocket read it.
struct RawResponse {
  std::string status_line;  ///< without CRLF, e.g. "HTTP/1.1 200 OK"
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;  ///< names as sent, values trimmed
  std::string body;                                         ///< decoded when chunked
  bool chunked = false;                                     ///< the body came chunked
  std::string raw;                                          ///< every byte of the response as received

  /// The first field named `name` (any case), if present.
  [[nodiscard]] std::optional<std::string> field(std::string_view name) const;
};

/// A blocking client socket over plain POSIX calls (O_CLOEXEC, MSG_NOSIGNAL),
/// independent of the library under test.
class RawSocket {
 public:
  RawSocket() = default;
  ~RawSocket();
  RawSocket(RawSocket&& other) noexcept;
  RawSocket& operator=(RawSocket&& other) noexcept;
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  /// Connects to 127.0.0.1:port; see ok() and error().
  [[nodiscard]] static RawSocket connect_tcp(std::uint16_t port);
  /// Connects to a Unix domain stream socket.
  [[nodiscard]] static RawSocket connect_unix(const std::string& path);

  /// Connected, and no call has failed yet.
  [[nodiscard]] bool ok() const { return fd_ >= 0 && error_.empty(); }
  /// Why the last call failed ("" when none did).
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] int fd() const { return fd_; }

  /// Sends every byte; false (see error()) when that fails.
  bool send_all(std::string_view bytes);
  /// Reads one response: framed by Content-Length, chunked (decoded), no body
  /// (1xx, 204, 304, or `head_request`), or until the peer closes. Bytes after
  /// it stay buffered for the next call, so pipelined responses work. nullopt
  /// (see error()) on a timeout, an error, or a close before the response ends.
  [[nodiscard]] std::optional<RawResponse> read_response(bool head_request = false,
                                                         std::chrono::milliseconds timeout = kRawTimeout);
  /// Everything (buffered first) until the peer closes; nullopt on a timeout
  /// or an error.
  [[nodiscard]] std::optional<std::string> read_until_close(std::chrono::milliseconds timeout = kRawTimeout);
  /// True when the peer closes (EOF or reset) within `timeout` without
  /// sending anything more; false (see error()) otherwise.
  [[nodiscard]] bool wait_for_close(std::chrono::milliseconds timeout = kRawTimeout);
  void close();

 private:
  explicit RawSocket(int fd) : fd_(fd) {}
  enum class Fill { data, eof, failed };
  Fill fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;  ///< received, not yet returned
  std::string error_;
};

/// "GET path HTTP/1.1" with Host: 127.0.0.1, `fields` (each ending in CRLF)
/// and the blank line.
[[nodiscard]] std::string get_request(std::string_view path, std::string_view fields = {});

/// The value of the "name: value" line of a /request body (see the top of
/// this file), "<none>" when the body has no such line.
[[nodiscard]] std::string line_value(std::string_view body, std::string_view name);

class NginxServer {
 public:
  using Options = NginxOptions;

  explicit NginxServer(Options options = {});
  /// stop().
  ~NginxServer();
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;
  NginxServer(NginxServer&&) = delete;
  NginxServer& operator=(NginxServer&&) = delete;

  /// Where nginx is looked for: $NETHTTP_NGINX if set, else /usr/sbin/nginx.
  [[nodiscard]] static std::string binary_path();

  /// Makes the prefix, writes the configuration and files, starts nginx and
  /// waits (at most 10 s) until it answers GET /stub_status on the TCP port
  /// (the plain one: nginx has bound every listener by then). Retries with
  /// other ports when a chosen one was taken meanwhile. On
  /// failure nothing is left running and the message says why: nginx not
  /// installed (run scripts/test.sh), or nginx's stderr and error log. Use as
  /// ASSERT_TRUE(server.start()).
  [[nodiscard]] ::testing::AssertionResult start();
  /// SIGTERM, up to 5 s for nginx to exit, then SIGKILL; reaps it and removes
  /// the prefix. Safe to call again; the destructor calls it.
  void stop();

  /// nginx is alive: started, not stopped, and not exited on its own (if it
  /// has, this reaps it; the prefix stays until stop()).
  [[nodiscard]] bool running();
  /// nginx's process id while running, else -1.
  [[nodiscard]] pid_t pid() const { return nginx_.pid(); }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// "127.0.0.1".
  [[nodiscard]] static std::string host() { return "127.0.0.1"; }
  /// "127.0.0.1:PORT".
  [[nodiscard]] std::string authority() const;
  /// "http://127.0.0.1:PORT" + path (path should start with '/').
  [[nodiscard]] std::string url(std::string_view path = "/") const;
  /// The TLS listener's port, 0 without Options::tls or before start().
  [[nodiscard]] std::uint16_t tls_port() const { return tls_port_; }
  /// "127.0.0.1:TLS_PORT".
  [[nodiscard]] std::string tls_authority() const;
  /// "https://127.0.0.1:TLS_PORT" + path (path should start with '/').
  [[nodiscard]] std::string https_url(std::string_view path = "/") const;
  /// PREFIX/nginx.sock, or "" when Options::unix_socket is off or not started.
  [[nodiscard]] const std::string& unix_socket_path() const { return unix_socket_path_; }
  /// The temp prefix ("" when not started or stopped).
  [[nodiscard]] const std::string& prefix() const { return prefix_; }
  [[nodiscard]] const Options& options() const { return options_; }

  /// Reads /stub_status over a fresh TCP connection (HTTP/1.0). nullopt, and
  /// a non-fatal test failure saying why, when that fails.
  [[nodiscard]] std::optional<StubStatus> stub_status();
  /// Connections nginx accepted from anyone but the harness: stub_status
  /// accepts minus the harness's own connections (readiness probes and every
  /// stub_status query, this one included). Connections on the Unix socket
  /// are counted, but one made just before may not be accepted yet.
  [[nodiscard]] std::optional<std::uint64_t> accepted_connections();
  /// Requests nginx started from anyone but the harness (stub_status
  /// requests minus the harness's own).
  [[nodiscard]] std::optional<std::uint64_t> handled_requests();
  /// The harness's own connections so far (see accepted_connections()).
  [[nodiscard]] std::uint64_t own_connections() const { return own_connections_; }

  /// The contents of PREFIX/error.log (level info) and PREFIX/access.log
  /// (format: "$connection $connection_requests "$request" $status
  /// $body_bytes_sent"), "" when not there. nginx logs a request just after
  /// sending its response: to be sure a request is logged, ask for another
  /// one first (e.g. handled_requests()); nginx handles them in order.
  [[nodiscard]] std::string error_log() const;
  [[nodiscard]] std::string access_log() const;

 private:
  [[nodiscard]] ::testing::AssertionResult write_prefix();
  /// start() once the prefix is written: picks the ports, writes nginx.conf,
  /// runs nginx and waits for it, retrying with other ports. Leaves the
  /// prefix for start() to remove when it fails.
  [[nodiscard]] ::testing::AssertionResult start_in_prefix(const std::string& binary);
  [[nodiscard]] std::string config() const;
  [[nodiscard]] ::testing::AssertionResult spawn(const std::string& binary);
  [[nodiscard]] std::optional<StubStatus> query_stub_status(std::chrono::milliseconds timeout,
                                                            std::string* error);
  [[nodiscard]] std::string diagnostics() const;
  void remove_prefix();

  Options options_;
  std::string prefix_;
  std::string unix_socket_path_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  ChildProcess nginx_;            ///< SIGTERM (fast shutdown), 5 s, SIGKILL
  std::string last_probe_error_;  ///< why the last readiness probe failed
  std::uint64_t own_connections_ = 0;
  std::uint64_t own_requests_ = 0;
};

}  // namespace nethttp::testing
