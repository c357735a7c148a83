// The nginx harness itself (tests/support/nginx.h): it starts a real nginx
// in a temp prefix, serves what its header documents, counts connections
// through stub_status, honours its options and leaves nothing behind.
#include "support/nginx.h"

#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "support/scoped_env.h"

namespace nethttp::testing {
namespace {

using namespace std::chrono_literals;

/// Sends `request` on `socket` and reads one response; a test failure when that fails.
std::optional<RawResponse> round_trip(RawSocket& socket, const std::string& request, bool head = false) {
  if (!socket.send_all(request)) {
    ADD_FAILURE() << socket.error();
    return std::nullopt;
  }
  std::optional<RawResponse> response = socket.read_response(head);
  if (!response) ADD_FAILURE() << socket.error();
  return response;
}

/// GET `path` on a new TCP connection.
std::optional<RawResponse> get(const NginxServer& server, const std::string& path,
                               const std::string& fields = {}) {
  RawSocket socket = RawSocket::connect_tcp(server.port());
  if (!socket.ok()) {
    ADD_FAILURE() << socket.error();
    return std::nullopt;
  }
  return round_trip(socket, get_request(path, fields));
}

TEST(NginxServer, StartsAndServesSmallWithARawSocketGet) {
  NginxServer server;
  ASSERT_TRUE(server.start());
  ASSERT_TRUE(server.running());
  EXPECT_GT(server.pid(), 0);
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.url("/small"), "http://127.0.0.1:" + std::to_string(server.port()) + "/small");

  const std::optional<RawResponse> response = get(server, "/small");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response->field("content-length"), "13");
  EXPECT_EQ(response->field("Content-Type"), "text/plain");
  EXPECT_EQ(response->field("Connection"), "keep-alive");
  EXPECT_EQ(response->body, kSmallBody);
  EXPECT_EQ(server.handled_requests(), 1u);  // also: nginx has logged /small by now
  EXPECT_NE(server.access_log().find("\"GET /small HTTP/1.1\" 200 13"), std::string::npos)
      << server.access_log();
}

TEST(NginxServer, StubStatusCountsAcceptsOfTwoRawConnections) {
  NginxServer server;
  ASSERT_TRUE(server.start());
  const std::optional<std::uint64_t> before = server.accepted_connections();
  ASSERT_TRUE(before);
  EXPECT_EQ(*before, 0u) << "the harness's own connections are not counted";
  EXPECT_EQ(server.handled_requests(), 0u);

  RawSocket with_request = RawSocket::connect_tcp(server.port());
  ASSERT_TRUE(with_request.ok()) << with_request.error();
  ASSERT_TRUE(round_trip(with_request, get_request("/small")));
  RawSocket idle = RawSocket::connect_tcp(server.port());  // connects, sends nothing
  ASSERT_TRUE(idle.ok()) << idle.error();

  EXPECT_EQ(server.accepted_connections(), *before + 2);
  EXPECT_EQ(server.handled_requests(), 1u);
  const std::optional<StubStatus> status = server.stub_status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->accepts, server.own_connections() + 2);
  EXPECT_EQ(status->handled, status->accepts);
  EXPECT_EQ(status->active, 3u) << "the two connections and the query's own";
}

TEST(NginxServer, KeepaliveRequestsThreeClosesAfterTheThirdRequestOnAConnection) {
  NginxOptions options;
  options.keepalive_requests = 3;
  NginxServer server(options);
  ASSERT_TRUE(server.start());

  RawSocket socket = RawSocket::connect_tcp(server.port());
  ASSERT_TRUE(socket.ok()) << socket.error();
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    const std::optional<RawResponse> response = round_trip(socket, get_request("/request"));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_NE(response->body.find("connection-requests: " + std::to_string(i) + "\n"), std::string::npos)
        << response->body;
    EXPECT_EQ(response->field("Connection"), i < 3 ? "keep-alive" : "close");
  }
  EXPECT_TRUE(socket.wait_for_close()) << socket.error();
  EXPECT_EQ(server.accepted_connections(), 1u);
  EXPECT_EQ(server.handled_requests(), 3u);
}

TEST(NginxServer, KeepaliveRequestsThreeAnswersThreeOfFourPipelinedRequestsThenCloses) {
  NginxOptions options;
  options.keepalive_requests = 3;
  NginxServer server(options);
  ASSERT_TRUE(server.start());

  RawSocket socket = RawSocket::connect_tcp(server.port());
  ASSERT_TRUE(socket.ok()) << socket.error();
  std::string four;
  for (int i = 0; i < 4; ++i) four += get_request("/small");
  ASSERT_TRUE(socket.send_all(four)) << socket.error();
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE("response " + std::to_string(i));
    const std::optional<RawResponse> response = socket.read_response();
    ASSERT_TRUE(response) << socket.error();
    EXPECT_EQ(response->body, kSmallBody);
    EXPECT_EQ(response->field("Connection"), i < 3 ? "keep-alive" : "close");
  }
  EXPECT_TRUE(socket.wait_for_close()) << socket.error();
}

TEST(NginxServer, KeepaliveTimeoutTakesFractionsOfASecond) {
  NginxOptions options;
  options.keepalive_timeout = 300ms;
  NginxServer server(options);
  ASSERT_TRUE(server.start());

  RawSocket socket = RawSocket::connect_tcp(server.port());
  ASSERT_TRUE(socket.ok()) << socket.error();
  ASSERT_TRUE(round_trip(socket, get_request("/small")));
  const auto idle_since = std::chrono::steady_clock::now();
  EXPECT_TRUE(socket.wait_for_close(5s)) << socket.error();
  const auto idle = std::chrono::steady_clock::now() - idle_since;
  EXPECT_GE(idle, 250ms);
  EXPECT_LT(idle, 3s);
}

TEST(NginxServer, StopRemovesThePrefixAndTheProcessIsGone) {
  NginxServer server;
  ASSERT_TRUE(server.start());
  const std::filesystem::path prefix = server.prefix();
  const pid_t pid = server.pid();
  const std::uint16_t port = server.port();
  ASSERT_TRUE(std::filesystem::exists(prefix / "nginx.conf"));
  ASSERT_EQ(::kill(pid, 0), 0);

  server.stop();
  EXPECT_FALSE(std::filesystem::exists(prefix));
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1) << "nginx (pid " << pid << ") still exists";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.pid(), -1);
  EXPECT_EQ(server.prefix(), "");
  EXPECT_FALSE(RawSocket::connect_tcp(port).ok()) << "something still listens on " << port;
  server.stop();  // again: nothing to do
}

TEST(NginxServer, DestructorStopsNginxWithAnOpenConnection) {
  std::filesystem::path prefix;
  pid_t pid = -1;
  RawSocket socket;
  {
    NginxServer server;
    ASSERT_TRUE(server.start());
    prefix = server.prefix();
    pid = server.pid();
    socket = RawSocket::connect_tcp(server.port());
    ASSERT_TRUE(socket.ok()) << socket.error();
    ASSERT_TRUE(round_trip(socket, get_request("/small")));
  }
  EXPECT_FALSE(std::filesystem::exists(prefix));
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_TRUE(socket.wait_for_close()) << socket.error();
}

TEST(NginxServer, UnixSocketListenerServesSmall) {
  NginxServer server;
  ASSERT_TRUE(server.start());
  ASSERT_EQ(server.unix_socket_path(), server.prefix() + "/nginx.sock");

  RawSocket socket = RawSocket::connect_unix(server.unix_socket_path());
  ASSERT_TRUE(socket.ok()) << socket.error();
  const std::optional<RawResponse> response = round_trip(socket, get_request("/small"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, kSmallBody);
  socket.close();
  EXPECT_EQ(server.handled_requests(), 1u);
}

TEST(NginxServer, UnixSocketIsOptional) {
  NginxOptions options;
  options.unix_socket = false;
  NginxServer server(options);
  ASSERT_TRUE(server.start());
  EXPECT_EQ(server.unix_socket_path(), "");
  EXPECT_FALSE(std::filesystem::exists(server.prefix() + "/nginx.sock"));
}

TEST(NginxServer, ServesPatternFilesWithALengthChunkedAndGzipped) {
  NginxServer server;
  ASSERT_TRUE(server.start());
  for (const std::size_t size : server.options().file_sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::optional<RawResponse> plain = get(server, "/bytes/" + std::to_string(size));
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 200);
    EXPECT_FALSE(plain->chunked);
    EXPECT_EQ(plain->field("Content-Length"), std::to_string(size));
    EXPECT_EQ(plain->body, pattern_bytes(size));

    const std::optional<RawResponse> chunked = get(server, "/chunked/" + std::to_string(size));
    ASSERT_TRUE(chunked);
    EXPECT_EQ(chunked->status, 200);
    EXPECT_EQ(chunked->chunked, size != 0) << "nginx's SSI filter leaves an empty file alone";
    EXPECT_EQ(chunked->field("Content-Length"), size != 0 ? std::nullopt : std::optional<std::string>("0"));
    EXPECT_EQ(chunked->body, pattern_bytes(size));
  }
  const std::optional<RawResponse> gzipped = get(server, "/gzip/65536", "Accept-Encoding: gzip\r\n");
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(gzipped->field("Content-Encoding"), "gzip");
  EXPECT_TRUE(gzipped->chunked);
  EXPECT_LT(gzipped->body.size(), 65536u);
  EXPECT_EQ(gzipped->body.substr(0, 2), "\x1f\x8b");
  const std::optional<RawResponse> identity = get(server, "/gzip/1024");
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->body, pattern_bytes(1024));
}

TEST(NginxServer, PatternBytesAreLinesOfShiftedAlphanumerics) {
  const std::string bytes = pattern_bytes(130);
  ASSERT_EQ(bytes.size(), 130u);
  EXPECT_EQ(bytes.substr(0, 3), "ABC");
  EXPECT_EQ(bytes[63], '\n');
  EXPECT_EQ(bytes.substr(64, 3), "BCD");
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(pattern_bytes(0), "");
}

TEST(NginxServer, ServesStatusesRedirectsRequestEchoAndClose) {
  NginxServer server;
  ASSERT_TRUE(server.start());
  for (const int status : kReturnStatuses) {
    SCOPED_TRACE(status);
    const std::optional<RawResponse> response = get(server, "/status/" + std::to_string(status));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, status);
  }
  const std::optional<RawResponse> no_content = get(server, "/status/204");
  ASSERT_TRUE(no_content);
  EXPECT_EQ(no_content->raw.substr(no_content->raw.size() - 4), "\r\n\r\n");

  const std::optional<RawResponse> redirect = get(server, "/redirect");
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 302);
  EXPECT_EQ(redirect->field("Location"), server.url("/small"));
  for (const int status : {301, 302, 303, 307, 308}) {
    const std::optional<RawResponse> response = get(server, "/redirect/" + std::to_string(status));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(response->field("Location"), server.url("/small"));
  }

  RawSocket socket = RawSocket::connect_tcp(server.port());
  ASSERT_TRUE(socket.ok()) << socket.error();
  const std::optional<RawResponse> posted =
      round_trip(socket,
                 "POST /request?x=1 HTTP/1.1\r\nHost: example.test\r\nContent-Type: text/plain\r\n"
                 "Content-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->field("Content-Type"), "text/plain");
  EXPECT_EQ(posted->body,
            "method: POST\nuri: /request?x=1\nprotocol: HTTP/1.1\nhost: example.test\ncontent-length: 5\n"
            "transfer-encoding: \ncontent-type: text/plain\nconnection-header: \nconnection: " +
                line_value(posted->body, "connection") + "\nconnection-requests: 1\n");
  // The body was discarded, not taken for the next request on the connection.
  const std::optional<RawResponse> again =
      round_trip(socket, get_request("/request", "Connection: keep-alive\r\n"));
  ASSERT_TRUE(again);
  EXPECT_EQ(line_value(again->body, "method"), "GET");
  EXPECT_EQ(line_value(again->body, "connection-header"), "keep-alive");
  EXPECT_EQ(line_value(again->body, "connection"), line_value(posted->body, "connection"));
  EXPECT_EQ(line_value(again->body, "connection-requests"), "2");

  RawSocket closed = RawSocket::connect_tcp(server.port());
  ASSERT_TRUE(closed.ok()) << closed.error();
  ASSERT_TRUE(closed.send_all(get_request("/close")));
  EXPECT_TRUE(closed.wait_for_close()) << closed.error();
}

TEST(NginxServer, ServesExtraFilesAndLocations) {
  NginxOptions options;
  options.files = {{"dir/page.html", "<p>hi</p>\n"}};
  options.extra_locations = "location = /teapot {\n  return 418;\n}";
  NginxServer server(options);
  ASSERT_TRUE(server.start());
  const std::optional<RawResponse> page = get(server, "/dir/page.html");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->field("Content-Type"), "text/html");
  EXPECT_EQ(page->body, "<p>hi</p>\n");
  const std::optional<RawResponse> teapot = get(server, "/teapot");
  ASSERT_TRUE(teapot);
  EXPECT_EQ(teapot->status, 418);
}

TEST(NginxServer, StartFailsWithTheErrorLogAndLeavesNothingWhenTheConfigIsBad) {
  NginxOptions options;
  options.extra_locations = "no_such_directive on;";
  NginxServer server(options);
  const ::testing::AssertionResult started = server.start();
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("unknown directive \"no_such_directive\""), std::string::npos)
      << started.message();
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.prefix(), "");
}

TEST(NginxServer, StartFailsSayingToRunTestShWhenNginxIsMissing) {
  NginxServer server;
  const ::testing::AssertionResult started =
      with_env("NETHTTP_NGINX", "/nonexistent/nginx", [&] { return server.start(); });
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("scripts/test.sh"), std::string::npos) << started.message();
  EXPECT_EQ(server.prefix(), "");
}

}  // namespace
}  // namespace nethttp::testing
