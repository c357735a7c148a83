// ScriptedServer: a server on 127.0.0.1:0 that plays a script of raw socket
// actions per accepted connection, for the faults real servers do not
// produce (truncated responses, resets, half-closes, stalls, garbage), and
// records every request it read with its connection and exchange index.
//
//   ScriptedServer server({
//       Script().expect_request().respond("first").expect_request().close(),  // connection 0
//       Script().expect_request().send("HTTP/1.1 200 OK\r\nContent-Le").reset(),  // connection 1
//   });  // connections 2, 3, ... get ScriptedServer::ok_responder()
//
// Threads and stop(): as TestServer (test_server.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "support/test_server.h"

namespace nethttp::testing {

/// The actions for one connection, applied in order. A value; build it with
/// the chained calls. When the script ends the socket is closed (FIN, or RST
/// if the client sent bytes the script did not read). A step that fails
/// because the client is gone or the server stops ends the script.
class Script {
 public:
  /// Reads one whole request (head, then the body its framing announces) and
  /// records it; the connection's exchange index then advances. At EOF the
  /// script ends.
  Script& expect_request();
  /// Reads and records a request head only (body_complete = false); for
  /// scripting Expect: 100-continue. expect_body() reads the rest.
  Script& expect_request_head();
  /// Reads the body of the last expect_request_head() and updates its record.
  Script& expect_body();
  /// Writes these bytes.
  Script& send(std::string bytes);
  /// Writes `bytes` in pieces of `piece_bytes`, sleeping `delay` after each.
  Script& send_slowly(std::string bytes, std::size_t piece_bytes, std::chrono::milliseconds delay);
  /// Writes a complete response with Content-Length: "HTTP/1.1 <status> ...".
  Script& respond(std::string body = "ok", int status = 200);
  /// Writes the first `n` bytes of `bytes`, then closes: a truncated message.
  Script& close_after(std::string bytes, std::size_t n);
  /// Does nothing for `duration`; ends the script early when the server stops
  /// or the connection is dead (reset, closed both ways, close_client_connections()).
  Script& sleep(std::chrono::milliseconds duration);
  /// Reads and discards until the client closes (or stop()): holds the
  /// connection open without answering.
  Script& stall_until_closed();
  /// Closes the socket.
  Script& close();
  /// Half-close: FIN to the client; the script may still read.
  Script& shutdown_write();
  /// SO_LINGER 0 and close: the client sees ECONNRESET.
  Script& reset();
  /// Starts over from the first action (the exchange index keeps counting).
  /// The script must contain a step that waits (expect_request*, sleep,
  /// send_slowly or stall_until_closed), or it would spin.
  Script& repeat();

  enum class Kind {
    expect_request,
    expect_request_head,
    expect_body,
    send,
    send_slowly,
    sleep,
    stall_until_closed,
    close,
    shutdown_write,
    reset,
    repeat,
  };
  struct Action {
    Kind kind;
    std::string bytes;                      ///< send, send_slowly
    std::size_t piece_bytes = 0;            ///< send_slowly
    std::chrono::milliseconds duration{0};  ///< sleep; send_slowly's delay per piece
  };
  [[nodiscard]] const std::vector<Action>& actions() const { return actions_; }

 private:
  Script& add(Action action);
  std::vector<Action> actions_;
};

/// Plays scripts on accepted connections. Thread-safe.
class ScriptedServer {
 public:
  /// The script for the connection with this 0-based index.
  using ScriptFactory = std::function<Script(std::size_t connection_index)>;

  /// Answers every request with 200 "ok" (Content-Length), keeping the
  /// connection alive until the client closes it.
  [[nodiscard]] static Script ok_responder();

  /// Connection i plays scripts[i]; connections beyond them play `fallback`.
  /// Throws std::system_error when it cannot listen.
  explicit ScriptedServer(std::vector<Script> scripts, Script fallback = ok_responder());
  /// Connection i plays factory(i), called on the connection's thread.
  explicit ScriptedServer(ScriptFactory factory);
  /// stop().
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  /// "http://127.0.0.1:PORT"
  [[nodiscard]] std::string url() const;
  /// "127.0.0.1:PORT"
  [[nodiscard]] std::string host_port() const;
  [[nodiscard]] std::uint16_t port() const { return loop_.port(); }

  [[nodiscard]] std::size_t connections_accepted() const { return loop_.connections_accepted(); }
  [[nodiscard]] std::size_t open_connections() const { return loop_.open_connections(); }
  /// Copies of every request read so far (raw bytes and parsed), in order.
  [[nodiscard]] std::vector<ServerRequest> requests() const { return log_.snapshot(); }
  /// Blocks until `n` requests are recorded; false after `timeout`.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    return log_.wait_for(n, timeout);
  }
  bool wait_for_connections_accepted(std::size_t n, std::chrono::milliseconds timeout) const {
    return loop_.wait_for_connections_accepted(n, timeout);
  }
  bool wait_for_open_connections(std::size_t n, std::chrono::milliseconds timeout) const {
    return loop_.wait_for_open_connections(n, timeout);
  }
  /// Server-side close of every open connection, whatever its script is doing.
  void close_client_connections() { loop_.close_client_connections(); }
  /// Stops accepting, ends every script, joins every thread, closes every fd.
  void stop() { loop_.stop(); }

 private:
  void play(std::size_t connection_index, ServerSocket& socket);

  ScriptFactory factory_;
  detail::RequestLog log_;
  detail::AcceptLoop loop_;  ///< last: its threads use the members above
};

}  // namespace nethttp::testing
