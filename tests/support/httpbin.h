// A real httpbin (Debian's python3-httpbin 0.7, served by Debian's gunicorn)
// for integration tests, started and stopped by the test itself: no
// root-owned paths, no system service.
//
// HttpbinServer::start() makes a fresh directory /tmp/nethttp-httpbin-XXXXXX,
// opens a listening socket on 127.0.0.1 on a port the kernel picks (so no
// other program can take the port between choosing and binding it) and runs
//
//   gunicorn --bind fd://3 --worker-class gthread --workers 1 --threads 16
//            --keep-alive 30 --graceful-timeout 1 --chdir DIR
//            --pid DIR/gunicorn.pid --worker-tmp-dir DIR
//            --access-logfile DIR/access.log httpbin:app
//
// with that socket as its fd 3 (child_process.h), in a process group of its
// own; its stdout and stderr (gunicorn's error log, Python tracebacks) go to
// DIR/gunicorn.log. Threads, not processes, serve requests, so slow endpoints
// (/delay, /drip) hold a thread each and do not stall the rest; connections
// stay open between requests (keep-alive, 30 s). start() waits (at most 20 s)
// until GET /get answers 200. stop() sends SIGINT (gunicorn's quick shutdown:
// requests in progress get at most 1 s), waits up to 5 s, SIGKILLs gunicorn and
// whatever is left of its process group (its worker), and removes the
// directory. gunicorn gets PR_SET_PDEATHSIG(SIGKILL): when the thread that
// called start() dies (a crashed test), the kernel kills it, its worker sees
// its parent gone and exits, and a later start() removes the directory once it
// is ten minutes old.
//
// What it serves (PORT is port()): all of httpbin (https://httpbin.org/).
// JSON bodies are one line ending in '\n', compact with sorted keys
// ({"cookies":{"a":"1"}}), except /stream/N's. The endpoints the tests use:
//   /get                  JSON of the request: "args", "headers", "origin", "url". GET only.
//   /anything[/PATH]      the same plus "method", "data" (the body as text), "form",
//                         "json", "files"; any method. /post: the same, POST only.
//   /redirect/N           302 to /relative-redirect/N-1 (N > 1) or /get (N = 1);
//                         relative Location. ?absolute=true: as /absolute-redirect/N.
//   /relative-redirect/N  302 with Location /relative-redirect/N-1, the last one /get.
//   /absolute-redirect/N  302 with Location http://HOST/absolute-redirect/N-1, the last
//                         one http://HOST/get (HOST from the request's Host field).
//   /redirect-to?url=U&status_code=S
//                         S (302 when absent; taken only when 300-399) with
//                         Location: U exactly as given, empty body; any method. The
//                         request body is not read (gunicorn discards it).
//   /gzip /deflate /brotli
//                         /get's JSON without "args" and "url", plus "method" and
//                         "gzipped"/"deflated"/"brotli": true, always compressed
//                         (gzip, zlib-wrapped deflate, br) whatever Accept-Encoding
//                         says, with Content-Encoding and Content-Length.
//   /cookies              {"cookies":{NAME:VALUE,...}} from the Cookie field.
//   /cookies/set?N=V&...  302 to /cookies with one "Set-Cookie: N=V; Path=/" per pair.
//   /cookies/delete?N&... 302 to /cookies with "Set-Cookie: N=; Expires=Thu, 01 Jan
//                         1970 00:00:00 GMT; Max-Age=0; Path=/" per name.
//   /delay/S              /anything's JSON (without "method") after S seconds (at most 10).
//   /drip?duration=D&numbytes=B&delay=W&code=C
//                         after W s (default 0), status C (200) with Content-Length B
//                         (10) and the head sent with the first of B '*' bytes, one
//                         every D/B s (D default 2).
//   /stream/N             min(N, 100) lines of /get's JSON with an "id" (0, 1...),
//                         written as `{"url": ..., "id": 0}` (json.dumps spacing);
//                         Transfer-Encoding: chunked.
//   /status/N             status N with an empty body, except: 418 a teapot drawing,
//                         301/302/303/305/307 Location /redirect/1, 304 no body,
//                         401/407 a Basic challenge. N "a,b" picks one at random.
//
// Not thread-safe: use one HttpbinServer from one thread; the server itself
// serves any number of clients at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "support/child_process.h"

namespace nethttp::testing {

class HttpbinServer {
 public:
  HttpbinServer() = default;
  /// stop().
  ~HttpbinServer();
  HttpbinServer(const HttpbinServer&) = delete;
  HttpbinServer& operator=(const HttpbinServer&) = delete;
  HttpbinServer(HttpbinServer&&) = delete;
  HttpbinServer& operator=(HttpbinServer&&) = delete;

  /// Where gunicorn is looked for: $NETHTTP_GUNICORN if set, else
  /// /usr/bin/gunicorn (Debian's, whose Python finds Debian's httpbin).
  [[nodiscard]] static std::string binary_path();

  /// Makes the directory, starts gunicorn and waits (at most 20 s) until GET
  /// /get answers 200. On failure nothing is left running and the message
  /// says why: gunicorn or httpbin not installed (run scripts/test.sh), or
  /// gunicorn's output. Use as ASSERT_TRUE(server.start()).
  [[nodiscard]] ::testing::AssertionResult start();
  /// SIGINT, up to 5 s for gunicorn to exit, then SIGKILL to it and its
  /// worker; reaps it and removes the directory. Safe to call again; the
  /// destructor calls it.
  void stop();

  /// gunicorn is alive: started, not stopped, and not exited on its own (if
  /// it has, this reaps it; the directory stays until stop()).
  [[nodiscard]] bool running();
  /// gunicorn's (the master's) process id while running, else -1.
  [[nodiscard]] pid_t pid() const { return gunicorn_.pid(); }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// "127.0.0.1".
  [[nodiscard]] static std::string host() { return "127.0.0.1"; }
  /// "127.0.0.1:PORT".
  [[nodiscard]] std::string authority() const;
  /// "http://127.0.0.1:PORT" + path (path should start with '/').
  [[nodiscard]] std::string url(std::string_view path = "/") const;
  /// The temp directory ("" when not started or stopped).
  [[nodiscard]] const std::string& dir() const { return dir_; }

  /// gunicorn's stdout and stderr so far, and its access log (one line per
  /// request, written once the response is sent); "" when not there.
  [[nodiscard]] std::string log() const;
  [[nodiscard]] std::string access_log() const;

 private:
  /// start() once the directory is made: the listening socket, gunicorn,
  /// and the wait for its answer. Leaves the directory for start() to remove
  /// when it fails.
  [[nodiscard]] ::testing::AssertionResult start_in_dir(const std::string& binary);
  [[nodiscard]] bool probe(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string diagnostics() const;
  void remove_dir();

  std::string dir_;
  std::uint16_t port_ = 0;
  ChildProcess gunicorn_;         ///< SIGINT (quick shutdown), 5 s, SIGKILL to the group
  std::string last_probe_error_;  ///< why the last readiness probe failed
};

}  // namespace nethttp::testing
