// Black-box tests of the `nethttp` command line (shared/design/cli.md): the
// built binary is run as a child process against in-process servers, and
// its exit status, stdout (bodies, --json lines) and stderr are checked.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cli_output.h"
#include "support/cli_runner.h"
#include "support/dead_ports.h"
#include "support/nginx.h"
#include "support/scripted_server.h"
#include "support/socket_io.h"
#include "support/test_server.h"
#include "support/tinyproxy.h"
#include "support/tls_certs.h"

#ifndef NETHTTP_CLI_PATH
#error "NETHTTP_CLI_PATH must name the built nethttp binary"
#endif

namespace nethttp::testing {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Running the CLI

/// Runs the CLI with `args`, feeding `input` on its stdin; collects stdout
/// and stderr until it exits (support/cli_runner.h).
CliRun run_cli(const std::vector<std::string>& args, const std::string& input = {}) {
  return run_program(NETHTTP_CLI_PATH, args, input);
}

/// A temporary file removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& content = {}) {
    std::string pattern = (std::filesystem::temp_directory_path() / "nethttp-cli-test-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp");
    close(fd);
    path_ = pattern;
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string content() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  std::string path_;
};

/// One JSON value per line of `out`; a line that is not JSON fails the test.
std::vector<Json> json_lines(const std::string& out) {
  std::vector<Json> values;
  for (const std::string& line : lines_of(out)) {
    std::optional<Json> value = JsonReader(line).document();
    EXPECT_TRUE(value.has_value()) << "not a JSON line: " << line;
    if (value) values.push_back(std::move(*value));
  }
  return values;
}

std::vector<std::string> strings_of(const Json& array) {
  std::vector<std::string> out;
  for (const Json& v : array.array()) out.push_back(v.str());
  return out;
}

// SHA-256 digests of test bodies (sha256sum).
constexpr std::string_view kSha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kSha256Hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
constexpr std::string_view kSha256Digits = "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882";

/// "0123456789" repeated: a body whose first ten bytes hash to kSha256Digits.
std::string digits(std::size_t n) {
  std::string s(n, '0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('0' + i % 10);
  return s;
}

/// A server answering "hello" to every request.
TestServer hello_server() {
  return TestServer([](const ServerRequest&, ServerResponse& r) { r.set_body("hello"); });
}

// ---------------------------------------------------------------------------
// Help, version and bad usage

TEST(CliHelp, TopLevelHelpListsTheCommandsThatExist) {
  for (const char* flag : {"--help", "-h", "help"}) {
    const CliRun run = run_cli({flag});
    EXPECT_EQ(run.exit_code, 0) << flag;
    EXPECT_NE(run.out.find("fetch"), std::string::npos);
    EXPECT_NE(run.out.find("bench"), std::string::npos);
    EXPECT_NE(run.out.find("demo"), std::string::npos);
  }
}

TEST(CliHelp, FetchHelpDocumentsEveryFlagItAccepts) {
  const CliRun run = run_cli({"fetch", "--help"});
  ASSERT_EQ(run.exit_code, 0);
  for (const char* flag : {"--request",
                           "-X",
                           "--header",
                           "-H",
                           "--data",
                           "-d",
                           "--output",
                           "-o",
                           "--json",
                           "--max-body",
                           "--timeout",
                           "--connect-timeout",
                           "--response-header-timeout",
                           "--idle-timeout",
                           "--max-conns-per-host",
                           "--max-idle-per-host",
                           "--max-idle",
                           "--no-keepalive",
                           "--parallel",
                           "--verbose",
                           "-v",
                           "examples:"}) {
    EXPECT_NE(run.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(run_cli({"help", "fetch"}).out, run.out);
}

TEST(CliHelp, BenchHelpDocumentsItsFlags) {
  const CliRun run = run_cli({"bench", "--help"});
  ASSERT_EQ(run.exit_code, 0);
  for (const char* flag :
       {"-n", "-c", "--json", "--max-conns-per-host", "--no-keepalive", "--timeout", "examples:"}) {
    EXPECT_NE(run.out.find(flag), std::string::npos) << flag;
  }
}

TEST(CliHelp, VersionPrintsTheVersion) {
  const CliRun run = run_cli({"--version"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out.rfind("nethttp ", 0), 0u) << run.out;
}

TEST(CliUsage, BadUsageExitsTwoWithOneLinePointingToHelp) {
  const std::vector<std::vector<std::string>> cases = {
      {},                                                // no command
      {"frobnicate"},                                    // unknown command
      {"fetch"},                                         // no URL
      {"fetch", "--frobnicate", "http://127.0.0.1:1/"},  // unknown flag
      {"fetch", "-Z", "http://127.0.0.1:1/"},            // unknown short flag
      {"fetch", "http://127.0.0.1:1/", "--timeout"},     // missing value
      {"fetch", "--timeout", "soon", "http://127.0.0.1:1/"},
      {"fetch", "--timeout", "-1", "http://127.0.0.1:1/"},
      {"fetch", "--parallel", "0", "http://127.0.0.1:1/"},
      {"fetch", "--max-body", "12abc", "http://127.0.0.1:1/"},
      {"fetch", "--max-conns-per-host", "x", "http://127.0.0.1:1/"},
      {"fetch", "-H", "no colon here", "http://127.0.0.1:1/"},
      {"fetch", "--json=yes", "http://127.0.0.1:1/"},
      {"fetch", "-d", "@/nonexistent/nethttp-cli-test", "http://127.0.0.1:1/"},
      {"bench"},
      {"bench", "-n", "0", "http://127.0.0.1:1/"},
      {"bench", "http://127.0.0.1:1/a", "http://127.0.0.1:1/b"},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const std::string& a : args) joined += a + " ";
    const CliRun run = run_cli(args);
    EXPECT_EQ(run.exit_code, 2) << joined;
    EXPECT_TRUE(run.out.empty()) << joined;
    EXPECT_NE(run.err.find("--help"), std::string::npos) << joined << ": " << run.err;
    if (!args.empty()) {
      EXPECT_EQ(lines_of(run.err).size(), 1u) << joined << ": " << run.err;
    }
  }
}

// ---------------------------------------------------------------------------
// fetch: bodies, JSON lines, exit status

TEST(CliFetch, PrintsTheBodyOnStdoutAndExitsZero) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", server.url() + "/a"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hello");
  EXPECT_EQ(run.err, "");
}

TEST(CliFetch, AnHttpErrorStatusIsStillAResponse) {
  TestServer server([](const ServerRequest&, ServerResponse& r) {
    r.set_status(404);
    r.set_body("missing");
  });
  const CliRun run = run_cli({"fetch", "--json", server.url() + "/nope"});
  EXPECT_EQ(run.exit_code, 0);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 404);
  EXPECT_TRUE(lines[0]["error"].is_null());
}

TEST(CliFetch, JsonLineHasEveryFieldOfTheSchema) {
  TestServer server([](const ServerRequest&, ServerResponse& r) {
    r.add_header("X-Multi", "one");
    r.add_header("Content-Type", "text/plain");
    r.add_header("x-multi", "two");
    r.set_body("hello");
  });
  const std::string url = server.url() + "/path?q=1";
  const CliRun run = run_cli({"fetch", "--json", url});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  const Json& j = lines[0];
  EXPECT_EQ(j.keys(), (std::vector<std::string>{"url", "final_url", "status", "proto", "headers", "trailers",
                                                "body_bytes", "body_sha256", "body_truncated", "redirects",
                                                "conn", "error"}));
  EXPECT_EQ(j["url"].str(), url);
  EXPECT_EQ(j["final_url"].str(), url);
  EXPECT_EQ(j["status"].integer(), 200);
  EXPECT_EQ(j["proto"].str(), "HTTP/1.1");
  EXPECT_EQ(strings_of(j["headers"]["x-multi"]), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(strings_of(j["headers"]["content-type"]), (std::vector<std::string>{"text/plain"}));
  for (const std::string& name : j["headers"].keys()) {
    for (const char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
  }
  EXPECT_TRUE(j["trailers"].object().empty());
  EXPECT_EQ(j["body_bytes"].integer(), 5);
  EXPECT_EQ(j["body_sha256"].str(), kSha256Hello);
  EXPECT_FALSE(j["body_truncated"].boolean());
  EXPECT_EQ(j["redirects"].integer(), 0);
  EXPECT_GE(j["conn"]["id"].integer(), 1);
  EXPECT_FALSE(j["conn"]["reused"].boolean());
  EXPECT_EQ(j["conn"]["idle_ms"].integer(), 0);
  EXPECT_TRUE(j["error"].is_null());
}

/// Serves /hop/N as a 302 to /hop/N-1, and /hop/0 as 200 "arrived".
void hops(const ServerRequest& request, ServerResponse& r) {
  const int n = std::stoi(request.target.substr(5));
  if (n == 0) {
    r.set_body("arrived");
    return;
  }
  r.set_status(302);
  r.add_header("Location", "/hop/" + std::to_string(n - 1));
}

TEST(CliFetch, FollowsRedirectsAndReportsTheirCountAndTheFinalUrl) {
  TestServer server(hops);
  const CliRun run = run_cli({"fetch", "--json", server.url() + "/hop/3"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 200);
  EXPECT_EQ(lines[0]["redirects"].integer(), 3);
  EXPECT_EQ(lines[0]["url"].str(), server.url() + "/hop/3");
  EXPECT_EQ(lines[0]["final_url"].str(), server.url() + "/hop/0");
  EXPECT_TRUE(lines[0]["conn"]["reused"].boolean()) << "the redirect reused the first connection";
}

TEST(CliFetch, NoFollowReturnsTheRedirectResponse) {
  TestServer server(hops);
  const CliRun run = run_cli({"fetch", "--json", "--no-follow", server.url() + "/hop/3"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 302);
  EXPECT_EQ(lines[0]["redirects"].integer(), 0);
  EXPECT_EQ(strings_of(lines[0]["headers"]["location"]), (std::vector<std::string>{"/hop/2"}));
}

TEST(CliFetch, MaxRedirsCountsRequestsInTheChainAsGoDoes) {
  TestServer server(hops);
  // With 10 (the default) nine redirects are followed; the tenth fails.
  const CliRun nine = run_cli({"fetch", "--json", server.url() + "/hop/9"});
  ASSERT_EQ(nine.exit_code, 0) << nine.err;
  EXPECT_EQ(json_lines(nine.out)[0]["redirects"].integer(), 9);
  const CliRun ten = run_cli({"fetch", "--json", server.url() + "/hop/10"});
  EXPECT_EQ(ten.exit_code, 1);
  EXPECT_EQ(json_lines(ten.out)[0]["error"]["kind"].str(), "too_many_redirects");
  EXPECT_EQ(json_lines(ten.out)[0]["status"].integer(), 302) << "a response had arrived: the last redirect";
  const CliRun two = run_cli({"fetch", "--json", "--max-redirs", "2", server.url() + "/hop/2"});
  EXPECT_EQ(two.exit_code, 1);
  EXPECT_EQ(json_lines(two.out)[0]["error"]["kind"].str(), "too_many_redirects");
  const CliRun one_hop = run_cli({"fetch", "--json", "--max-redirs", "2", server.url() + "/hop/1"});
  EXPECT_EQ(one_hop.exit_code, 0) << one_hop.err;
}

TEST(CliFetch, RawNeitherAsksForNorDecodesCompression) {
  TestServer server([](const ServerRequest& request, ServerResponse& r) {
    r.set_body(request.header("Accept-Encoding") ? "asked" : "not asked");
  });
  const CliRun decoded = run_cli({"fetch", server.url() + "/"});
  EXPECT_EQ(decoded.out, "asked");
  const CliRun raw = run_cli({"fetch", "--raw", server.url() + "/"});
  EXPECT_EQ(raw.out, "not asked");
}

TEST(CliFetch, CookieJarKeepsCookiesAcrossUrlsAndInItsFile) {
  TestServer server([](const ServerRequest& request, ServerResponse& r) {
    if (request.target == "/set") r.add_header("Set-Cookie", "token=xyz; Path=/; Max-Age=3600");
    r.set_body(request.header("Cookie").value_or("(none)"));
  });
  const std::string file = ::testing::TempDir() + "/nethttp-cli-cookies.txt";
  std::remove(file.c_str());
  const CliRun memory = run_cli({"fetch", "--cookie-jar", "-", server.url() + "/set", server.url() + "/get"});
  ASSERT_EQ(memory.exit_code, 0) << memory.err;
  EXPECT_EQ(memory.out, "(none)token=xyz");
  const CliRun first = run_cli({"fetch", "--cookie-jar", file, server.url() + "/set"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const CliRun second = run_cli({"fetch", "--cookie-jar", file, server.url() + "/get"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "token=xyz") << "read back from the jar file";
  std::remove(file.c_str());
}

TEST(CliFetch, EmptyBodyHashesToTheEmptyDigest) {
  TestServer server([](const ServerRequest&, ServerResponse& r) { r.set_status(204); });
  const std::vector<Json> lines = json_lines(run_cli({"fetch", "--json", server.url()}).out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 204);
  EXPECT_EQ(lines[0]["body_bytes"].integer(), 0);
  EXPECT_EQ(lines[0]["body_sha256"].str(), kSha256Empty);
}

TEST(CliFetch, TrailersOfAChunkedBodyAreReported) {
  TestServer server([](const ServerRequest&, ServerResponse& r) {
    r.set_body("hello");
    r.add_trailer("X-Checksum", "abc");
    r.add_trailer("X-Checksum", "def");
  });
  const std::vector<Json> lines = json_lines(run_cli({"fetch", "--json", server.url()}).out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["body_sha256"].str(), kSha256Hello);
  EXPECT_EQ(strings_of(lines[0]["trailers"]["x-checksum"]), (std::vector<std::string>{"abc", "def"}));
}

TEST(CliFetch, HeaderBytesThatAreNotUtf8AreEscapedAsLatin1) {
  ScriptedServer server({Script().expect_request().send(
      "HTTP/1.1 200 OK\r\nX-Bytes: caf\xe9 \xc3\xa9\r\nContent-Length: 0\r\n\r\n")});
  const CliRun run = run_cli({"fetch", "--json", server.url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // The stray 0xE9 is \u00e9; the valid UTF-8 "é" (C3 A9) is kept as is.
  EXPECT_NE(run.out.find("\"caf\\u00e9 \xc3\xa9\""), std::string::npos) << run.out;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(strings_of(lines[0]["headers"]["x-bytes"]), (std::vector<std::string>{"caf\xc3\xa9 \xc3\xa9"}));
}

TEST(CliFetch, SecondUrlOnTheSameOriginReusesTheConnection) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "--json", server.url() + "/a", server.url() + "/b"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[0]["conn"]["reused"].boolean());
  EXPECT_TRUE(lines[1]["conn"]["reused"].boolean());
  EXPECT_EQ(lines[1]["conn"]["id"].integer(), lines[0]["conn"]["id"].integer());
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].connection_index, 0u);
  EXPECT_EQ(requests[1].exchange_index, 1u);
}

TEST(CliFetch, NoKeepaliveUsesANewConnectionPerRequest) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "--json", "--no-keepalive", server.url() + "/a", server.url() + "/b"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[1]["conn"]["reused"].boolean());
  EXPECT_NE(lines[1]["conn"]["id"].integer(), lines[0]["conn"]["id"].integer());
  EXPECT_EQ(server.connections_accepted(), 2u);
  for (const ServerRequest& r : server.requests()) EXPECT_TRUE(r.has_token("Connection", "close"));
}

TEST(CliFetch, MaxIdlePerHostZeroKeepsNoConnection) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "--json", "--max-idle-per-host", "0", server.url(), server.url()});
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[1]["conn"]["reused"].boolean());
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(CliFetch, MaxBodyReadsThatManyBytesAndReportsTruncation) {
  TestServer server([](const ServerRequest& req, ServerResponse& r) {
    if (req.target == "/chunked") r.use_chunked();
    r.set_body(digits(100'000));
  });
  for (const char* path : {"/length", "/chunked"}) {
    const CliRun run = run_cli({"fetch", "--json", "--max-body", "10", server.url() + path});
    ASSERT_EQ(run.exit_code, 0) << path << run.err;
    const std::vector<Json> lines = json_lines(run.out);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["body_bytes"].integer(), 10) << path;
    EXPECT_EQ(lines[0]["body_sha256"].str(), kSha256Digits) << path;
    EXPECT_TRUE(lines[0]["body_truncated"].boolean()) << path;
    EXPECT_TRUE(lines[0]["error"].is_null()) << path;
  }
}

TEST(CliFetch, MaxBodyOfExactlyTheBodySizeIsNotTruncation) {
  TestServer server([](const ServerRequest& req, ServerResponse& r) {
    if (req.target == "/chunked") r.use_chunked();
    r.set_body(digits(10));
  });
  for (const char* path : {"/length", "/chunked"}) {
    const std::vector<Json> lines =
        json_lines(run_cli({"fetch", "--json", "--max-body", "10", server.url() + path}).out);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["body_bytes"].integer(), 10) << path;
    EXPECT_FALSE(lines[0]["body_truncated"].boolean()) << path;
  }
}

TEST(CliFetch, MaxBodyZeroReadsNothing) {
  TestServer server = hello_server();
  const std::vector<Json> lines =
      json_lines(run_cli({"fetch", "--json", "--max-body", "0", server.url()}).out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["body_bytes"].integer(), 0);
  EXPECT_EQ(lines[0]["body_sha256"].str(), kSha256Empty);
  EXPECT_TRUE(lines[0]["body_truncated"].boolean());
}

TEST(CliFetch, MaxBodyLimitsWhatIsPrinted) {
  TestServer server([](const ServerRequest&, ServerResponse& r) { r.set_body(digits(1000)); });
  const CliRun run = run_cli({"fetch", "--max-body", "4", server.url()});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "0123");
}

TEST(CliFetch, OutputFileGetsTheBodyOfTheLastUrl) {
  TestServer server([](const ServerRequest& req, ServerResponse& r) { r.set_body("body of " + req.target); });
  TempFile file;
  const CliRun run = run_cli({"fetch", "-o", file.path(), server.url() + "/first", server.url() + "/last"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(file.content(), "body of /last");
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CliFetch, OutputFileWithJsonPrintsJsonAndWritesTheFile) {
  TestServer server = hello_server();
  TempFile file;
  const CliRun run = run_cli({"fetch", "--json", "--output", file.path(), server.url()});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(json_lines(run.out).size(), 1u);
  EXPECT_EQ(file.content(), "hello");
}

TEST(CliFetch, UnwritableOutputFileFailsBeforeAnyRequest) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "-o", "/nonexistent-dir/out", server.url()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("/nonexistent-dir/out"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 0u);
}

// ---------------------------------------------------------------------------
// fetch: what is sent

TEST(CliFetch, HeadersArriveAtTheServerInOrder) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "-H", "X-One: 1", "--header", "X-Two:two words ", "-H", "X-One: again",
                              "-H", "Host: example.test", server.url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].header("X-Two"), "two words");
  EXPECT_EQ(requests[0].header("Host"), "example.test");
  std::vector<std::string> ones;
  for (const auto& [name, value] : requests[0].headers) {
    if (name == "X-One") ones.push_back(value);
  }
  EXPECT_EQ(ones, (std::vector<std::string>{"1", "again"}));
}

TEST(CliFetch, DataIsSentAsAPostBody) {
  TestServer server = hello_server();
  ASSERT_EQ(run_cli({"fetch", "-d", "a=1&b=2", server.url()}).exit_code, 0);
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, "a=1&b=2");
  EXPECT_EQ(requests[0].header("Content-Length"), "7");
}

TEST(CliFetch, DataFromAFileIsSentAsIs) {
  TestServer server = hello_server();
  const std::string bytes = std::string("line one\nline two\r\n\0binary\xff", 27);
  TempFile file(bytes);
  ASSERT_EQ(run_cli({"fetch", "-X", "PUT", "-d", "@" + file.path(), server.url()}).exit_code, 0);
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].body, bytes);
}

TEST(CliFetch, DataFromStdin) {
  TestServer server = hello_server();
  ASSERT_EQ(run_cli({"fetch", "--data", "@-", server.url()}, "from stdin").exit_code, 0);
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, "from stdin");
}

TEST(CliFetch, RequestFlagSetsTheMethod) {
  TestServer server = hello_server();
  ASSERT_EQ(run_cli({"fetch", "-XDELETE", server.url()}).exit_code, 0);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "DELETE");
}

// ---------------------------------------------------------------------------
// fetch: errors

TEST(CliFetch, MalformedUrlIsAFailedRequestNotBadUsage) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "--json", "http://[::1/", server.url()});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["url"].str(), "http://[::1/");
  EXPECT_EQ(lines[0]["status"].integer(), 0);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "bad_url");
  EXPECT_FALSE(lines[0]["error"]["message"].str().empty());
  EXPECT_TRUE(lines[0]["conn"].is_null());
  EXPECT_TRUE(lines[1]["error"].is_null()) << "the other URLs are still fetched";
  EXPECT_EQ(lines[1]["status"].integer(), 200);
}

TEST(CliFetch, UnsupportedSchemeIsBadUrl) {
  const CliRun run = run_cli({"fetch", "--json", "ftp://127.0.0.1/"});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "bad_url");
}

TEST(CliFetch, RefusedConnectionIsConnectError) {
  const RefusingPort refusing;
  const std::string url = refusing.url();
  const CliRun run = run_cli({"fetch", "--json", url});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 0);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "connect");
}

TEST(CliFetch, ErrorWithoutJsonIsOneLineOnStderr) {
  const RefusingPort refusing;
  const std::string url = refusing.url();
  const CliRun run = run_cli({"fetch", url});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err.rfind("nethttp: " + url + ": connect: ", 0), 0u) << run.err;
  EXPECT_EQ(lines_of(run.err).size(), 1u);
}

TEST(CliFetch, TimeoutWaitingForTheResponseHead) {
  TestServer server([](const ServerRequest&, ServerResponse& r) { r.wait_for_client_close(10s); });
  const auto start = std::chrono::steady_clock::now();
  const CliRun run = run_cli({"fetch", "--json", "--timeout", "0.3", server.url()});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 0);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "timeout");
}

TEST(CliFetch, TimeoutCoversReadingTheBody) {
  TestServer server([](const ServerRequest&, ServerResponse& r) {
    r.add_header("Content-Length", "100");
    r.write("first bytes");
    r.wait_for_client_close(10s);
  });
  const CliRun run = run_cli({"fetch", "--json", "--timeout", "0.3", server.url()});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 200) << "a response had arrived";
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "timeout");
  EXPECT_EQ(lines[0]["body_bytes"].integer(), 11);
}

TEST(CliFetch, ResponseHeaderTimeout) {
  TestServer server([](const ServerRequest&, ServerResponse& r) { r.wait_for_client_close(10s); });
  const CliRun run = run_cli({"fetch", "--json", "--response-header-timeout", "0.2", server.url()});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "timeout");
}

TEST(CliFetch, ConnectTimeoutNamesItself) {
  const testing::UnansweredListener unanswered;
  const CliRun run = run_cli({"fetch", "--json", "--connect-timeout", "0.2",
                              "http://127.0.0.1:" + std::to_string(unanswered.port()) + "/"});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 0);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "timeout");
  EXPECT_NE(lines[0]["error"]["message"].str().find("connect timeout (200 ms)"), std::string::npos)
      << lines[0]["error"]["message"].str();
}

TEST(CliFetch, HttpsWithCacertInsecureProxyAndUnixSocket) {
  const testing::TestPki& pki = testing::TestPki::shared();
  ASSERT_TRUE(pki.ok());
  testing::NginxOptions options;
  options.tls = testing::NginxTlsOptions{.cert = pki.server_cert(), .key = pki.server_key()};
  testing::NginxServer nginx(std::move(options));
  ASSERT_TRUE(nginx.start());
  const std::string url = "https://localhost:" + std::to_string(nginx.tls_port()) + "/small";

  const CliRun untrusted = run_cli({"fetch", "--json", url});
  EXPECT_EQ(untrusted.exit_code, 1);
  ASSERT_EQ(json_lines(untrusted.out).size(), 1u);
  EXPECT_EQ(json_lines(untrusted.out)[0]["error"]["kind"].str(), "tls");
  EXPECT_EQ(run_cli({"fetch", "--cacert", pki.ca_cert(), url}).out, "hello, world\n");
  EXPECT_EQ(run_cli({"fetch", "-k", url}).out, "hello, world\n");
  EXPECT_EQ(run_cli({"fetch", "--insecure", url}).out, "hello, world\n");

  testing::TinyproxyServer proxy;
  ASSERT_TRUE(proxy.start());
  EXPECT_EQ(run_cli({"fetch", "--proxy", proxy.url(), "--cacert", pki.ca_cert(), url}).out, "hello, world\n");
  EXPECT_EQ(proxy.requests().size(), 1u);
  const CliRun bad_proxy = run_cli({"fetch", "--proxy", "ftp://p:1", url});
  EXPECT_EQ(bad_proxy.exit_code, 2) << bad_proxy.err;

  EXPECT_EQ(run_cli({"fetch", "--unix-socket", nginx.unix_socket_path(), "http://any.test/small"}).out,
            "hello, world\n");
}

TEST(CliFetch, TruncatedBodyIsBodyErrorWithTheStatus) {
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
  ScriptedServer server({Script().expect_request().close_after(response, response.size())});
  const CliRun run = run_cli({"fetch", "--json", server.url()});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 200);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "body");
  EXPECT_EQ(lines[0]["body_bytes"].integer(), 9);
}

TEST(CliFetch, GarbageResponseIsProtocolError) {
  ScriptedServer server({Script().expect_request().send("SMTP ready\r\n\r\n").close()});
  const CliRun run = run_cli({"fetch", "--json", server.url()});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"].integer(), 0);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "protocol");
}

TEST(CliFetch, HeaderValueWithCarriageReturnIsInvalidRequest) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "--json", "-H", "X-Bad: a\rb", server.url()});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"]["kind"].str(), "invalid_request");
  EXPECT_EQ(server.requests().size(), 0u);
}

// ---------------------------------------------------------------------------
// fetch: --parallel and -v

TEST(CliFetch, ParallelPrintsResultsInInputOrder) {
  // All five requests must be in flight at once (a barrier), then earlier
  // URLs answer later, so completion order is the reverse of input order.
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::atomic<int> barrier_timeouts{0};
  TestServer server([&](const ServerRequest& req, ServerResponse& r) {
    {
      std::unique_lock lock(mu);
      ++arrived;
      cv.notify_all();
      if (!cv.wait_for(lock, 5s, [&] { return arrived % 5 == 0; })) ++barrier_timeouts;
    }
    const int n = std::stoi(req.target.substr(1));
    r.sleep(std::chrono::milliseconds(40 * (5 - n)));
    r.set_body("body" + std::to_string(n) + "\n");
  });
  std::vector<std::string> args = {"fetch", "--json", "--parallel", "5"};
  for (int i = 0; i < 5; ++i) args.push_back(server.url() + "/" + std::to_string(i));
  const CliRun run = run_cli(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(lines[i]["url"].str(), server.url() + "/" + std::to_string(i));
  EXPECT_EQ(barrier_timeouts.load(), 0) << "five workers ran at once";

  args.erase(args.begin() + 1);  // bodies on stdout, also in input order
  const CliRun bodies = run_cli(args);
  EXPECT_EQ(bodies.out, "body0\nbody1\nbody2\nbody3\nbody4\n");
}

TEST(CliFetch, ParallelWorkersShareOnePool) {
  TestServer server = hello_server();
  std::vector<std::string> args = {"fetch", "--json", "--parallel", "4", "--max-conns-per-host", "1"};
  for (int i = 0; i < 8; ++i) args.push_back(server.url() + "/" + std::to_string(i));
  const CliRun run = run_cli(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(json_lines(run.out).size(), 8u);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(CliFetch, VerboseTracesConnectionEventsOnStderr) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"fetch", "-v", server.url() + "/a", server.url() + "/b"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hellohello");
  for (const char* event :
       {"* ", "connect 127.0.0.1:", "#1 got-conn new", "#1 got-conn reused", "wrote-request", "first-byte",
        "#1 put-idle", "#1 closed", "> GET ", "< #1 HTTP/1.1 200"}) {
    EXPECT_NE(run.err.find(event), std::string::npos) << event << " in:\n" << run.err;
  }
}

// ---------------------------------------------------------------------------
// bench

TEST(CliBench, JsonReportsRequestsLatencyAndReuse) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"bench", "-n", "50", "-c", "1", "--json", server.url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "") << "no progress bar when stderr is not a terminal";
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  const Json& j = lines[0];
  EXPECT_EQ(j["requests"].integer(), 50);
  EXPECT_EQ(j["concurrency"].integer(), 1);
  EXPECT_GT(j["seconds"].number(), 0);
  EXPECT_GT(j["requests_per_sec"].number(), 0);
  for (const char* p : {"p50", "p90", "p99", "max"}) EXPECT_GT(j["latency_ms"][p].number(), 0) << p;
  EXPECT_LE(j["latency_ms"]["p50"].number(), j["latency_ms"]["max"].number());
  EXPECT_EQ(j["dials"].integer(), 1);
  EXPECT_EQ(j["reuses"].integer(), 49);
  EXPECT_TRUE(j["errors"].object().empty());
  EXPECT_EQ(j["status"]["200"].integer(), 50);
  EXPECT_GE(j["cpu_seconds"].number(), 0);
  EXPECT_GE(j["cpu_us_per_request"].number(), 0);
  EXPECT_EQ(server.requests().size(), 50u);
}

TEST(CliBench, ConcurrentWorkersWithinTheConnectionCap) {
  TestServer server = hello_server();
  const CliRun run =
      run_cli({"bench", "-n", "60", "-c", "6", "--max-conns-per-host", "2", "--json", server.url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["concurrency"].integer(), 6);
  EXPECT_LE(lines[0]["dials"].integer(), 2);
  EXPECT_EQ(lines[0]["dials"].integer() + lines[0]["reuses"].integer(), 60);
  EXPECT_LE(server.connections_accepted(), 2u);
}

TEST(CliBench, NoKeepaliveDialsPerRequest) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"bench", "-n", "10", "--no-keepalive", "--json", server.url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["dials"].integer(), 10);
  EXPECT_EQ(lines[0]["reuses"].integer(), 0);
}

TEST(CliBench, ErrorsAreCountedByKindAndExitOne) {
  const RefusingPort refusing;
  const std::string url = refusing.url();
  const CliRun run = run_cli({"bench", "-n", "5", "--json", url});
  EXPECT_EQ(run.exit_code, 1);
  const std::vector<Json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["errors"]["connect"].integer(), 5);
  EXPECT_TRUE(lines[0]["status"].object().empty());
  EXPECT_TRUE(lines[0]["latency_ms"]["p50"].is_null());
}

TEST(CliBench, TextSummaryNamesTheFigures) {
  TestServer server = hello_server();
  const CliRun run = run_cli({"bench", "-n", "20", "-c", "2", server.url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* word :
       {"requests/s", "p50", "p90", "p99", "max", "dialed", "reused", "us/request", "200"}) {
    EXPECT_NE(run.out.find(word), std::string::npos) << word << " in:\n" << run.out;
  }
}

}  // namespace
}  // namespace nethttp::testing
