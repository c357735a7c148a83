// ScriptedServer driven by raw client sockets.
#include "support/scripted_server.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/fd_count.h"
#include "unit/support/raw_client.h"

namespace nethttp::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kWait = 5s;
constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

std::string get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST(ScriptedServer, RecordsConnectionAndExchangeIndexPerRequest) {
  ScriptedServer server({
      Script().expect_request().respond("a").expect_request().respond("b").stall_until_closed(),
      Script().expect_request().respond("c").stall_until_closed(),
  });
  RawClient first(server.port());
  ASSERT_TRUE(first.send(get("/0-0")));
  EXPECT_EQ(first.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
  ASSERT_TRUE(first.send(get("/0-1")));
  EXPECT_EQ(first.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
  RawClient second(server.port());
  ASSERT_TRUE(second.send(get("/1-0")));
  EXPECT_EQ(second.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc");

  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, "/0-0");
  EXPECT_EQ(requests[0].connection_index, 0u);
  EXPECT_EQ(requests[0].exchange_index, 0u);
  EXPECT_EQ(requests[1].target, "/0-1");
  EXPECT_EQ(requests[1].connection_index, 0u);
  EXPECT_EQ(requests[1].exchange_index, 1u);
  EXPECT_EQ(requests[2].target, "/1-0");
  EXPECT_EQ(requests[2].connection_index, 1u);
  EXPECT_EQ(requests[2].exchange_index, 0u);
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(ScriptedServer, RecordsTheRawRequestBytesAndParsedFields) {
  ScriptedServer server({Script().expect_request().respond()});
  RawClient client(server.port());
  const std::string request =
      "POST /p?q=1 HTTP/1.1\r\nHost: x\r\nX-A:  spaced \r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_TRUE(client.send(request));
  EXPECT_EQ(client.read_response(), kOk);
  const ServerRequest recorded = server.requests().at(0);
  EXPECT_EQ(recorded.raw, request);
  EXPECT_EQ(recorded.method, "POST");
  EXPECT_EQ(recorded.target, "/p?q=1");
  EXPECT_EQ(recorded.headers, (FieldList{{"Host", "x"}, {"X-A", "spaced"}, {"Content-Length", "3"}}));
  EXPECT_EQ(recorded.body, "abc");
}

TEST(ScriptedServer, SendsScriptedBytesThenClosesAtTheEndOfTheScript) {
  ScriptedServer server({Script().expect_request().send("HTTP/1.1 200 OK\r\n\r\nuntil close")});
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_EQ(client.buffered(), "HTTP/1.1 200 OK\r\n\r\nuntil close");
}

TEST(ScriptedServer, CloseAfterSendsOnlyTheFirstBytes) {
  ScriptedServer server(
      {Script().expect_request().close_after("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 20)});
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_EQ(client.buffered(), "HTTP/1.1 200 OK\r\nCon");
}

TEST(ScriptedServer, HalfCloseGivesTheClientEofWhileTheServerStillReads) {
  ScriptedServer server({Script().send("early").shutdown_write().expect_request()});
  RawClient client(server.port());
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_EQ(client.buffered(), "early");
  ASSERT_TRUE(client.send(get("/after-eof")));
  ASSERT_TRUE(server.wait_for_requests(1, kWait));
  EXPECT_EQ(server.requests().at(0).target, "/after-eof");
}

TEST(ScriptedServer, ResetIsSeenAsConnectionResetByTheClient) {
  ScriptedServer server({Script().expect_request().reset()});
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_to_end(), ReadEnd::reset);
}

TEST(ScriptedServer, SendSlowlyDeliversAllBytesInPieces) {
  ScriptedServer server({Script().expect_request().send_slowly(std::string(kOk), 5, 1ms)});
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_response(), kOk);
}

TEST(ScriptedServer, StallUntilClosedHoldsTheConnectionUntilTheClientCloses) {
  ScriptedServer server({Script().expect_request().stall_until_closed()});
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  ASSERT_TRUE(server.wait_for_requests(1, kWait));
  EXPECT_EQ(server.open_connections(), 1u);
  client.close();
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST(ScriptedServer, ExpectRequestHeadThenBodyScriptsAContinue) {
  ScriptedServer server({Script()
                             .expect_request_head()
                             .send("HTTP/1.1 100 Continue\r\n\r\n")
                             .expect_body()
                             .respond()
                             .stall_until_closed()});
  RawClient client(server.port());
  ASSERT_TRUE(client.send("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(server.wait_for_requests(1, kWait));
  EXPECT_FALSE(server.requests().at(0).body_complete);
  ASSERT_TRUE(client.send("data"));
  EXPECT_EQ(client.read_response(), kOk);
  const ServerRequest request = server.requests().at(0);
  EXPECT_TRUE(request.body_complete);
  EXPECT_EQ(request.body, "data");
  EXPECT_EQ(request.raw,
            "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata");
}

TEST(ScriptedServer, UsesTheFallbackScriptForConnectionsBeyondTheScriptedOnes) {
  ScriptedServer server({Script().expect_request().close()});
  {
    RawClient scripted(server.port());
    ASSERT_TRUE(scripted.send(get("/")));
    EXPECT_EQ(scripted.read_to_end(), ReadEnd::eof);
    EXPECT_EQ(scripted.buffered(), "");
  }
  RawClient fallback(server.port());
  for (int i = 0; i < 3; ++i) {  // the default fallback keeps the connection alive
    ASSERT_TRUE(fallback.send(get("/")));
    EXPECT_EQ(fallback.read_response(), kOk);
  }
  EXPECT_EQ(server.requests().back().connection_index, 1u);
  EXPECT_EQ(server.requests().back().exchange_index, 2u);
}

TEST(ScriptedServer, CallsTheScriptFactoryWithEachConnectionIndex) {
  ScriptedServer server(
      [](std::size_t index) { return Script().expect_request().respond("conn" + std::to_string(index)); });
  for (int i = 0; i < 2; ++i) {
    RawClient client(server.port());
    ASSERT_TRUE(client.send(get("/")));
    EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nconn" + std::to_string(i));
  }
}

TEST(ScriptedServer, DecodesAChunkedRequestBody) {
  ScriptedServer server({Script().expect_request().respond()});
  RawClient client(server.port());
  ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  EXPECT_EQ(client.read_response(), kOk);
  EXPECT_EQ(server.requests().at(0).body, "abc");
}

TEST(ScriptedServer, EndsTheScriptWhenTheRequestIsMalformed) {
  ScriptedServer server({Script().expect_request().respond()});
  RawClient client(server.port());
  ASSERT_TRUE(client.send("NOT HTTP\r\n\r\n"));
  EXPECT_NE(client.read_to_end(), ReadEnd::timeout);
  EXPECT_EQ(client.buffered(), "");
  EXPECT_TRUE(server.requests().empty());
}

TEST(ScriptedServer, WaitForRequestsReturnsWhenRequestsArriveAndFalseOnTimeout) {
  ScriptedServer server({Script().expect_request().expect_request().stall_until_closed()});
  EXPECT_FALSE(server.wait_for_requests(1, 10ms));
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/1") + get("/2")));  // pipelined
  EXPECT_TRUE(server.wait_for_requests(2, kWait));
  EXPECT_FALSE(server.wait_for_requests(3, 10ms));
  EXPECT_EQ(server.requests().at(1).target, "/2");
}

TEST(ScriptedServer, CloseClientConnectionsInterruptsAStall) {
  ScriptedServer server({Script().stall_until_closed()});
  RawClient client(server.port());
  ASSERT_TRUE(server.wait_for_open_connections(1, kWait));
  server.close_client_connections();
  EXPECT_EQ(server.open_connections(), 0u);
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
}

TEST(ScriptedServer, CloseClientConnectionsInterruptsASleepPromptly) {
  ScriptedServer server({Script().sleep(60s).respond()});
  RawClient client(server.port());
  ASSERT_TRUE(server.wait_for_open_connections(1, kWait));
  const auto start = std::chrono::steady_clock::now();
  server.close_client_connections();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(server.open_connections(), 0u);
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_EQ(client.buffered(), "");
}

TEST(ScriptedServer, StopReturnsPromptlyWhileScriptsSleepStallAndSend) {
  ScriptedServer server({
      Script().sleep(60s),
      Script().stall_until_closed(),
      Script().send(std::string(8 << 20, 'x')),  // more than the socket buffers: blocks
      Script().send_slowly("abc", 1, 60s),
  });
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<RawClient>(server.port()));
  ASSERT_TRUE(server.wait_for_open_connections(4, kWait));
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(server.open_connections(), 0u);
}

TEST(ScriptedServer, LeavesNoFdsOrThreadsAfterDestruction) {
  std::thread([] {}).join();  // TSan starts a helper thread with the first thread
  const int fds_before = count_open_fds();
  const int threads_before = count_threads();
  {
    ScriptedServer server({Script().expect_request().respond().stall_until_closed()});
    RawClient client(server.port());
    RawClient idle(server.port());
    ASSERT_TRUE(client.send(get("/")));
    EXPECT_EQ(client.read_response(), kOk);
    ASSERT_TRUE(server.wait_for_open_connections(2, kWait));
    server.stop();
  }
  EXPECT_EQ(count_open_fds(), fds_before);
  EXPECT_EQ(count_threads(), threads_before);
}

}  // namespace
}  // namespace nethttp::testing
