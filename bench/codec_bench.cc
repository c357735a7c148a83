// Micro-benchmarks of the sans-I/O codec: response heads, chunked bodies,
// request heads. Figures are bytes of wire data per second.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "codec/request_writer.h"
#include "codec/response_parser.h"
#include "nethttp/header.h"
#include "nethttp/url.h"

namespace nethttp::codec {
namespace {

/// A typical nginx response head (about 450 bytes).
constexpr std::string_view kHead =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.25.3\r\n"
    "Date: Tue, 21 Nov 2023 10:00:00 GMT\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: 61440\r\n"
    "Connection: keep-alive\r\n"
    "Last-Modified: Mon, 20 Nov 2023 08:15:30 GMT\r\n"
    "ETag: \"655b15c2-f000\"\r\n"
    "Accept-Ranges: bytes\r\n"
    "Cache-Control: public, max-age=3600\r\n"
    "Vary: Accept-Encoding\r\n"
    "X-Frame-Options: SAMEORIGIN\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n"
    "\r\n";

void fail(benchmark::State& state, const Error& e) {
  state.SkipWithError(e.message().c_str());
}

/// Parses kHead to its head event, as a keep-alive connection would: one
/// parser, begin() per response. The head has no obs-fold, so parse() leaves
/// the buffer as it is and it can be reused without copying.
void BM_ParseResponseHead(benchmark::State& state) {
  std::string buf(kHead);
  ResponseParser parser;
  for (auto _ : state) {
    parser.begin("GET");
    Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
    if (!r.ok() || r->event != ParseEvent::head) return fail(state, Error(ErrorKind::protocol, "no head"));
    benchmark::DoNotOptimize(r->consumed);
    benchmark::DoNotOptimize(parser.head().fields.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
  state.counters["head_bytes"] = static_cast<double>(buf.size());
}
BENCHMARK(BM_ParseResponseHead);

/// The same head arriving in pieces of N bytes, the partial head given again
/// with each new piece: shows whether rescanning stays linear.
void BM_ParseResponseHeadInPieces(benchmark::State& state) {
  const auto piece = static_cast<std::size_t>(state.range(0));
  std::string buf;
  buf.reserve(kHead.size());
  ResponseParser parser;
  for (auto _ : state) {
    parser.begin("GET");
    buf.clear();
    std::size_t fed = 0;
    for (;;) {
      const std::size_t n = std::min(piece, kHead.size() - fed);
      buf.append(kHead.substr(fed, n));
      fed += n;
      Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
      if (!r.ok()) return fail(state, r.error());
      if (r->event == ParseEvent::head) break;
      if (fed == kHead.size()) return fail(state, Error(ErrorKind::protocol, "no head"));
      buf.erase(0, r->consumed);
    }
    benchmark::DoNotOptimize(parser.head().status);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kHead.size()));
}
BENCHMARK(BM_ParseResponseHeadInPieces)->Arg(16)->Arg(128);

/// A head of N bytes arriving one byte per read: the parser remembers how far
/// it scanned, so the time per byte stays flat as N grows (rescanning the
/// partial head each time would make it grow with N).
void BM_ParseLargeHeadByteByByte(benchmark::State& state) {
  std::string head = "HTTP/1.1 200 OK\r\n";
  while (head.size() < static_cast<std::size_t>(state.range(0)))
    head += "X-Field: " + std::string(100, 'v') + "\r\n";
  head += "Content-Length: 0\r\n\r\n";
  std::string buf;
  buf.reserve(head.size());
  ResponseParser parser;
  for (auto _ : state) {
    parser.begin("GET");
    buf.clear();
    for (const char c : head) {
      buf.push_back(c);
      Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
      if (!r.ok()) return fail(state, r.error());
      if (r->event == ParseEvent::head) break;
    }
    benchmark::DoNotOptimize(parser.head().status);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * head.size()));
}
BENCHMARK(BM_ParseLargeHeadByteByByte)->Arg(4 << 10)->Arg(64 << 10);

/// Parse to the head, then copy its fields into an owning Header.
void BM_ParseResponseHeadToHeader(benchmark::State& state) {
  std::string buf(kHead);
  ResponseParser parser;
  for (auto _ : state) {
    parser.begin("GET");
    Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
    if (!r.ok() || r->event != ParseEvent::head) return fail(state, Error(ErrorKind::protocol, "no head"));
    Header header = parser.head().to_header();
    benchmark::DoNotOptimize(header.size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_ParseResponseHeadToHeader);

/// A 64 KiB body in chunks of N bytes, decoded from one buffer holding it all.
/// Bytes per second count the whole chunked coding.
void BM_ParseChunkedBody(benchmark::State& state) {
  constexpr std::size_t kBodyBytes = 64 * 1024;
  const auto chunk = static_cast<std::size_t>(state.range(0));
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::size_t head_bytes = wire.size();
  for (std::size_t done = 0; done < kBodyBytes; done += chunk) {
    write_chunk_header(chunk, wire);
    wire.append(chunk, 'x');
    wire += kChunkEnd;
  }
  if (!write_last_chunk(nullptr, wire).ok()) return fail(state, Error(ErrorKind::body, "last chunk"));
  ResponseParser parser;
  for (auto _ : state) {
    parser.begin("GET");
    std::span<char> rest(wire.data(), wire.size());
    std::uint64_t body = 0;
    for (;;) {
      Result<ParseStep> r = parser.parse(rest);
      if (!r.ok()) return fail(state, r.error());
      rest = rest.subspan(r->consumed);
      if (r->event == ParseEvent::body) body += r->body.size();
      if (r->event == ParseEvent::done) break;
      if (r->event == ParseEvent::need_more) return fail(state, Error(ErrorKind::body, "truncated"));
    }
    if (body != kBodyBytes) return fail(state, Error(ErrorKind::body, "short body"));
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (wire.size() - head_bytes)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * (kBodyBytes / chunk)));
}
BENCHMARK(BM_ParseChunkedBody)->Arg(256)->Arg(4096)->Arg(16384);

/// The same 64 KiB body in 4 KiB chunks, arriving as a connection reads it:
/// 4 KiB reads copied into a read buffer that is compacted after each step,
/// so chunk boundaries fall anywhere in a read. Counts the copying too.
void BM_ParseChunkedBodyFromReads(benchmark::State& state) {
  constexpr std::size_t kBodyBytes = 64 * 1024;
  constexpr std::size_t kChunkBytes = 4096;
  const auto read_bytes = static_cast<std::size_t>(state.range(0));
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t done = 0; done < kBodyBytes; done += kChunkBytes) {
    write_chunk_header(kChunkBytes, wire);
    wire.append(kChunkBytes, 'x');
    wire += kChunkEnd;
  }
  if (!write_last_chunk(nullptr, wire).ok()) return fail(state, Error(ErrorKind::body, "last chunk"));
  ResponseParser parser;
  std::string buf;
  buf.reserve(2 * read_bytes);
  for (auto _ : state) {
    parser.begin("GET");
    buf.clear();
    std::size_t fed = 0;
    std::uint64_t body = 0;
    for (;;) {
      Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
      if (!r.ok()) return fail(state, r.error());
      if (r->event == ParseEvent::body) body += r->body.size();
      buf.erase(0, r->consumed);
      if (r->event == ParseEvent::done) break;
      if (r->event == ParseEvent::need_more) {
        if (fed == wire.size()) return fail(state, Error(ErrorKind::body, "truncated"));
        const std::size_t n = std::min(read_bytes, wire.size() - fed);
        buf.append(wire, fed, n);
        fed += n;
      }
    }
    if (body != kBodyBytes) return fail(state, Error(ErrorKind::body, "short body"));
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
}
BENCHMARK(BM_ParseChunkedBodyFromReads)->Arg(4096)->Arg(16384);

/// A 64 KiB Content-Length body: the baseline for the chunked figures.
void BM_ParseContentLengthBody(benchmark::State& state) {
  constexpr std::size_t kBodyBytes = 64 * 1024;
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kBodyBytes) + "\r\n\r\n";
  const std::size_t head_bytes = wire.size();
  wire.append(kBodyBytes, 'x');
  ResponseParser parser;
  for (auto _ : state) {
    parser.begin("GET");
    std::span<char> rest(wire.data(), wire.size());
    for (;;) {
      Result<ParseStep> r = parser.parse(rest);
      if (!r.ok()) return fail(state, r.error());
      rest = rest.subspan(r->consumed);
      if (r->event == ParseEvent::done) break;
    }
    benchmark::DoNotOptimize(parser.body_bytes());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (wire.size() - head_bytes)));
}
BENCHMARK(BM_ParseContentLengthBody);

/// Serialises a typical GET head with a few caller fields into a reused buffer.
void BM_WriteRequestHead(benchmark::State& state) {
  Result<Url> url = Url::parse("https://api.example.com/v1/items?page=2&per_page=50");
  if (!url.ok()) return fail(state, url.error());
  Header header;
  header.add("User-Agent", "nethttp/0.1");
  header.add("Accept", "application/json");
  header.add("Accept-Encoding", "gzip");
  header.add("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc");
  header.add("X-Request-Id", "7f3c9a2e-1b4d-4e5f-8a6b-9c0d1e2f3a4b");
  RequestHead head;
  head.url = &*url;
  head.header = &header;
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    Result<void> r = write_request_head(head, out);
    if (!r.ok()) return fail(state, r.error());
    benchmark::DoNotOptimize(out.data());
    bytes += out.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["head_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_WriteRequestHead);

}  // namespace
}  // namespace nethttp::codec
