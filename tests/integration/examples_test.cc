// Black-box tests of the example programs (examples/): each built binary is
// run as a child process against an in-process TestServer, and its exit
// status, stdout and stderr are checked against what its header comment
// promises a newcomer.
//
// The binaries' paths come from tests/CMakeLists.txt (NETHTTP_EXAMPLE_*_PATH);
// with NETHTTP_BUILD_EXAMPLES off there are none and this file is empty.
#if defined(NETHTTP_EXAMPLE_SIMPLE_GET_PATH)

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cli_output.h"
#include "support/child_process.h"  // file_contents
#include "support/cli_runner.h"
#include "support/dead_ports.h"
#include "support/test_server.h"

namespace nethttp::testing {
namespace {

// ---------------------------------------------------------------------------
// Running an example

/// Runs an example with `args` (support/cli_runner.h: stdout and stderr
/// collected, killed after kCliRunLimit).
CliRun run_example(const std::string& program, const std::vector<std::string>& args) {
  return run_program(program, args);
}

/// For failure messages: everything the run printed.
std::string describe(const CliRun& run) {
  return "exit code " + std::to_string(run.exit_code) + "\n--- stdout:\n" + run.out + "--- stderr:\n" +
         run.err;
}

/// The number after "name=" in `line`, or nullopt.
std::optional<std::uint64_t> field(const std::string& line, const std::string& name) {
  const std::regex re("(^| )" + name + "=([0-9]+)");
  std::smatch m;
  if (!std::regex_search(line, m, re)) return std::nullopt;
  return std::stoull(m[2].str());
}

// ---------------------------------------------------------------------------
// The server the examples talk to

constexpr std::string_view kHello = "hello, world\n";
constexpr std::string_view kSessionCookie = "session=s3cr3t";
/// A few MiB, not a multiple of any buffer size.
constexpr std::size_t kBigSize = (std::size_t{3} << 20) + 12345;

std::string big_body() {
  std::string body(kBigSize, '\0');
  std::uint32_t x = 12345;
  for (char& c : body) {
    x = x * 1103515245 + 12345;  // any fixed pattern, so a shifted or dropped chunk shows
    c = static_cast<char>(x >> 24);
  }
  return body;
}

/// The lines upload.cc streams: "line 0\n" ... "line 999\n".
std::string generated_lines() {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "line " + std::to_string(i) + "\n";
  return text;
}

/// The path of a request-target, without the query.
std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

/// A TestServer with the routes the examples are pointed at:
///   /hello    "hello, world\n"
///   /close    "bye\n" with Connection: close
///   /big      kBigSize bytes of big_body()
///   /missing  404
///   /login    Set-Cookie: session=s3cr3t, then 303 to /welcome
///   /welcome, /whoami  "you are " + the Cookie field received ("nobody" without)
///   /upload   "received N bytes, chunked=yes|no" about the request body
class ExampleServer {
 public:
  ExampleServer()
      : big_(big_body()),
        server_([this](const ServerRequest& req, ServerResponse& resp) { handle(req, resp); }) {}

  [[nodiscard]] std::string url(std::string_view path) const { return server_.url() + std::string(path); }
  [[nodiscard]] const std::string& big() const { return big_; }
  [[nodiscard]] TestServer& server() { return server_; }

  /// The recorded requests whose path is `path`.
  [[nodiscard]] std::vector<ServerRequest> requests_to(const std::string& path) const {
    std::vector<ServerRequest> out;
    for (ServerRequest& r : server_.requests()) {
      if (path_of(r.target) == path) out.push_back(std::move(r));
    }
    return out;
  }

 private:
  void handle(const ServerRequest& req, ServerResponse& resp) const {
    const std::string path = path_of(req.target);
    if (path == "/hello") {
      resp.set_body(std::string(kHello));
    } else if (path == "/close") {
      resp.close_connection();
      resp.set_body("bye\n");
    } else if (path == "/big") {
      resp.add_header("Content-Type", "application/octet-stream");
      resp.set_body(big_);
    } else if (path == "/login") {
      resp.set_status(303);
      resp.add_header("Set-Cookie", std::string(kSessionCookie) + "; Path=/; HttpOnly");
      resp.add_header("Location", "/welcome");
    } else if (path == "/welcome" || path == "/whoami") {
      resp.set_body("you are " + req.header("Cookie").value_or("nobody"));
    } else if (path == "/upload") {
      resp.set_body("received " + std::to_string(req.body.size()) +
                    " bytes, chunked=" + (req.chunked ? "yes" : "no"));
    } else {
      resp.set_status(404);
      resp.set_body("not found\n");
    }
  }

  std::string big_;
  TestServer server_;  ///< last: its threads call handle()
};

/// A fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "nethttp-examples-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// ---------------------------------------------------------------------------
// simple_get

TEST(Examples, SimpleGetPrintsStatusAndBody) {
  ExampleServer server;
  const CliRun run = run_example(NETHTTP_EXAMPLE_SIMPLE_GET_PATH, {server.url("/hello")});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.out, "200 OK\n" + std::string(kHello));
  EXPECT_EQ(run.err, "");
}

TEST(Examples, SimpleGetPrintsAnErrorStatusAsAResponse) {
  ExampleServer server;
  const CliRun run = run_example(NETHTTP_EXAMPLE_SIMPLE_GET_PATH, {server.url("/missing")});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.out, "404 Not Found\nnot found\n");
}

TEST(Examples, SimpleGetFailsWithTheErrorOnStderr) {
  const RefusingPort port;
  const CliRun run = run_example(NETHTTP_EXAMPLE_SIMPLE_GET_PATH, {port.url("/hello")});
  EXPECT_EQ(run.exit_code, 1) << describe(run);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err.rfind("error (connect): ", 0), 0U) << run.err;

  const CliRun bad = run_example(NETHTTP_EXAMPLE_SIMPLE_GET_PATH, {"ftp://example.com/"});
  EXPECT_EQ(bad.exit_code, 1) << describe(bad);
  EXPECT_EQ(bad.err.rfind("error (bad_url): ", 0), 0U) << bad.err;

  const CliRun usage = run_example(NETHTTP_EXAMPLE_SIMPLE_GET_PATH, {});
  EXPECT_EQ(usage.exit_code, 2) << describe(usage);
  EXPECT_NE(usage.err.find("usage: "), std::string::npos) << usage.err;
}

// ---------------------------------------------------------------------------
// concurrent_fetch

/// Runs concurrent_fetch with `options` over `urls` URLs of `server` and
/// checks that it printed one successful line per URL, in the order given.
/// Its lines (the last: the counters), or none after a failure.
std::vector<std::string> run_concurrent_fetch(ExampleServer& server, std::vector<std::string> options,
                                              int urls) {
  std::vector<std::string> args = std::move(options);
  const std::size_t first_url = args.size();
  for (int i = 0; i < urls; ++i) args.push_back(server.url("/hello?n=" + std::to_string(i)));
  const CliRun run = run_example(NETHTTP_EXAMPLE_CONCURRENT_FETCH_PATH, args);
  EXPECT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.err, "");
  std::vector<std::string> lines = lines_of(run.out);
  if (lines.size() != static_cast<std::size_t>(urls) + 1) {
    ADD_FAILURE() << "expected " << urls + 1 << " lines:\n" << run.out;
    return {};
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(urls); ++i) {
    EXPECT_EQ(lines[i].rfind(args[first_url + i] + " status=200 bytes=13 conn=", 0), 0U) << lines[i];
  }
  return lines;
}

TEST(Examples, ConcurrentFetchSharesConnectionsBetweenThreads) {
  ExampleServer server;
  constexpr int kUrls = 24;
  constexpr int kThreads = 4;
  const std::vector<std::string> lines =
      run_concurrent_fetch(server, {"-j", std::to_string(kThreads)}, kUrls);
  ASSERT_EQ(lines.size(), kUrls + 1U);
  int reused = 0;
  for (int i = 0; i < kUrls; ++i) {
    const std::string& line = lines[static_cast<std::size_t>(i)];
    if (line.ends_with(" reused=yes")) {
      ++reused;
    } else {
      EXPECT_TRUE(line.ends_with(" reused=no")) << line;
    }
  }

  const std::string& stats = lines.back();
  const auto requests = field(stats, "requests");
  const auto dials = field(stats, "dials");
  const auto reuses = field(stats, "reuses");
  ASSERT_TRUE(requests && dials && reuses) << stats;
  EXPECT_EQ(*requests, static_cast<std::uint64_t>(kUrls));
  EXPECT_EQ(*reuses, static_cast<std::uint64_t>(reused));
  // Each thread returns its connection before taking the next URL: a few
  // connections serve every request. Not exactly one per request that got
  // a new one: a request waiting for a connection may dial one and take
  // another that was freed first (the dialed one goes to the pool, as in
  // Go), and such a dial may still be running when the program exits.
  EXPECT_GE(*dials, 1U);
  EXPECT_LT(*dials, *requests);
  EXPECT_GT(*reuses, 0U);
  EXPECT_LE(*requests - *reuses, *dials);
  EXPECT_GE(server.server().connections_accepted(), *dials);
}

TEST(Examples, ConcurrentFetchWithFibersSharesConnectionsBetweenThem) {
  ExampleServer server;
  constexpr int kUrls = 24;
  constexpr int kFibers = 4;
  const std::vector<std::string> lines =
      run_concurrent_fetch(server, {"-j", std::to_string(kFibers), "--fibers"}, kUrls);
  ASSERT_EQ(lines.size(), kUrls + 1U);
  const auto dials = field(lines.back(), "dials");
  const auto reuses = field(lines.back(), "reuses");
  ASSERT_TRUE(dials && reuses) << lines.back();
  // Never more connections than fibers; every request without a reused
  // one got a new one (or a dial parked by another fiber).
  EXPECT_GE(*dials, 1U);
  EXPECT_LE(*dials, static_cast<std::uint64_t>(kFibers));
  EXPECT_GT(*reuses, 0U);
  EXPECT_LE(kUrls - *reuses, *dials);
}

TEST(Examples, ConcurrentFetchReportsAFailedUrl) {
  ExampleServer server;
  const RefusingPort port;
  const CliRun run = run_example(NETHTTP_EXAMPLE_CONCURRENT_FETCH_PATH,
                                 {server.url("/hello"), port.url("/x"), server.url("/hello")});
  EXPECT_EQ(run.exit_code, 1) << describe(run);
  const std::vector<std::string> lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 4U) << run.out;
  EXPECT_EQ(lines[1], port.url("/x") + " error");
  EXPECT_NE(run.err.find(port.url("/x") + ": "), std::string::npos) << run.err;
}

// ---------------------------------------------------------------------------
// streaming_download

TEST(Examples, StreamingDownloadSavesTheBodyToAFile) {
  ExampleServer server;
  const TempDir dir;
  const std::string path = dir.file("big.bin");
  const CliRun run = run_example(NETHTTP_EXAMPLE_STREAMING_DOWNLOAD_PATH, {server.url("/big"), path});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.out, "200 OK: " + std::to_string(kBigSize) + " bytes written to " + path + "\n");
  // stderr is a pipe here, not a terminal: no progress bar.
  EXPECT_EQ(run.err, "");
  const std::string saved = file_contents(path);
  EXPECT_EQ(saved.size(), kBigSize);
  EXPECT_TRUE(saved == server.big()) << "the saved file differs from the body sent";
}

TEST(Examples, StreamingDownloadLeavesNoFileOnFailure) {
  ExampleServer server;
  const TempDir dir;
  const std::string path = dir.file("missing.bin");
  const CliRun run = run_example(NETHTTP_EXAMPLE_STREAMING_DOWNLOAD_PATH, {server.url("/missing"), path});
  EXPECT_EQ(run.exit_code, 1) << describe(run);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("404"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(path));
}

// ---------------------------------------------------------------------------
// upload

TEST(Examples, UploadSendsAFileWithItsLengthAndAStreamChunked) {
  ExampleServer server;
  const TempDir dir;
  const std::string path = dir.file("upload.bin");
  const std::string content = server.big().substr(0, 200'000);
  std::ofstream(path, std::ios::binary) << content;
  const std::string lines = generated_lines();

  const CliRun run = run_example(NETHTTP_EXAMPLE_UPLOAD_PATH, {server.url("/upload"), path});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(run.out,
            "file: 200 OK: received 200000 bytes, chunked=no\n"
            "stream: 200 OK: received " +
                std::to_string(lines.size()) + " bytes, chunked=yes\n");

  // What the server saw: both bodies complete, the file with its length.
  const std::vector<ServerRequest> uploads = server.requests_to("/upload");
  ASSERT_EQ(uploads.size(), 2U);
  EXPECT_EQ(uploads[0].method, "POST");
  EXPECT_TRUE(uploads[0].body_complete);
  EXPECT_FALSE(uploads[0].chunked);
  EXPECT_EQ(uploads[0].header("Content-Length"), std::optional<std::string>("200000"));
  EXPECT_EQ(uploads[0].header("Content-Type"), std::optional<std::string>("application/octet-stream"));
  EXPECT_TRUE(uploads[0].body == content) << "the file arrived altered";
  EXPECT_EQ(uploads[1].method, "POST");
  EXPECT_TRUE(uploads[1].body_complete);
  EXPECT_TRUE(uploads[1].chunked);
  EXPECT_EQ(uploads[1].header("Content-Length"), std::nullopt);
  EXPECT_EQ(uploads[1].body, lines);
}

TEST(Examples, UploadFailsOnAMissingFile) {
  ExampleServer server;
  const TempDir dir;
  const CliRun run = run_example(NETHTTP_EXAMPLE_UPLOAD_PATH, {server.url("/upload"), dir.file("absent")});
  EXPECT_EQ(run.exit_code, 1) << describe(run);
  EXPECT_NE(run.err.find("absent"), std::string::npos) << run.err;
  EXPECT_TRUE(server.requests_to("/upload").empty());
}

// ---------------------------------------------------------------------------
// custom_transport

TEST(Examples, CustomTransportKeepsToItsConnectionLimit) {
  ExampleServer server;
  const CliRun run = run_example(NETHTTP_EXAMPLE_CUSTOM_TRANSPORT_PATH, {server.url("/hello"), "12"});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.err, "");
  const std::vector<std::string> lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 3U) << run.out;
  EXPECT_EQ(lines[0], "12 requests from 4 threads: 12 ok");

  const auto requests = field(lines[1], "requests");
  const auto dials = field(lines[1], "dials");
  const auto reuses = field(lines[1], "reuses");
  const auto in_use = field(lines[1], "in_use");
  const auto idle = field(lines[1], "idle");
  ASSERT_TRUE(requests && dials && reuses && in_use && idle) << lines[1];
  EXPECT_EQ(*requests, 12U);
  // max_conns_per_host = 2: four threads, two connections at most.
  EXPECT_GE(*dials, 1U);
  EXPECT_LE(*dials, 2U);
  EXPECT_LE(12U - *reuses, *dials);  // a dial may end up unused (see ConcurrentFetch above)
  EXPECT_EQ(*in_use, 0U);
  EXPECT_LE(*idle, *dials);
  EXPECT_LE(server.server().connections_accepted(), 2U);

  // Those idle connections closed on demand (a dial that ended up unused
  // may finish just after: at most the two connections in all).
  const auto idle_after = field(lines[2], "idle");
  const auto closed = field(lines[2], "closed_by_user");
  ASSERT_TRUE(lines[2].starts_with("after close_idle_connections: ") && idle_after && closed) << lines[2];
  EXPECT_GE(*closed, *idle);
  EXPECT_LE(*idle_after + *closed, 2U);
  // The User-Agent set in its options.
  const std::vector<ServerRequest> hellos = server.requests_to("/hello");
  ASSERT_FALSE(hellos.empty());
  EXPECT_EQ(hellos[0].header("User-Agent"), std::optional<std::string>("custom-transport-example/1.0"));
}

// ---------------------------------------------------------------------------
// tracing

TEST(Examples, TracingShowsReuseAndWhyConnectionsClose) {
  ExampleServer server;
  const std::string hello = server.url("/hello");
  const std::string close = server.url("/close");
  const CliRun run = run_example(NETHTTP_EXAMPLE_TRACING_PATH, {hello, hello, close, hello});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.err, "");

  // Idle times vary from run to run.
  const std::string out = std::regex_replace(run.out, std::regex("idle for [0-9.]+ ms"), "idle for T ms");
  const std::string address = server.server().host_port();
  EXPECT_EQ(out, "GET " + hello +
                     "\n"
                     "  connected to " +
                     address +
                     "\n"
                     "  got conn 1 (new)\n"
                     "  put conn 1 back into the idle pool\n"
                     "  200 OK, 13 bytes\n"
                     "GET " +
                     hello +
                     "\n"
                     "  got conn 1 (reused, idle for T ms)\n"
                     "  put conn 1 back into the idle pool\n"
                     "  200 OK, 13 bytes\n"
                     "GET " +
                     close +
                     "\n"
                     "  got conn 1 (reused, idle for T ms)\n"
                     "  closed conn 1: not_reusable\n"
                     "  200 OK, 4 bytes\n"
                     "GET " +
                     hello +
                     "\n"
                     "  connected to " +
                     address +
                     "\n"
                     "  got conn 2 (new)\n"
                     "  put conn 2 back into the idle pool\n"
                     "  200 OK, 13 bytes\n"
                     "closing idle connections\n"
                     "  closed conn 2: closed_by_user\n");
  EXPECT_EQ(server.server().connections_accepted(), 2U);
}

// ---------------------------------------------------------------------------
// cookie_session

TEST(Examples, CookieSessionSendsTheLoginCookieLater) {
  ExampleServer server;
  const std::string whoami = server.url("/whoami");
  const CliRun run = run_example(NETHTTP_EXAMPLE_COOKIE_SESSION_PATH, {server.url("/login"), whoami});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(run.out,
            "login: 200 OK after 1 redirect(s)\n"
            "page: 200 OK: you are session=s3cr3t\n"
            "jar: 1 cookie(s) for " +
                whoami +
                "\n"
                "  session=s3cr3t domain=127.0.0.1 path=/ host-only secure=no http-only=yes\n");

  // The server's side: no cookie at login, the cookie on the redirect and
  // on the second request.
  const std::vector<ServerRequest> logins = server.requests_to("/login");
  const std::vector<ServerRequest> welcomes = server.requests_to("/welcome");
  const std::vector<ServerRequest> pages = server.requests_to("/whoami");
  ASSERT_EQ(logins.size(), 1U);
  ASSERT_EQ(welcomes.size(), 1U);
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(logins[0].header("Cookie"), std::nullopt);
  EXPECT_EQ(welcomes[0].header("Cookie"), std::optional<std::string>(kSessionCookie));
  EXPECT_EQ(pages[0].header("Cookie"), std::optional<std::string>(kSessionCookie));
}

TEST(Examples, CookieSessionWithoutACookieSendsNone) {
  ExampleServer server;
  // /hello sets no cookie: the jar stays empty and /whoami gets nothing.
  const CliRun run =
      run_example(NETHTTP_EXAMPLE_COOKIE_SESSION_PATH, {server.url("/hello"), server.url("/whoami")});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  const std::vector<std::string> lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 3U) << run.out;
  EXPECT_EQ(lines[1], "page: 200 OK: you are nobody");
  EXPECT_EQ(lines[2], "jar: 0 cookie(s) for " + server.url("/whoami"));
}

}  // namespace
}  // namespace nethttp::testing

#endif  // NETHTTP_EXAMPLE_SIMPLE_GET_PATH
