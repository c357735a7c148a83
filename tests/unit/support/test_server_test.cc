// TestServer driven by raw client sockets.
#include "support/test_server.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/fd_count.h"
#include "unit/support/raw_client.h"

namespace nethttp::testing {
namespace {

using namespace std::chrono_literals;

/// Long enough never to fire on a loaded machine; the waits return as soon
/// as the condition holds.
constexpr std::chrono::milliseconds kWait = 5s;

std::string get(std::string_view target, std::string_view extra_headers = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra_headers) + "\r\n";
}

/// Echoes the request body, and its method and target in headers.
void echo(const ServerRequest& request, ServerResponse& response) {
  response.add_header("X-Method", request.method);
  response.add_header("X-Target", request.target);
  response.set_body(request.body);
}

TEST(TestServer, ServesTheHandlersResponseOverARealSocket) {
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    response.set_status(201);
    response.add_header("X-Test", "yes");
    response.set_body("hello");
  });
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_NE(server.port(), 0);

  RawClient client(server.port());
  ASSERT_TRUE(client.is_connected());
  ASSERT_TRUE(client.send(get("/a")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 201 Created\r\nX-Test: yes\r\nContent-Length: 5\r\n\r\nhello");
}

TEST(TestServer, AnswersOkWithoutAHandler) {
  TestServer server;
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

TEST(TestServer, RecordsKeepAliveReuseAsOneConnectionWithExchangeIndexes) {
  TestServer server(echo);
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/first")));
  EXPECT_NE(client.read_response(), "");
  ASSERT_TRUE(client.send(get("/second", "X-Extra: 1\r\n")));
  EXPECT_NE(client.read_response(), "");

  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].connection_index, 0u);
  EXPECT_EQ(requests[0].exchange_index, 0u);
  EXPECT_EQ(requests[0].target, "/first");
  EXPECT_EQ(requests[1].connection_index, 0u);
  EXPECT_EQ(requests[1].exchange_index, 1u);
  EXPECT_EQ(requests[1].target, "/second");
  EXPECT_EQ(requests[1].header("x-extra"), "1");
  EXPECT_EQ(requests[1].raw, get("/second", "X-Extra: 1\r\n"));
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.open_connections(), 1u);
}

TEST(TestServer, CountsEachNewConnection) {
  TestServer server;
  for (int i = 0; i < 3; ++i) {
    RawClient client(server.port());
    ASSERT_TRUE(client.send(get("/")));
    EXPECT_NE(client.read_response(), "");
  }
  const std::vector<ServerRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(requests[i].connection_index, i);
    EXPECT_EQ(requests[i].exchange_index, 0u);
  }
  EXPECT_EQ(server.connections_accepted(), 3u);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST(TestServer, HonoursConnectionCloseFromTheClient) {
  TestServer server;
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/", "Connection: close\r\n")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  // The server drains until the client closes too (so no reset can destroy the response).
  client.close();
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST(TestServer, ClosesAfterAnHttp10Request) {
  TestServer server;
  RawClient client(server.port());
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_EQ(server.requests().at(0).version_minor, 0);
}

TEST(TestServer, ReadsAContentLengthRequestBody) {
  TestServer server(echo);
  RawClient client(server.port());
  ASSERT_TRUE(client.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"));
  EXPECT_EQ(client.read_response(),
            "HTTP/1.1 200 OK\r\nX-Method: POST\r\nX-Target: /up\r\nContent-Length: 11\r\n\r\nhello world");
  const ServerRequest request = server.requests().at(0);
  EXPECT_EQ(request.body, "hello world");
  EXPECT_FALSE(request.chunked);
  EXPECT_TRUE(request.body_complete);
}

TEST(TestServer, DecodesAChunkedRequestBodyWithExtensionsAndTrailers) {
  TestServer server(echo);
  RawClient client(server.port());
  const std::string request_bytes =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "6\r\n world\r\n"
      "0\r\nX-Checksum: abc\r\n\r\n";
  // In pieces, so chunk lines and data arrive split.
  for (std::size_t at = 0; at < request_bytes.size(); at += 7) {
    ASSERT_TRUE(client.send(std::string_view(request_bytes).substr(at, 7)));
  }
  EXPECT_NE(client.read_response(), "");
  const ServerRequest request = server.requests().at(0);
  EXPECT_EQ(request.body, "hello world");
  EXPECT_TRUE(request.chunked);
  EXPECT_EQ(request.trailers, (FieldList{{"X-Checksum", "abc"}}));
  EXPECT_EQ(request.raw, request_bytes);
}

TEST(TestServer, SendsContinueBeforeReadingAnExpectedBody) {
  TestServer server(echo);
  RawClient client(server.port());
  ASSERT_TRUE(client.send("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(server.requests().size(), 0u);  // not recorded before the body
  ASSERT_TRUE(client.send("data"));
  EXPECT_EQ(client.read_response(),
            "HTTP/1.1 200 OK\r\nX-Method: PUT\r\nX-Target: /x\r\nContent-Length: 4\r\n\r\ndata");
}

TEST(TestServer, RepliesEarlyToExpectContinueAndClosesWhenConfigured) {
  TestServerOptions options;
  options.expect_continue = ExpectContinue::reply_early;
  TestServer server(
      [](const ServerRequest& request, ServerResponse& response) {
        EXPECT_FALSE(request.body_complete);
        response.set_status(417);
      },
      options);
  RawClient client(server.port());
  ASSERT_TRUE(client.send("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  EXPECT_EQ(client.read_response(),
            "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_EQ(server.requests().at(0).body, "");
}

TEST(TestServer, StreamsAChunkedResponseWithTrailers) {
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    response.add_trailer("X-Sum", "42");
    EXPECT_TRUE(response.write("abc"));
    EXPECT_TRUE(response.write("defg"));
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(
      client.read_response(),
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Sum: 42\r\n\r\n");
  ASSERT_TRUE(client.send(get("/again")));  // still alive
  EXPECT_NE(client.read_response(), "");
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(TestServer, StreamsWithTheHandlersContentLength) {
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    response.add_header("Content-Length", "6");
    EXPECT_TRUE(response.write("abc"));
    EXPECT_TRUE(response.write("def"));
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef");
}

TEST(TestServer, ClosesWhenTheHandlerSendsLessThanItsContentLength) {
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    response.add_header("Content-Length", "10");
    EXPECT_TRUE(response.write("abc"));
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_EQ(client.buffered(), "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
}

TEST(TestServer, SendsABodylessResponseToHead) {
  TestServer server([](const ServerRequest&, ServerResponse& response) { response.set_body("12345"); });
  RawClient client(server.port());
  ASSERT_TRUE(client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(client.read_response(/*head_request=*/true), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n12345");
}

TEST(TestServer, SendsInterimResponsesBeforeTheFinalOne) {
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    EXPECT_TRUE(response.send_interim(103, {{"Link", "</s.css>"}}));
    response.set_body("x");
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n");
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
}

TEST(TestServer, HandlerCanCloseTheConnection) {
  TestServer server([](const ServerRequest&, ServerResponse& response) {
    response.close_connection();
    response.set_body("bye");
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye");
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
}

TEST(TestServer, ClosesAfterMaxRequestsPerConnection) {
  TestServerOptions options;
  options.max_requests_per_connection = 2;
  TestServer server({}, options);
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/1")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(client.send(get("/2")));
  EXPECT_EQ(client.read_response(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
}

TEST(TestServer, ClosesIdleConnectionsAfterTheIdleTimeout) {
  TestServerOptions options;
  options.idle_timeout = 50ms;
  TestServer server({}, options);
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_NE(client.read_response(), "");
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
}

TEST(TestServer, CloseClientConnectionsClosesIdleConnectionsAndKeepsAccepting) {
  TestServer server;
  RawClient idle(server.port());
  ASSERT_TRUE(idle.send(get("/")));
  EXPECT_NE(idle.read_response(), "");
  ASSERT_EQ(server.open_connections(), 1u);

  server.close_client_connections();
  EXPECT_EQ(server.open_connections(), 0u);
  EXPECT_EQ(idle.read_to_end(), ReadEnd::eof);

  RawClient fresh(server.port());
  ASSERT_TRUE(fresh.send(get("/")));
  EXPECT_NE(fresh.read_response(), "");
  EXPECT_EQ(server.requests().at(1).connection_index, 1u);
}

TEST(TestServer, RejectsAMalformedRequestWith400AndCloses) {
  TestServer server([](const ServerRequest&, ServerResponse&) { ADD_FAILURE() << "handler called"; });
  RawClient client(server.port());
  ASSERT_TRUE(client.send("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(client.read_response(),
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(client.read_to_end(), ReadEnd::eof);
  EXPECT_TRUE(server.requests().empty());
}

TEST(TestServer, RejectsAnOversizedHeadWith431) {
  TestServer server;
  RawClient client(server.port());
  const std::string huge(RequestLimits::max_head_bytes + 1, 'a');
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nX-Big: " + huge + "\r\n\r\n"));
  EXPECT_EQ(client.read_response(),
            "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(TestServer, ListensOnAUnixSocketWhenAsked) {
  TestServerOptions options;
  options.unix_socket_path = "/tmp/nethttp-test-server-" + std::to_string(::getpid()) + ".sock";
  {
    TestServer server(echo, options);
    RawClient client(server.unix_socket_path());
    ASSERT_TRUE(client.is_connected());
    ASSERT_TRUE(client.send(get("/unix")));
    EXPECT_NE(client.read_response(), "");
    EXPECT_EQ(server.requests().at(0).target, "/unix");
  }
  EXPECT_NE(::access(options.unix_socket_path.c_str(), F_OK), 0) << "socket file left behind";
}

TEST(TestServer, ServesConcurrentClientsOnSeparateConnections) {
  TestServer server(echo);
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      RawClient client(server.port());
      for (int r = 0; r < kRequestsEach; ++r) {
        if (client.send(get("/")) && !client.read_response().empty()) ++ok;
      }
    });
  }
  // Read the log while the connections run: copies are thread-safe.
  while (!server.wait_for_requests(kClients * kRequestsEach, 1ms)) (void)server.requests();
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
  EXPECT_EQ(server.connections_accepted(), static_cast<std::size_t>(kClients));
  for (const ServerRequest& r : server.requests()) EXPECT_LT(r.exchange_index, kRequestsEach + 0u);
}

TEST(TestServer, WaitForRequestsTimesOutWithoutRequests) {
  TestServer server;
  EXPECT_FALSE(server.wait_for_requests(1, 10ms));
}

TEST(TestServer, StopReturnsPromptlyWithAClientConnectionStillOpen) {
  TestServer server;
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  EXPECT_NE(client.read_response(), "");
  RawClient silent(server.port());                       // connected, never sends
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: "));  // half a head
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // EOF, or a reset when the server had not yet read the half head.
  const ReadEnd end = client.read_to_end();
  EXPECT_TRUE(end == ReadEnd::eof || end == ReadEnd::reset) << static_cast<int>(end);
  server.stop();  // idempotent
}

TEST(TestServer, StopReturnsPromptlyWhileAHandlerStallsForTheClient) {
  std::atomic<bool> client_closed{true};
  TestServer server([&](const ServerRequest&, ServerResponse& response) {
    client_closed = response.wait_for_client_close(60s);
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.send(get("/")));
  ASSERT_TRUE(server.wait_for_requests(1, kWait));
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(client_closed);
}

TEST(TestServer, HandlerSeesTheClientCloseWhileStalling) {
  std::atomic<bool> client_closed{false};
  TestServer server([&](const ServerRequest&, ServerResponse& response) {
    client_closed = response.wait_for_client_close(kWait);
  });
  {
    RawClient client(server.port());
    ASSERT_TRUE(client.send(get("/")));
    ASSERT_TRUE(server.wait_for_requests(1, kWait));
  }
  EXPECT_TRUE(server.wait_for_open_connections(0, kWait));
  EXPECT_TRUE(client_closed);
}

TEST(TestServer, LeavesNoFdsOrThreadsAfterDestruction) {
  std::thread([] {}).join();  // TSan starts a helper thread with the first thread
  const int fds_before = count_open_fds();
  const int threads_before = count_threads();
  {
    TestServer server;
    RawClient a(server.port());
    RawClient b(server.port());
    ASSERT_TRUE(a.send(get("/")));
    ASSERT_TRUE(b.send(get("/")));
    EXPECT_NE(a.read_response(), "");
    EXPECT_NE(b.read_response(), "");
    ASSERT_TRUE(server.wait_for_open_connections(2, kWait));
    EXPECT_GT(count_threads(), threads_before);
  }
  EXPECT_EQ(count_open_fds(), fds_before);
  EXPECT_EQ(count_threads(), threads_before);
}

}  // namespace
}  // namespace nethttp::testing
