// The Client asking for and decoding compressed bodies (Go's transparent gzip, plus br and zstd).
#include <zlib.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "support/leak_check.h"
#include "support/nginx.h"
#include "support/printers.h"
#include "support/test_server.h"

namespace nethttp {
namespace {

using testing::ServerRequest;
using testing::ServerResponse;
using testing::TestServer;

std::string gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

const std::string kText = [] {
  std::string s;
  for (int i = 0; i < 2000; ++i) s += "hello, compressed world " + std::to_string(i) + "\n";
  return s;
}();

/// 64 MiB of zeros: about 64 KiB of gzip (made when first asked for: every
/// test of this program runs in its own process).
const std::string& bomb() {
  static const std::string compressed = gzip(std::string(std::size_t{64} << 20, '\0'));
  return compressed;
}

/// /gzip answers gzip when asked for it (and plain text otherwise);
/// /corrupt claims gzip but sends garbage; /bomb sends bomb().
void handler(const ServerRequest& request, ServerResponse& response) {
  const bool wants = request.header("Accept-Encoding").value_or("").find("gzip") != std::string::npos;
  if (request.target == "/corrupt") {
    response.add_header("Content-Encoding", "gzip");
    response.set_body("this is not gzip at all");
  } else if (request.target == "/bomb") {
    response.add_header("Content-Encoding", "gzip");
    response.set_body(bomb());
  } else if (wants) {
    response.add_header("Content-Encoding", "gzip");
    response.set_body(request.method == "HEAD" ? std::string() : gzip(kText));
  } else {
    response.set_body(kText);
  }
}

class ClientDecompression : public testing::LeakCheckedTest {
 protected:
  TestServer& server() { return keep_server(std::make_shared<TestServer>(handler)); }
  Client client(ClientOptions options = {}) {
    return Client(testing::borrow(make_transport()), std::move(options));
  }
};

TEST_F(ClientDecompression, AsksForCompressionAndDecodesTheBodyAsGoDoes) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.get(s.url() + "/gzip");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->uncompressed);
  EXPECT_FALSE(r->header.has("Content-Encoding"));
  EXPECT_FALSE(r->header.has("Content-Length"));
  EXPECT_EQ(r->content_length, -1);
  Result<std::string> body = r->body.read_all();
  ASSERT_TRUE(body.ok()) << body.error().message();
  EXPECT_EQ(*body, kText);
  EXPECT_EQ(s.requests().at(0).header("Accept-Encoding"), "gzip, br, zstd");
}

TEST_F(ClientDecompression, LeavesTheBodyAloneWhenTheCallerAskedForAnEncoding) {
  TestServer& s = server();
  Client c = client();
  Result<Request> request = make_request("GET", s.url() + "/gzip");
  ASSERT_TRUE(request.ok());
  request->header.add("Accept-Encoding", "gzip");
  Result<Response> r = c.send(*std::move(request));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->uncompressed);
  EXPECT_EQ(r->header.get("Content-Encoding"), "gzip");
  Result<std::string> body = r->body.read_all();
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, gzip(kText));
}

TEST_F(ClientDecompression, AsksForNothingWhenDisabledOrForHead) {
  TestServer& s = server();
  ClientOptions raw;
  raw.disable_compression = true;
  Client no_compression = client(raw);
  Result<Response> plain = no_compression.get(s.url() + "/gzip");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain->body.read_all(), kText);
  Client c = client();
  Result<Response> head = c.head(s.url() + "/gzip");
  ASSERT_TRUE(head.ok());
  const std::vector<ServerRequest> seen = s.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].header("Accept-Encoding"));
  EXPECT_FALSE(seen[1].header("Accept-Encoding")) << "Go does not ask for compression on HEAD";
}

TEST_F(ClientDecompression, FailsACorruptBodyWithABodyError) {
  TestServer& s = server();
  Client c = client();
  Result<Response> r = c.get(s.url() + "/corrupt");
  ASSERT_TRUE(r.ok());
  Result<std::string> body = r->body.read_all();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().kind(), ErrorKind::body);
}

TEST_F(ClientDecompression, StopsABombWithABodyErrorAndTheClientGoesOn) {
  TestServer& s = server();
  for (const bool by_size : {true, false}) {
    SCOPED_TRACE(by_size ? "size limit" : "ratio limit");
    ClientOptions options;
    if (by_size) {
      options.max_decoded_bytes = std::uint64_t{8} << 20;
    } else {
      options.max_decompression_ratio = 100;
    }
    Client c = client(options);
    Result<Response> r = c.get(s.url() + "/bomb");
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::uint64_t decoded = 0;
    std::vector<char> buf(64 * 1024);
    Result<std::size_t> n = std::size_t{0};
    while ((n = r->body.read(buf)) && *n > 0) decoded += *n;
    ASSERT_FALSE(n.ok()) << "the bomb decoded to its end";
    EXPECT_EQ(n.error().kind(), ErrorKind::body);
    EXPECT_NE(n.error().message().find("decompression bomb guard"), std::string::npos) << n.error().message();
    EXPECT_LE(decoded, std::uint64_t{8} << 20);
    // Closing drains the raw rest when it is small (the framing is intact,
    // so the connection may be reused) or closes the connection.
    r->body.close();
    EXPECT_EQ(transport().stats().in_use, 0u);
    Result<Response> next = c.get(s.url() + "/gzip");
    ASSERT_TRUE(next.ok()) << next.error().message();
    EXPECT_EQ(next->body.read_all().value_or(""), kText);
  }
}

TEST_F(ClientDecompression, DecodesWhatNginxCompresses) {
  auto nginx = std::make_shared<testing::NginxServer>();
  ASSERT_TRUE(nginx->start());
  testing::NginxServer& n = keep_server(nginx);
  Client c = client();
  Result<Response> r = c.get(n.url("/gzip/65536"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->uncompressed);
  Result<std::string> body = r->body.read_all();
  ASSERT_TRUE(body.ok()) << body.error().message();
  EXPECT_EQ(*body, testing::pattern_bytes(65536));
}

}  // namespace
}  // namespace nethttp
