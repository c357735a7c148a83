// -v: connection events and message heads as readable lines on stderr.
#pragma once

#include <cstdio>
#include <memory>

#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/trace.h"

namespace nethttp::cli {

/// Prints one line per event, e.g.
///
///     > GET http://127.0.0.1:8080/a
///     * 0.012ms get-conn http://127.0.0.1:8080
///     * 0.020ms dns 127.0.0.1
///     * 0.051ms dns 127.0.0.1 ok
///     * 0.060ms connect 127.0.0.1:8080
///     * 0.157ms connect 127.0.0.1:8080 ok
///     * 0.170ms #1 got-conn new
///     * 0.222ms #1 wrote-request
///     * 0.401ms #1 first-byte
///     < #1 HTTP/1.1 200 OK
///     < #1 Content-Length: 5
///     * 0.455ms #1 put-idle
///     * 0.980ms #1 closed closed_by_user
///
/// "#N" is the connection id (ConnInfo::id, the JSON conn.id); times are
/// milliseconds since the printer was made. Events before a connection exists
/// (get-conn, dns, connect) carry no id. Bytes that could drive a terminal
/// (controls, non-ASCII) are shown as \xNN.
///
/// Thread-safe: each line is one fwrite, so lines of parallel requests
/// interleave but never mix. The hooks keep the printer's state alive, so
/// they may run after the printer is gone (the transport closing its idle
/// connections at exit).
class TracePrinter {
 public:
  explicit TracePrinter(std::FILE* out);

  /// Transport hooks that print each event.
  [[nodiscard]] Trace hooks() const;
  /// "> METHOD URL" and the header fields the CLI set.
  void request(const Request& request) const;
  /// "< #N HTTP/1.1 200 OK" and the header fields.
  void response(const Response& response) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace nethttp::cli
