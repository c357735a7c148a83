// In-process HTTP/1.1 servers for the transport tests, on real sockets.
//
// TestServer is the well-behaved server (Go's httptest.Server): it parses
// requests, calls a handler, keeps connections alive, and records every
// request with its connection and exchange index (OkHttp's MockWebServer).
// The building blocks below it (ServerRequest, ServerSocket, AcceptLoop,
// RequestLog) are shared with ScriptedServer (scripted_server.h), the server
// for faults that real servers do not produce; AcceptLoop and ServerSocket
// also with Socks5Server (socks5_server.h).
//
// Everything here is independent of the library's codec on purpose: a test
// server must not share the parser it is used to test.
//
// Threads: one acceptor thread per server and one thread per accepted
// connection. Every blocking wait polls the socket together with the server's
// stop eventfd, so stop() (and the destructor) return promptly even while a
// client holds a connection open; after them no thread or fd of the server is
// left.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace nethttp::testing {

/// Header or trailer fields as received or to send: (name, value), in order.
using FieldList = std::vector<std::pair<std::string, std::string>>;

/// Limits on what the servers read from a client; a request over them is
/// answered 431/413 (TestServer) or ends the script (ScriptedServer).
struct RequestLimits {
  /// Request line plus header section. Generous for tests, small enough that
  /// a client bug that never ends its head cannot eat memory.
  static constexpr std::size_t max_head_bytes = 64 * 1024;
  /// Decoded request body; transport tests upload at most a few MiB.
  static constexpr std::size_t max_body_bytes = 16 * 1024 * 1024;
  /// One chunk-size line (RFC 9112 §7.1), extensions included.
  static constexpr std::size_t max_chunk_line_bytes = 4096;
  /// The trailer section of a chunked request (RFC 9112 §7.1.2).
  static constexpr std::size_t max_trailer_bytes = 64 * 1024;
};

/// One request as a server received it. Values, freely copied.
struct ServerRequest {
  /// 0-based count of connections the server had accepted before this one.
  std::size_t connection_index = 0;
  /// 0-based index of this request on its connection.
  std::size_t exchange_index = 0;
  std::string method;
  std::string target;     ///< request-target as sent (origin-form, absolute-form, ...)
  int version_minor = 1;  ///< HTTP/1.<version_minor>
  FieldList headers;      ///< names as sent, values without surrounding whitespace
  std::string body;       ///< decoded: chunk framing removed
  FieldList trailers;     ///< trailer fields of a chunked body
  bool chunked = false;   ///< the body was sent with Transfer-Encoding: chunked
  /// False when only the head was read: ExpectContinue::reply_early, or the
  /// script has not (yet) run expect_body().
  bool body_complete = true;
  /// The bytes exactly as received, head and body framing (empty lines a
  /// client sent between requests are not included).
  std::string raw;

  /// The first value of field `name` (case-insensitive), if present.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  /// Whether a comma-separated field `name` lists `token` (both case-insensitive),
  /// e.g. has_token("Connection", "close").
  [[nodiscard]] bool has_token(std::string_view name, std::string_view token) const;
};

/// How one blocking step of a ServerSocket ended.
enum class IoStatus {
  ok,
  closed,     ///< the client closed (EOF, or reset) before the first byte of a message
  truncated,  ///< EOF in the middle of a message
  stopped,    ///< the server is stopping
  timed_out,  ///< the step's timeout passed
  failed,     ///< a socket error (write to a closed peer, ECONNRESET mid-message)
  malformed,  ///< the client sent bytes that are not an HTTP/1.1 request
  too_large,  ///< a RequestLimits limit was passed
};

/// One accepted, non-blocking socket of a server, with an input buffer. Used
/// only by the connection's own thread; every wait also watches the server's
/// stop fd. Created by AcceptLoop; owns the fd (closed by close() or the
/// destructor).
class ServerSocket {
 public:
  using Clock = std::chrono::steady_clock;

  /// `on_close` runs just before the fd is closed (AcceptLoop unregisters it).
  ServerSocket(int fd, int stop_fd, std::function<void()> on_close);
  ~ServerSocket();
  ServerSocket(const ServerSocket&) = delete;
  ServerSocket& operator=(const ServerSocket&) = delete;

  /// Reads a request line and header section into `request` (method, target,
  /// version, headers, raw). Empty lines before the request line are skipped
  /// (RFC 9112 §2.2). `idle_timeout` bounds the wait for the first byte only.
  [[nodiscard]] IoStatus read_head(ServerRequest& request,
                                   std::optional<std::chrono::milliseconds> idle_timeout = std::nullopt);
  /// Reads the body announced by `request`'s head (RFC 9112 §6.3: chunked
  /// when Transfer-Encoding ends in chunked, else Content-Length, else none)
  /// into body/trailers, appending the framing bytes to raw.
  [[nodiscard]] IoStatus read_body(ServerRequest& request);

  /// Writes all of `bytes`; waits for the client to read when its window is full.
  [[nodiscard]] IoStatus write_all(std::string_view bytes);
  /// Waits for the client to close its side, discarding whatever it sends.
  /// Returns closed, stopped, or timed_out.
  IoStatus wait_for_close(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// Sleeps, waking early when the server stops or the connection is dead
  /// (closed both ways, reset). False when it woke early.
  bool sleep(std::chrono::milliseconds duration);

  /// FIN to the client; reading stays possible.
  void shutdown_write();
  /// Closes the fd (the kernel sends RST instead of FIN if unread input is queued).
  void close();
  /// SO_LINGER 0, then close: the client sees a reset.
  void reset();
  /// shutdown_write(), read until the client closes or `drain` passes, close():
  /// the way to close after a response without a reset destroying it.
  void close_gracefully(std::chrono::milliseconds drain);

  [[nodiscard]] bool is_open() const { return fd_ >= 0; }
  /// The socket itself, for a server that speaks something other than HTTP
  /// on it (Socks5Server); it stays owned by this ServerSocket.
  [[nodiscard]] int fd() const { return fd_; }
  /// The server's stop eventfd, readable once the server is stopping: for
  /// waits of such a server's own.
  [[nodiscard]] int stop_fd() const { return stop_fd_; }

 private:
  IoStatus wait_ready(short events, std::optional<Clock::time_point> deadline);
  IoStatus fill(std::optional<Clock::time_point> deadline);
  IoStatus need(std::size_t n);
  IoStatus read_crlf_line(std::string& line, std::size_t limit, ServerRequest& request);
  IoStatus read_chunked(ServerRequest& request);
  void consume(std::size_t n, ServerRequest& request);

  int fd_;
  int stop_fd_;
  std::function<void()> on_close_;
  std::string in_;  ///< received, not yet consumed bytes
};

namespace detail {

/// The listening sockets, acceptor thread and per-connection threads shared
/// by TestServer, ScriptedServer and Socks5Server. Thread-safe; stop() is
/// idempotent.
class AcceptLoop {
 public:
  /// Runs on the connection's own thread; the socket is closed after it returns.
  using OnConnection = std::function<void(std::size_t connection_index, ServerSocket& socket)>;

  /// Listens on 127.0.0.1:0 and, when `unix_socket_path` is not empty, on that
  /// Unix socket (an existing file there is replaced). Throws
  /// std::system_error when it cannot listen.
  AcceptLoop(OnConnection on_connection, std::string unix_socket_path = {});
  ~AcceptLoop();
  AcceptLoop(const AcceptLoop&) = delete;
  AcceptLoop& operator=(const AcceptLoop&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::size_t connections_accepted() const;
  [[nodiscard]] std::size_t open_connections() const;
  bool wait_for_connections_accepted(std::size_t n, std::chrono::milliseconds timeout) const;
  bool wait_for_open_connections(std::size_t n, std::chrono::milliseconds timeout) const;
  /// shutdown(SHUT_RDWR) of every open connection: clients see EOF at once;
  /// each connection's thread then closes its fd. Waits (bounded) until they have.
  void close_client_connections();
  /// Wakes and joins every thread, closes every fd. Idempotent.
  void stop();

 private:
  struct Conn {
    std::size_t index = 0;
    int fd = -1;            ///< guarded by mu_; -1 once the thread closed it
    bool finished = false;  ///< guarded by mu_; the thread is about to exit
    std::thread thread;     ///< set by the acceptor, joined by reap/stop
  };

  void run_acceptor();
  void accept_one(int listen_fd);
  void run_connection(Conn* conn);
  void reap_finished();

  OnConnection on_connection_;
  std::string unix_socket_path_;
  int tcp_fd_ = -1;
  int unix_fd_ = -1;
  int stop_fd_ = -1;  ///< eventfd, readable once stop() began
  std::uint16_t port_ = 0;

  mutable std::mutex mu_;  // guards the following fields
  mutable std::condition_variable changed_;
  std::list<Conn> conns_;
  std::size_t accepted_ = 0;
  std::size_t open_ = 0;
  bool stopping_ = false;

  std::thread acceptor_;  ///< started last in the constructor
};

/// The requests a server recorded, with waiting. Thread-safe.
class RequestLog {
 public:
  /// Appends; returns the position for update().
  std::size_t record(ServerRequest request);
  void update(std::size_t position, ServerRequest request);
  [[nodiscard]] std::vector<ServerRequest> snapshot() const;
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;  // guards requests_
  mutable std::condition_variable changed_;
  std::vector<ServerRequest> requests_;
};

}  // namespace detail

/// What TestServer does with `Expect: 100-continue` (RFC 9110 §10.1.1).
enum class ExpectContinue {
  send_continue,  ///< send "100 Continue", read the body, call the handler
  reply_early,    ///< call the handler without the body, then close the connection
  ignore,         ///< send no 100 and read the body anyway (a client must time out and send it)
};

struct TestServerOptions {
  /// When not empty, also listen on this Unix socket path.
  std::string unix_socket_path;
  ExpectContinue expect_continue = ExpectContinue::send_continue;
  /// When set, the server closes a connection idle this long between requests.
  std::optional<std::chrono::milliseconds> idle_timeout;
  /// When not 0, the N-th response on a connection carries Connection: close.
  std::size_t max_requests_per_connection = 0;
};

/// The response a handler builds. Used only on the handler's thread, during
/// the call. Either set a body (sent with Content-Length after the handler
/// returns), or stream it with write(). Writes return false once the client
/// is gone; the handler may simply return then.
class ServerResponse {
 public:
  ServerResponse(const ServerResponse&) = delete;
  ServerResponse& operator=(const ServerResponse&) = delete;

  /// Default 200; the reason defaults to the usual phrase.
  void set_status(int status, std::string reason = {});
  void add_header(std::string name, std::string value);
  /// Replaces every field named `name` (case-insensitive).
  void set_header(std::string name, std::string value);
  /// The whole body. Framed with Content-Length unless use_chunked(), trailers,
  /// or the handler's own Content-Length field say otherwise.
  void set_body(std::string body);
  /// Frame the body with Transfer-Encoding: chunked (HTTP/1.1 clients).
  void use_chunked();
  /// Adds a trailer field; implies use_chunked().
  void add_trailer(std::string name, std::string value);
  /// Send Connection: close and close the connection after this response.
  void close_connection();

  /// Sends a 1xx interim head now (e.g. 103), before the final head.
  bool send_interim(int status, const FieldList& fields = {});
  /// Sends the head now if not yet sent. Without a Content-Length field of the
  /// handler's, the body is then chunked (HTTP/1.1) or delimited by close (1.0).
  bool flush();
  /// Streams body bytes (as one chunk when chunked); sends the head first.
  bool write(std::string_view bytes);

  /// Stalls until the client closes the connection, `timeout` passes, or the
  /// server stops; input is discarded. True when the client closed. The way to
  /// test client timeouts without blocking stop().
  bool wait_for_client_close(std::chrono::milliseconds timeout);
  /// Sleeps, waking early when the server stops or the connection is dead; false then.
  bool sleep(std::chrono::milliseconds duration);

 private:
  friend class TestServer;
  enum class Framing { none, length, chunked, until_close };

  ServerResponse(ServerSocket& socket, const ServerRequest& request, bool must_close);
  [[nodiscard]] Framing decide_framing(bool streaming) const;
  bool send_head(bool streaming);
  /// Completes the response; true when the connection may serve another request.
  [[nodiscard]] bool finish();

  ServerSocket& socket_;
  const ServerRequest& request_;
  int status_ = 200;
  std::string reason_;
  FieldList headers_;
  std::string body_;
  FieldList trailers_;
  bool chunked_ = false;
  bool close_ = false;
  bool head_sent_ = false;
  bool failed_ = false;
  Framing framing_ = Framing::length;
  std::size_t declared_length_ = 0;  ///< for Framing::length once the head is sent
  std::size_t written_bytes_ = 0;    ///< body bytes sent after the head
};

/// A well-behaved HTTP/1.1 server on 127.0.0.1:0 that calls `handler` for
/// every request (on the connection's thread; handlers of different
/// connections run concurrently). Records every request. Thread-safe.
class TestServer {
 public:
  using Handler = std::function<void(const ServerRequest&, ServerResponse&)>;

  /// Starts listening at once. Without a handler every request gets 200 "ok".
  /// Throws std::system_error when it cannot listen.
  explicit TestServer(Handler handler = {}, TestServerOptions options = {});
  /// stop().
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  /// "http://127.0.0.1:PORT"
  [[nodiscard]] std::string url() const;
  /// "127.0.0.1:PORT"
  [[nodiscard]] std::string host_port() const;
  [[nodiscard]] std::uint16_t port() const { return loop_.port(); }
  [[nodiscard]] const std::string& unix_socket_path() const { return options_.unix_socket_path; }

  [[nodiscard]] std::size_t connections_accepted() const { return loop_.connections_accepted(); }
  [[nodiscard]] std::size_t open_connections() const { return loop_.open_connections(); }
  /// Copies of every request so far, in the order their bodies were complete.
  [[nodiscard]] std::vector<ServerRequest> requests() const { return log_.snapshot(); }
  /// Blocks until `n` requests are recorded; false after `timeout`.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    return log_.wait_for(n, timeout);
  }
  bool wait_for_open_connections(std::size_t n, std::chrono::milliseconds timeout) const {
    return loop_.wait_for_open_connections(n, timeout);
  }
  /// Server-side close of every open connection (idle or not): for stale
  /// connection tests. New connections are still accepted.
  void close_client_connections() { loop_.close_client_connections(); }
  /// Stops accepting, wakes and joins every thread, closes every fd (clients
  /// see EOF, or a reset when they had sent bytes not yet read). Idempotent.
  /// A handler blocked outside ServerResponse's waits delays it.
  void stop() { loop_.stop(); }

 private:
  void serve(std::size_t connection_index, ServerSocket& socket);

  Handler handler_;
  TestServerOptions options_;
  detail::RequestLog log_;
  detail::AcceptLoop loop_;  ///< last: its threads use the members above
};

}  // namespace nethttp::testing
