// write_request_head(), write_chunk_header(), write_last_chunk(): whole wire
// transcripts compared byte for byte.
#include "codec/request_writer.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "nethttp/header.h"
#include "nethttp/url.h"
#include "support/split_feed.h"

namespace nethttp::codec {
namespace {

using testing::escape;
using namespace std::literals;

/// What RequestHead needs besides its URL, with the URL as text.
struct WireCase {
  std::string_view name;
  std::string_view url;
  std::string_view method = "GET";
  TargetForm form = TargetForm::origin;
  std::string_view host = "";
  RequestBodyFraming body = RequestBodyFraming::none;
  std::uint64_t content_length = 0;
  bool close = false;
  std::string_view expected = "";
};

/// Writes the head of `c` with `header`; the failure message names the case.
void expect_wire(const WireCase& c, const Header* header = nullptr) {
  SCOPED_TRACE(c.name);
  Result<Url> url = Url::parse(c.url);
  ASSERT_TRUE(url.ok()) << "Url::parse(\"" << c.url << "\"): " << url.error().message();
  RequestHead head;
  head.method = c.method;
  head.url = &*url;
  head.form = c.form;
  head.header = header;
  head.host = c.host;
  head.body = c.body;
  head.content_length = c.content_length;
  head.close = c.close;
  std::string out;
  Result<void> r = write_request_head(head, out);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(escape(out), escape(c.expected));
}

TEST(RequestWriter, WritesTheRequestTargetInEachForm) {
  const WireCase cases[] = {
      {.name = "origin-form with query",
       .url = "http://example.com/p?q=1",
       .expected = "GET /p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      {.name = "origin-form of an empty path",
       .url = "http://example.com",
       .expected = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      {.name = "origin-form never sends the fragment",
       .url = "http://example.com/p?q#frag",
       .expected = "GET /p?q HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      {.name = "origin-form never sends userinfo",
       .url = "http://user:secret@example.com/p",
       .expected = "GET /p HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      {.name = "absolute-form for a proxy",
       .url = "http://h:8080/p?q",
       .form = TargetForm::absolute,
       .expected = "GET http://h:8080/p?q HTTP/1.1\r\nHost: h:8080\r\n\r\n"},
      {.name = "absolute-form without userinfo or fragment",
       .url = "http://user:pw@h:8080/p?q#frag",
       .form = TargetForm::absolute,
       .expected = "GET http://h:8080/p?q HTTP/1.1\r\nHost: h:8080\r\n\r\n"},
      {.name = "absolute-form leaves out the default port",
       .url = "http://h:80/p",
       .form = TargetForm::absolute,
       .expected = "GET http://h/p HTTP/1.1\r\nHost: h\r\n\r\n"},
      // RFC 9112 §3.2.3: authority-form always has the port. Host repeats it,
      // as Go and curl send it.
      {.name = "authority-form for CONNECT",
       .url = "https://h:443/",
       .method = "CONNECT",
       .form = TargetForm::authority,
       .expected = "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"},
      {.name = "authority-form with the default port left out of the URL",
       .url = "https://h/ignored/path?and=query",
       .method = "CONNECT",
       .form = TargetForm::authority,
       .expected = "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"},
      {.name = "authority-form of an IPv6 address",
       .url = "https://[2001:db8::1]:8443/",
       .method = "CONNECT",
       .form = TargetForm::authority,
       .expected = "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n"},
  };
  for (const WireCase& c : cases) expect_wire(c);
}

TEST(RequestWriter, DerivesHostFromTheUrl) {
  const WireCase cases[] = {
      {.name = "default http port omitted",
       .url = "http://example.com:80/",
       .expected = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      {.name = "default https port omitted",
       .url = "https://example.com:443/",
       .expected = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      {.name = "non-default port included",
       .url = "http://example.com:8080/",
       .expected = "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"},
      {.name = "port 443 on http is not a default",
       .url = "http://example.com:443/",
       .expected = "GET / HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
      {.name = "IPv6 in brackets with its port",
       .url = "http://[::1]:8080/",
       .expected = "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"},
      {.name = "IPv6 in brackets on the default port",
       .url = "https://[2001:db8::1]/",
       .expected = "GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"},
      {.name = "IPv4",
       .url = "http://127.0.0.1:8080/x",
       .expected = "GET /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"},
      {.name = "host lower-cased by the URL",
       .url = "http://EXAMPLE.com/",
       .expected = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      {.name = "host override",
       .url = "http://10.0.0.1:8080/",
       .host = "api.example.com",
       .expected = "GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n"},
      {.name = "host override for absolute-form",
       .url = "http://h/p",
       .form = TargetForm::absolute,
       .host = "virtual:81",
       .expected = "GET http://h/p HTTP/1.1\r\nHost: virtual:81\r\n\r\n"},
  };
  for (const WireCase& c : cases) expect_wire(c);
}

TEST(RequestWriter, FramesTheBody) {
  const WireCase cases[] = {
      {.name = "known length",
       .url = "http://h/upload",
       .method = "POST",
       .body = RequestBodyFraming::content_length,
       .content_length = 11,
       .expected = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"},
      {.name = "known length 0",
       .url = "http://h/upload",
       .method = "PUT",
       .body = RequestBodyFraming::content_length,
       .content_length = 0,
       .expected = "PUT /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"},
      {.name = "largest length",
       .url = "http://h/",
       .method = "PUT",
       .body = RequestBodyFraming::content_length,
       .content_length = std::numeric_limits<std::uint64_t>::max(),
       .expected = "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n"},
      {.name = "unknown length",
       .url = "http://h/upload",
       .method = "POST",
       .body = RequestBodyFraming::chunked,
       .expected = "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {.name = "no body: no framing field",
       .url = "http://h/",
       .method = "DELETE",
       .expected = "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n"},
      {.name = "close",
       .url = "http://h/",
       .close = true,
       .expected = "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"},
      {.name = "framing then close",
       .url = "http://h/",
       .method = "POST",
       .body = RequestBodyFraming::content_length,
       .content_length = 3,
       .close = true,
       .expected = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"},
  };
  for (const WireCase& c : cases) expect_wire(c);
}

TEST(RequestWriter, WritesCallerFieldsInOrderAfterHost) {
  Header header;
  header.add("User-Agent", "nethttp/0.1");
  header.add("Accept", "*/*");
  header.add("X-Multi", "1");
  header.add("x-multi", "2");
  header.add("X-Tab", "a\tb");
  header.add("X-Obs-Text", "caf\xc3\xa9");
  expect_wire({.name = "caller fields",
               .url = "http://h/",
               .method = "POST",
               .body = RequestBodyFraming::chunked,
               .close = true,
               .expected = "POST / HTTP/1.1\r\n"
                           "Host: h\r\n"
                           "User-Agent: nethttp/0.1\r\n"
                           "Accept: */*\r\n"
                           "X-Multi: 1\r\n"
                           "x-multi: 2\r\n"
                           "X-Tab: a\tb\r\n"
                           "X-Obs-Text: caf\xc3\xa9\r\n"
                           "Transfer-Encoding: chunked\r\n"
                           "Connection: close\r\n"
                           "\r\n"},
              &header);
}

TEST(RequestWriter, DoesNotRepeatCloseTheCallerAlreadyAskedFor) {
  Header header;
  header.add("Connection", "Upgrade, Close");
  expect_wire({.name = "caller close",
               .url = "http://h/",
               .close = true,
               .expected = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, Close\r\n\r\n"},
              &header);
}

TEST(RequestWriter, SkipsCallerFieldsItDerivesItself) {
  Header header;
  header.add("Host", "evil.example");
  header.add("X-Before", "1");
  header.add("content-length", "999");
  header.add("TRANSFER-ENCODING", "gzip");
  header.add("Transfer-Encoding", "chunked");
  header.add("X-After", "2");
  expect_wire({.name = "derived fields skipped",
               .url = "http://h/",
               .method = "POST",
               .body = RequestBodyFraming::content_length,
               .content_length = 4,
               .expected = "POST / HTTP/1.1\r\nHost: h\r\nX-Before: 1\r\nX-After: 2\r\n"
                           "Content-Length: 4\r\n\r\n"},
              &header);
  expect_wire({.name = "derived fields skipped without a body",
               .url = "http://h/",
               .expected = "GET / HTTP/1.1\r\nHost: h\r\nX-Before: 1\r\nX-After: 2\r\n\r\n"},
              &header);
}

TEST(RequestWriter, WritesOnlyTheTransportsProxyAuthorizationNeverTheCallers) {
  Header header;
  header.add("Proxy-Authorization", "Basic bGVhaw==");
  header.add("X-Kept", "1");
  const Url url = Url::parse("http://h/p").value();
  RequestHead head;
  head.url = &url;
  head.header = &header;
  std::string direct;
  ASSERT_TRUE(write_request_head(head, direct).ok());
  EXPECT_EQ(direct, "GET /p HTTP/1.1\r\nHost: h\r\nX-Kept: 1\r\n\r\n") << "sent to the origin";
  head.form = TargetForm::absolute;
  head.proxy_authorization = "Basic dTpw";
  std::string proxied;
  ASSERT_TRUE(write_request_head(head, proxied).ok());
  EXPECT_EQ(proxied,
            "GET http://h/p HTTP/1.1\r\nHost: h\r\nX-Kept: 1\r\nProxy-Authorization: Basic dTpw\r\n\r\n");
  head.proxy_authorization = "Basic x\r\nX-Evil: 1";
  std::string bad;
  EXPECT_FALSE(write_request_head(head, bad).ok());
  EXPECT_TRUE(bad.empty());
}

TEST(RequestWriter, AppendsToWhatIsAlreadyInTheOutput) {
  Result<Url> url = Url::parse("http://h/");
  ASSERT_TRUE(url.ok()) << url.error().message();
  RequestHead head;
  head.url = &*url;
  std::string out = "previous bytes|";
  ASSERT_TRUE(write_request_head(head, out).ok());
  EXPECT_EQ(out, "previous bytes|GET / HTTP/1.1\r\nHost: h\r\n\r\n");
}

struct InvalidCase {
  std::string_view name;
  std::string_view method = "GET";
  std::string_view host = "";
  std::string_view user_agent = "";
  std::string_view field_name = "X-Ok";
  std::string_view field_value = "ok";
};

TEST(RequestWriter, RejectsWhatCannotBeSentAndAppendsNothing) {
  const InvalidCase cases[] = {
      {.name = "empty method", .method = ""},
      {.name = "space in method", .method = "GE T"},
      {.name = "CRLF in method", .method = "GET\r\n"},
      {.name = "slash in method", .method = "GET/"},
      {.name = "NUL in method", .method = "G\0T"sv},
      {.name = "CR in host override", .host = "h\rx"},
      {.name = "LF in host override", .host = "h\nX-Injected: 1"},
      {.name = "NUL in host override", .host = "h\0"sv},
      {.name = "empty field name", .field_name = ""},
      {.name = "space in field name", .field_name = "Bad Name"},
      {.name = "colon in field name", .field_name = "X:Y"},
      {.name = "CR in field name", .field_name = "X\r"},
      {.name = "non-ASCII field name", .field_name = "\xc3\x84"},
      {.name = "CR in value", .field_value = "a\rb"},
      {.name = "LF in value", .field_value = "a\nb"},
      {.name = "CRLF injection in value", .field_value = "a\r\nX-Injected: 1"},
      {.name = "NUL in value", .field_value = "a\0b"sv},
      {.name = "trailing LF in value", .field_value = "a\n"},
      {.name = "SOH in value", .field_value = "a\x01b"},
      {.name = "ESC in value", .field_value = "\x1b[31m"},
      {.name = "VT in value", .field_value = "a\vb"},
      {.name = "DEL in value", .field_value = "a\x7f"},
      {.name = "CRLF in User-Agent", .user_agent = "agent\r\nX-Injected: 1"},
      {.name = "NUL in User-Agent", .user_agent = "agent\0"sv},
      {.name = "BEL in User-Agent", .user_agent = "agent\a"},
      {.name = "FF in host override", .host = "h\f"},
  };
  Result<Url> url = Url::parse("http://h/");
  ASSERT_TRUE(url.ok()) << url.error().message();
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    Header header;
    header.add("X-First", "fine");
    header.add(c.field_name, c.field_value);
    RequestHead head;
    head.method = c.method;
    head.url = &*url;
    head.host = c.host;
    head.user_agent = c.user_agent;
    head.header = &header;
    head.body = RequestBodyFraming::content_length;
    head.content_length = 1;
    std::string out = "untouched";
    Result<void> r = write_request_head(head, out);
    ASSERT_FALSE(r.ok()) << "wrote \"" << escape(out) << "\"";
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_request);
    EXPECT_EQ(out, "untouched");
  }
}

// RFC 9110 §5.5: a field value is VCHAR, obs-text, SP and HTAB.
TEST(RequestWriter, AcceptsTabsSpacesAndObsTextInValues) {
  Result<Url> url = Url::parse("http://h/");
  ASSERT_TRUE(url.ok()) << url.error().message();
  Header header;
  header.add("X-Tab", "a\tb c");
  header.add("X-Latin1", "caf\xe9 \xc3\xa4\xff");
  RequestHead head;
  head.url = &*url;
  head.header = &header;
  std::string out;
  ASSERT_TRUE(write_request_head(head, out).ok());
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: h\r\nX-Tab: a\tb c\r\nX-Latin1: caf\xe9 \xc3\xa4\xff\r\n\r\n");
}

TEST(RequestWriter, AcceptsAnyTokenAsMethod) {
  for (std::string_view method :
       {"GET"sv, "PATCH"sv, "PROPFIND"sv, "get"sv, "M-SEARCH"sv, "X!#$%&'*+.^_`|~"sv}) {
    const std::string expected = std::string(method) + " / HTTP/1.1\r\nHost: h\r\n\r\n";
    expect_wire({.name = method, .url = "http://h/", .method = method, .expected = expected});
  }
}

TEST(ChunkWriter, WritesTheSizeInLowerCaseHex) {
  const std::pair<std::uint64_t, std::string_view> cases[] = {
      {1, "1\r\n"},
      {9, "9\r\n"},
      {10, "a\r\n"},
      {15, "f\r\n"},
      {16, "10\r\n"},
      {0x1a2b, "1a2b\r\n"},
      {4096, "1000\r\n"},
      {65536, "10000\r\n"},
      {std::numeric_limits<std::uint64_t>::max(), "ffffffffffffffff\r\n"},
  };
  for (const auto& [size, expected] : cases) {
    std::string out = ">";
    write_chunk_header(size, out);
    EXPECT_EQ(out, ">" + std::string(expected)) << size;
  }
  EXPECT_EQ(kChunkEnd, "\r\n");
}

TEST(ChunkWriter, WritesTheLastChunkWithoutTrailers) {
  std::string out;
  ASSERT_TRUE(write_last_chunk(nullptr, out).ok());
  EXPECT_EQ(out, "0\r\n\r\n");
  const Header empty;
  out.clear();
  ASSERT_TRUE(write_last_chunk(&empty, out).ok());
  EXPECT_EQ(out, "0\r\n\r\n");
}

TEST(ChunkWriter, WritesTheLastChunkWithTrailers) {
  Header trailers;
  trailers.add("X-Checksum", "sha256=abc");
  trailers.add("Expires", "Wed, 21 Oct 2015 07:28:00 GMT");
  std::string out = "data\r\n";
  ASSERT_TRUE(write_last_chunk(&trailers, out).ok());
  EXPECT_EQ(out, "data\r\n0\r\nX-Checksum: sha256=abc\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n");
}

TEST(ChunkWriter, RejectsATrailerThatCannotBeSentAndAppendsNothing) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"Bad Name", "x"}, {"", "x"}, {"X", "a\r\nInjected: 1"}, {"X", "a\0"sv}, {"X", "\n"},
  };
  for (const auto& [name, value] : cases) {
    SCOPED_TRACE(escape(name) + ": " + escape(value));
    Header trailers;
    trailers.add("Good", "1");
    trailers.add(name, value);
    std::string out = "untouched";
    Result<void> r = write_last_chunk(&trailers, out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_request);
    EXPECT_EQ(out, "untouched");
  }
}

TEST(ChunkWriter, WritesWhatTheParserDecodes) {
  // The writer's chunked framing, read back by the parser as a response body.
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string data;
  for (std::size_t size : {1u, 15u, 16u, 255u, 4096u}) {
    const std::string chunk(size, static_cast<char>('a' + size % 26));
    write_chunk_header(size, wire);
    wire += chunk;
    wire += kChunkEnd;
    data += chunk;
  }
  Header trailers;
  trailers.add("X-Checksum", "abc");
  ASSERT_TRUE(write_last_chunk(&trailers, wire).ok());
  const testing::Transcript t = testing::feed_in_pieces_of(wire, 100);
  ASSERT_EQ(t.outcome, testing::Outcome::done) << t.error_message;
  EXPECT_EQ(t.body, data);
  EXPECT_EQ(t.trailers, (testing::Fields{{"X-Checksum", "abc"}}));
  EXPECT_EQ(t.leftover, "");
}

}  // namespace
}  // namespace nethttp::codec
