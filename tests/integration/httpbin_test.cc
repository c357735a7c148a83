// The Client against a real server it was not written with: httpbin under
// gunicorn (tests/support/httpbin.h) — redirects, compressed bodies, cookies,
// deadlines on slow heads and slow bodies, chunked streams and statuses.
#include "support/httpbin.h"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "support/leak_check.h"
#include "support/nginx.h"  // RawSocket
#include "support/printers.h"
#include "support/response_body.h"
#include "support/wait.h"

namespace nethttp {
namespace {

using testing::body_of;

using namespace std::chrono_literals;
using testing::HttpbinServer;

/// httpbin's compact JSON member "name":"value".
std::string json_member(std::string_view name, std::string_view value) {
  std::string member = "\"";
  member.append(name).append("\":\"").append(value).append("\"");
  return member;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// One gunicorn for the whole suite (it takes a second or more to start);
/// each test gets its own Transport, checked for leaks in TearDown().
class Httpbin : public testing::LeakCheckedTest {
 protected:
  static void SetUpTestSuite() {
    shared_server = std::make_unique<HttpbinServer>();
    start_result = shared_server->start();
  }
  static void TearDownTestSuite() { shared_server.reset(); }

  void SetUp() override {
    LeakCheckedTest::SetUp();
    make_transport();
    ASSERT_TRUE(*start_result);  // never skipped: without httpbin every test fails, saying why
    ASSERT_TRUE(shared_server->running()) << "gunicorn is gone:\n" << shared_server->log();
  }

  static std::string url(std::string_view path) { return shared_server->url(path); }

  /// A client over the test's transport, with a deadline (unless given
  /// another) so that a hang fails the test instead of blocking it.
  Client client(ClientOptions options = {}) {
    if (options.timeout == 0ms) options.timeout = testing::kSafetyDeadline;
    return Client(testing::borrow(transport()), std::move(options));
  }

  /// GET `path`, which redirects `n` times on its way to /get, and checks
  /// that the client followed every redirect and where it ended.
  void expect_chain_to_get(const std::string& path, int n) {
    Client c = client();
    Result<Response> r = c.get(url(path));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->redirects, n);
    EXPECT_EQ(r->request->url.str(), url("/get"));
    EXPECT_TRUE(r->conn.reused) << "each redirect's body was drained: one connection carries the chain";
    const std::string body = body_of(r);
    EXPECT_TRUE(contains(body, json_member("url", url("/get")))) << body;
  }

  /// POST "payload" to /redirect-to answering `status` with Location `target`;
  /// the body of the final response (httpbin's /anything echo).
  std::string post_through_redirect(int status, const std::string& target) {
    Client c = client();
    Result<Response> r = c.post(url("/redirect-to?url=" + target + "&status_code=" + std::to_string(status)),
                                "text/plain", RequestBody::from_string("payload"));
    if (!r) {
      ADD_FAILURE() << r.error().message();
      return {};
    }
    EXPECT_EQ(r->redirects, 1);
    EXPECT_EQ(r->request->url.str(), url("/anything"));
    return body_of(r);
  }

 private:
  static inline std::unique_ptr<HttpbinServer> shared_server;
  static inline std::optional<::testing::AssertionResult> start_result;
};

// --- Redirects ---------------------------------------------------------------

TEST_F(Httpbin, FollowsRedirectNToGet) {
  expect_chain_to_get("/redirect/5", 5);
}

TEST_F(Httpbin, FollowsRelativeRedirectNToGet) {
  expect_chain_to_get("/relative-redirect/4", 4);
}

TEST_F(Httpbin, FollowsAbsoluteRedirectNToGet) {
  expect_chain_to_get("/absolute-redirect/3", 3);
}

TEST_F(Httpbin, MaxRedirectsCountsRequestsSoNRedirectsNeedNPlusOne) {
  ClientOptions options;
  options.max_redirects = 5;
  Client c = client(options);
  Result<Response> four = c.get(url("/redirect/4"));
  ASSERT_TRUE(four.ok()) << four.error().message();
  EXPECT_EQ(four->redirects, 4);

  for (const char* kind : {"/relative-redirect/5", "/absolute-redirect/5"}) {
    SCOPED_TRACE(kind);
    Result<Response> five = c.get(url(kind));
    ASSERT_FALSE(five.ok()) << "status " << five->status << " after " << five->redirects << " redirects";
    EXPECT_EQ(five.error().kind(), ErrorKind::too_many_redirects);
    EXPECT_TRUE(contains(five.error().message(), "after 5 requests")) << five.error().message();
  }
}

TEST_F(Httpbin, KeepsMethodAndBodyOn307And308) {
  for (const int status : {307, 308}) {
    SCOPED_TRACE(status);
    const std::string body = post_through_redirect(status, "/anything");
    EXPECT_TRUE(contains(body, json_member("method", "POST"))) << body;
    EXPECT_TRUE(contains(body, json_member("data", "payload"))) << body;
    EXPECT_TRUE(contains(body, json_member("Content-Type", "text/plain"))) << body;
  }
}

TEST_F(Httpbin, TurnsAPostIntoAGetWithoutBodyOn301To303) {
  for (const int status : {301, 302, 303}) {
    SCOPED_TRACE(status);
    // An absolute Location this time: resolved the same way.
    const std::string body = post_through_redirect(status, url("/anything"));
    EXPECT_TRUE(contains(body, json_member("method", "GET"))) << body;
    EXPECT_TRUE(contains(body, json_member("data", ""))) << body;
    EXPECT_FALSE(contains(body, "\"Content-Type\"")) << "a field about the dropped body went along: " << body;
    EXPECT_FALSE(contains(body, "\"Content-Length\"")) << body;
  }
}

// --- Compressed bodies -------------------------------------------------------

struct Coding {
  const char* path;
  const char* flag;  ///< the JSON member that says the body was compressed
  const char* content_coding;
};
constexpr Coding kCodings[] = {
    {"/gzip", "\"gzipped\":true", "gzip"},
    {"/deflate", "\"deflated\":true", "deflate"},
    {"/brotli", "\"brotli\":true", "br"},
};

TEST_F(Httpbin, DecodesGzipDeflateAndBrotliTransparently) {
  Client c = client();
  for (const Coding& coding : kCodings) {
    SCOPED_TRACE(coding.path);
    Result<Response> r = c.get(url(coding.path));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->uncompressed);
    EXPECT_FALSE(r->header.has("Content-Encoding"));
    EXPECT_FALSE(r->header.has("Content-Length")) << "the length of the compressed bytes";
    EXPECT_EQ(r->content_length, -1);
    const std::string body = body_of(r);
    EXPECT_TRUE(contains(body, coding.flag)) << body;
    EXPECT_TRUE(contains(body, json_member("Accept-Encoding", "gzip, br, zstd"))) << body;
  }
}

TEST_F(Httpbin, LeavesTheBodyCompressedWhenTheCallerAskedForAnEncoding) {
  Client c = client();
  for (const Coding& coding : kCodings) {
    SCOPED_TRACE(coding.path);
    Result<Request> request = make_request("GET", url(coding.path));
    ASSERT_TRUE(request.ok());
    request->header.add("Accept-Encoding", coding.content_coding);
    Result<Response> r = c.send(*std::move(request));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_FALSE(r->uncompressed);
    EXPECT_EQ(r->header.get("Content-Encoding"), coding.content_coding);
    const std::string body = body_of(r);
    EXPECT_EQ(r->content_length, static_cast<std::int64_t>(body.size()));
    EXPECT_FALSE(contains(body, coding.flag)) << "decoded although the caller asked for the coding";
    if (std::string_view(coding.content_coding) == "gzip") {
      EXPECT_TRUE(body.starts_with("\x1f\x8b")) << "not gzip's magic bytes";
    }
  }
}

// --- Cookies -----------------------------------------------------------------

TEST_F(Httpbin, JarKeepsACookieSetOnARedirectAndSendsItToTheTarget) {
  ClientOptions options;
  options.jar = std::make_shared<CookieJar>();
  Client c = client(options);
  Result<Response> set = c.get(url("/cookies/set?a=1"));
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_EQ(set->redirects, 1);
  EXPECT_EQ(set->request->url.str(), url("/cookies"));
  EXPECT_EQ(body_of(set), "{\"cookies\":{\"a\":\"1\"}}\n");
  EXPECT_EQ(options.jar->size(), 1u);

  Result<Response> later = c.get(url("/cookies"));
  EXPECT_EQ(body_of(later), "{\"cookies\":{\"a\":\"1\"}}\n") << "the jar keeps it for later requests";
}

TEST_F(Httpbin, JarDropsACookieTheServerDeletes) {
  ClientOptions options;
  options.jar = std::make_shared<CookieJar>();
  Client c = client(options);
  Result<Response> set = c.get(url("/cookies/set?a=1&b=2"));
  EXPECT_EQ(body_of(set), "{\"cookies\":{\"a\":\"1\",\"b\":\"2\"}}\n");
  Result<Response> deleted = c.get(url("/cookies/delete?a"));
  EXPECT_EQ(body_of(deleted), "{\"cookies\":{\"b\":\"2\"}}\n") << "Max-Age=0 removes it before the redirect";
  EXPECT_EQ(options.jar->size(), 1u);
}

TEST_F(Httpbin, SendsNoCookiesWithoutAJar) {
  Client c = client();
  Result<Response> r = c.get(url("/cookies/set?a=1"));
  EXPECT_EQ(body_of(r), "{\"cookies\":{}}\n");
}

// --- Deadlines ---------------------------------------------------------------

TEST_F(Httpbin, TimeoutEndsAWaitForASlowHeadLongBeforeTheServerAnswers) {
  ClientOptions options;
  options.timeout = 300ms;
  Client c = client(options);
  const auto start = std::chrono::steady_clock::now();
  Result<Response> r = c.get(url("/delay/10"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok()) << "status " << r->status;
  EXPECT_EQ(r.error().kind(), ErrorKind::timeout) << r.error().message();
  EXPECT_LT(elapsed, 5s) << "the client waited for the server instead of its own deadline";
}

TEST_F(Httpbin, TimeoutFailsTheReadOfABodyThatDripsTooSlowly) {
  ClientOptions options;
  options.timeout = 2s;
  Client c = client(options);
  // The head comes with the first byte at once, the second byte after 5 s.
  Result<Response> r = c.get(url("/drip?duration=10&numbytes=2"));
  ASSERT_TRUE(r.ok()) << "the head came before the deadline: " << r.error().message();
  EXPECT_EQ(r->content_length, 2);
  Result<std::string> body = r->body.read_all();
  ASSERT_FALSE(body.ok()) << "read " << body->size() << " bytes";
  EXPECT_EQ(body.error().kind(), ErrorKind::timeout) << body.error().message();
}

TEST_F(Httpbin, ReadsADripWhoseDurationIsWithinTheTimeout) {
  ClientOptions options;
  options.timeout = 10s;
  Client c = client(options);
  Result<Response> r = c.get(url("/drip?duration=0.5&numbytes=5"));
  EXPECT_EQ(body_of(r), "*****");
}

// --- Streams and statuses ----------------------------------------------------

TEST_F(Httpbin, ReadsAChunkedStreamOfJsonLinesToItsEnd) {
  constexpr int kLines = 20;
  Client c = client();
  Result<Response> r = c.get(url("/stream/" + std::to_string(kLines)));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->header.get("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r->content_length, -1);
  const std::string body = body_of(r);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < body.size();) {
    const std::size_t end = body.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "a line without its end: " << body.substr(start);
    lines.push_back(body.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kLines));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_TRUE(lines[i].ends_with("\"id\": " + std::to_string(i) + "}")) << lines[i];
  }
}

TEST_F(Httpbin, ReportsErrorStatusesAsResponsesNotErrors) {
  Client c = client();
  for (const int status : {200, 404, 500, 418}) {
    SCOPED_TRACE(status);
    Result<Response> r = c.get(url("/status/" + std::to_string(status)));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->status, status);
    const std::string body = body_of(r);
    if (status == 418) {
      EXPECT_TRUE(contains(body, "teapot")) << body;
    }
  }
}

// --- The harness -------------------------------------------------------------

TEST(HttpbinServer, StopEndsGunicornAndItsWorkerAndRemovesItsDirectory) {
  HttpbinServer server;
  ASSERT_TRUE(server.start());
  const pid_t pid = server.pid();
  const std::filesystem::path dir = server.dir();
  const std::uint16_t port = server.port();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "gunicorn.pid"));
  EXPECT_TRUE(contains(server.log(), "Booting worker")) << server.log();

  server.stop();
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.pid(), -1);
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(testing::wait_for([&] { return ::kill(-pid, 0) == -1 && errno == ESRCH; }))
      << "a process of gunicorn's group (" << pid << ") is left";
  EXPECT_FALSE(testing::RawSocket::connect_tcp(port).ok()) << "something still listens on " << port;
  server.stop();  // again: nothing to do
}

}  // namespace
}  // namespace nethttp
