// Connection facts of a response head (RFC 9112 §9.3, §9.6; RFC 9110 §7.6.1)
// and ResponseHead::persistent().
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "codec/response_parser.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::Outcome;
using testing::Transcript;

struct ConnectionCase {
  std::string_view name;
  std::string_view head;  ///< a whole head without a body (Content-Length: 0 is added)
  bool close;
  bool keep_alive;
  bool persistent;
};

TEST(ResponseParserConnection, ReadsConnectionTokensAndPersistence) {
  const ConnectionCase cases[] = {
      {"HTTP/1.1 persists by default", "HTTP/1.1 200 OK\r\n", false, false, true},
      {"HTTP/1.0 closes by default", "HTTP/1.0 200 OK\r\n", false, false, false},
      {"close", "HTTP/1.1 200 OK\r\nConnection: close\r\n", true, false, false},
      {"Close in any case", "HTTP/1.1 200 OK\r\nConnection: CLOSE\r\n", true, false, false},
      {"field name in any case", "HTTP/1.1 200 OK\r\nconnection: close\r\n", true, false, false},
      {"close in a list", "HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\n", true, false, false},
      {"close in a list without spaces", "HTTP/1.1 200 OK\r\nConnection: te,close,foo\r\n", true, false,
       false},
      {"close among empty list members", "HTTP/1.1 200 OK\r\nConnection: , close ,\r\n", true, false, false},
      {"keep-alive on HTTP/1.0", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", false, true, true},
      {"Keep-Alive on HTTP/1.0 in a list", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive, foo\r\n", false, true,
       true},
      {"keep-alive on HTTP/1.1", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n", false, true, true},
      {"close wins over keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n", true, true,
       false},
      {"close in a second Connection field",
       "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\n", true, true, false},
      {"keep-alive in a second field on HTTP/1.0",
       "HTTP/1.0 200 OK\r\nConnection: foo\r\nConnection: keep-alive\r\n", false, true, true},
      {"closed is not close", "HTTP/1.1 200 OK\r\nConnection: closed\r\n", false, false, true},
      {"xclose is not close", "HTTP/1.1 200 OK\r\nConnection: xclose\r\n", false, false, true},
      {"close as another field's value", "HTTP/1.1 200 OK\r\nX-Connection: close\r\n", false, false, true},
      {"keep-alives is not keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alives\r\n", false, false,
       false},
      {"Keep-Alive field is not the token", "HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\n", false, false,
       false},
      {"OWS around the token", "HTTP/1.1 200 OK\r\nConnection:  \tclose \t\r\n", true, false, false},
  };
  for (const ConnectionCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Transcript t = testing::parsegrind(std::string(c.head) + "Content-Length: 0\r\n\r\n");
    ASSERT_EQ(t.outcome, Outcome::done) << t.error_message;
    EXPECT_EQ(t.head->connection_close, c.close);
    EXPECT_EQ(t.head->connection_keep_alive, c.keep_alive);
    EXPECT_EQ(t.head->persistent, c.persistent);
  }
}

TEST(ResponseHead, PersistsOnlyWithoutCloseAndOnHttp11OrKeepAlive) {
  struct Row {
    int minor;
    bool close;
    bool keep_alive;
    bool persistent;
  };
  const Row rows[] = {
      {1, false, false, true},  {1, true, false, false}, {1, false, true, true}, {1, true, true, false},
      {0, false, false, false}, {0, true, false, false}, {0, false, true, true}, {0, true, true, false},
  };
  for (const Row& r : rows) {
    ResponseHead h;
    h.version_minor = r.minor;
    h.status = 200;
    h.connection_close = r.close;
    h.connection_keep_alive = r.keep_alive;
    EXPECT_EQ(h.persistent(), r.persistent)
        << "HTTP/1." << r.minor << " close=" << r.close << " keep_alive=" << r.keep_alive;
  }
}

}  // namespace
}  // namespace nethttp::codec
