// Uploads through the Client: framing by what the caller knows of the
// length, Expect: 100-continue asked for by the caller on every hop, and a
// body source that fails half-way.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "support/body_sources.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/test_server.h"

namespace nethttp {
namespace {

using testing::FailingSource;
using testing::pattern;
using testing::PatternSource;
using testing::ServerRequest;
using testing::ServerResponse;
using testing::TestServer;

constexpr std::size_t kUploadBytes = std::size_t{1} << 20;

/// /307 redirects (307) to /echo; /echo answers with the body's size.
void handler(const ServerRequest& request, ServerResponse& response) {
  if (request.target == "/307") {
    response.set_status(307);
    response.add_header("Location", "/echo");
    return;
  }
  response.set_body(std::to_string(request.body.size()));
}

class ClientUpload : public testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    server_ = &keep_server(std::make_shared<TestServer>(handler));
    client_ = std::make_unique<Client>(testing::borrow(make_transport()));
  }
  void TearDown() override {
    client_.reset();
    LeakCheckedTest::TearDown();
  }
  /// POSTs `body` to `path`; returns the response body or "error: ...".
  std::string post(const std::string& path, RequestBody body, const std::string& expect = {}) {
    Result<Request> request = make_request("POST", server_->url() + path, std::move(body));
    if (!request) return "error: " + request.error().message();
    if (!expect.empty()) request->header.set("Expect", expect);
    Result<Response> response = client_->send(*std::move(request));
    if (!response) return "error: " + response.error().message();
    return std::move(response)->body.read_all().value_or("(body failed)");
  }

  TestServer* server_ = nullptr;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientUpload, AnUnknownLengthGoesChunkedAndAKnownOneWithContentLength) {
  EXPECT_EQ(post("/echo", RequestBody::from_stream(std::make_unique<PatternSource>(kUploadBytes))),
            std::to_string(kUploadBytes));
  EXPECT_EQ(post("/echo", RequestBody::from_stream(std::make_unique<PatternSource>(kUploadBytes),
                                                   static_cast<std::int64_t>(kUploadBytes))),
            std::to_string(kUploadBytes));
  const std::vector<ServerRequest> seen = server_->requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].chunked);
  EXPECT_FALSE(seen[0].header("Content-Length"));
  EXPECT_FALSE(seen[1].chunked);
  EXPECT_EQ(seen[1].header("Content-Length"), std::to_string(kUploadBytes));
  EXPECT_EQ(seen[0].body, pattern(kUploadBytes));
  EXPECT_EQ(seen[1].body, pattern(kUploadBytes));
}

TEST_F(ClientUpload, ExpectContinueAskedByTheCallerGoesOnEveryHopWithTheBodyReplayed) {
  const RequestBody body = RequestBody::from_factory(
      [] { return std::make_unique<PatternSource>(kUploadBytes); }, static_cast<std::int64_t>(kUploadBytes));
  EXPECT_EQ(post("/307", body, "100-continue"), std::to_string(kUploadBytes));
  const std::vector<ServerRequest> seen = server_->requests();
  ASSERT_EQ(seen.size(), 2u);
  for (const ServerRequest& hop : seen) {
    SCOPED_TRACE(hop.target);
    EXPECT_EQ(hop.header("Expect"), "100-continue");
    EXPECT_EQ(hop.body, pattern(kUploadBytes));
  }
}

TEST_F(ClientUpload, ASourceFailingHalfWayAbortsWithItsErrorAndTheNextRequestUsesAFreshConnection) {
  EXPECT_EQ(post("/echo", RequestBody::from_string("warm-up")), "7");
  EXPECT_EQ(transport().stats().idle, 1u);
  EXPECT_EQ(post("/echo", RequestBody::from_stream(std::make_unique<FailingSource>(kUploadBytes / 2))),
            "error: writing request body to " + server_->host_port() +
                ": reading the request body: reading upload.bin: Input/output error");
  EXPECT_EQ(transport().stats().closed_for(CloseReason::error), 1u) << "the half-sent connection was kept";
  EXPECT_EQ(post("/echo", RequestBody::from_string("next")), "4");
  EXPECT_EQ(server_->connections_accepted(), 2u);
  EXPECT_EQ(server_->requests().size(), 2u) << "the server took the half upload for a request";
}

}  // namespace
}  // namespace nethttp
