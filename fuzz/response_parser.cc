// Fuzzes codec::ResponseParser. The first byte chooses the request method,
// the second split pattern, the limits and whether EOF follows; the rest is
// what the server sent. The bytes are fed once whole and once split; both
// runs must tell the same story, and every step must keep the parser's
// contract (consumed within the input, views into it, clean field names and
// values, bodies no longer than their framing allows). Any breach traps.
//
// Self-contained (no tests/support): libFuzzer builds with clang, and the
// corpus replay program builds the same file with g++.
#include "codec/response_parser.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"

namespace {

using nethttp::Result;
using nethttp::codec::BodyFraming;
using nethttp::codec::FieldView;
using nethttp::codec::ParseEvent;
using nethttp::codec::ParserLimits;
using nethttp::codec::ParseStep;
using nethttp::codec::ResponseHead;
using nethttp::codec::ResponseParser;

/// Responses parsed from one input (keep-alive reuse through begin()).
constexpr int kMaxResponses = 4;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool is_inside(std::string_view view, const std::string& buf, std::size_t size) {
  if (view.empty()) return true;
  const auto lo = reinterpret_cast<std::uintptr_t>(buf.data());
  const auto p = reinterpret_cast<std::uintptr_t>(view.data());
  return p >= lo && p + view.size() <= lo + size;
}

/// Field names are tokens; values have no CR, LF or NUL and no surrounding whitespace.
void check_fields(const std::vector<FieldView>& fields, const std::string& buf, std::string& log) {
  for (const FieldView& f : fields) {
    check(is_inside(f.name, buf, buf.size()) && is_inside(f.value, buf, buf.size()));
    check(nethttp::ascii::is_token(f.name));
    check(f.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    check(nethttp::ascii::trim_ows(f.value).size() == f.value.size());
    log.append(f.name).append(":").append(f.value).append("\n");
  }
}

void log_head(const ResponseHead& h, std::string& log) {
  check(h.version_minor == 0 || h.version_minor == 1);
  check(h.status >= 0 && h.status <= 999);
  log += "HTTP/1." + std::to_string(h.version_minor) + " " + std::to_string(h.status) + " ";
  log.append(h.reason).append("\n");
  log += "framing " + std::to_string(static_cast<int>(h.framing.kind)) + " " +
         std::to_string(h.framing.content_length) + (h.framing.ambiguous ? " ambiguous" : "") +
         (h.connection_close ? " close" : "") + (h.connection_keep_alive ? " keep-alive" : "") +
         (h.persistent() ? " persistent\n" : "\n");
}

/// Feeds `pieces` through one parser and returns everything it reported that
/// must not depend on the split.
std::string run(std::string_view method, const ParserLimits& limits,
                const std::vector<std::string_view>& pieces, bool finish_at_eof) {
  std::size_t total = 0;
  for (std::string_view p : pieces) total += p.size();
  const std::size_t max_steps = 8 * total + 4 * pieces.size() + 64 * kMaxResponses;
  std::size_t steps = 0;
  std::size_t next = 0;
  std::string buf;
  std::string log;
  ResponseParser parser(limits);
  for (int response = 0; response < kMaxResponses; ++response) {
    parser.begin(method);
    bool have_head = false;
    BodyFraming framing = BodyFraming::none;
    std::uint64_t length = 0;
    std::string body;
    for (;;) {
      check(++steps <= max_steps);  // no progress: a loop
      Result<ParseStep> r = parser.parse(std::span<char>(buf.data(), buf.size()));
      bool at_eof = false;
      if (r.ok() && r->event == ParseEvent::need_more) {
        check(r->consumed <= buf.size());
        buf.erase(0, r->consumed);
        if (next < pieces.size()) {
          buf.append(pieces[next++]);
          continue;
        }
        if (!finish_at_eof) {
          log += "need_more\n";
          return log + "body " + body + "\n";
        }
        r = parser.finish();
        at_eof = true;
        check(!r.ok() || r->event == ParseEvent::done);
      }
      if (!r.ok()) {
        log += "error " + std::string(nethttp::to_string(r.error().kind())) + "\n";
        return log + "body " + body + "\n";
      }
      const ParseStep step = *r;
      check(step.consumed <= buf.size());
      check(step.event == ParseEvent::body || step.body.empty());
      switch (step.event) {
        case ParseEvent::interim:
          check(!have_head);
          check(parser.head().status >= 100 && parser.head().status <= 199 && parser.head().status != 101);
          log += "interim ";
          log_head(parser.head(), log);
          check_fields(parser.head().fields, buf, log);
          break;
        case ParseEvent::head:
          check(!have_head);
          have_head = true;
          framing = parser.head().framing.kind;
          length = parser.head().framing.content_length;
          check(is_inside(parser.head().reason, buf, buf.size()));
          log += "head ";
          log_head(parser.head(), log);
          check_fields(parser.head().fields, buf, log);
          break;
        case ParseEvent::body:
          check(have_head && framing != BodyFraming::none && framing != BodyFraming::tunnel);
          check(is_inside(step.body, buf, step.consumed));
          body.append(step.body);
          check(framing != BodyFraming::content_length || body.size() <= length);
          break;
        case ParseEvent::done:
          check(have_head && parser.is_done());
          check(parser.body_bytes() == body.size());
          check(framing != BodyFraming::content_length || body.size() == length);
          check(framing != BodyFraming::chunked || at_eof == false);
          log += "trailers\n";
          check_fields(parser.trailers(), buf, log);
          break;
        case ParseEvent::need_more: break;
      }
      buf.erase(0, step.consumed);
      if (step.event == ParseEvent::done) break;
    }
    log += "done body " + body + "\n";
  }
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "CONNECT", "POST"};
  const std::string_view method = kMethods[data[0] & 3];
  const bool finish_at_eof = (data[0] & 4) == 0;
  ParserLimits limits;
  if ((data[0] & 8) == 0) {  // small limits, so fuzzing reaches them
    limits.max_header_bytes = 512;
    limits.max_trailer_bytes = 128;
    limits.max_chunk_line_bytes = 32;
  }
  const std::uint8_t pattern = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  std::vector<std::string_view> split;
  if (pattern < 64) {  // pieces of 1..64 bytes
    const std::size_t n = std::size_t{pattern} + 1;
    for (std::size_t i = 0; i < input.size(); i += n) split.push_back(input.substr(i, n));
  } else if (pattern < 128) {  // growing pieces: 1, 2, 3, ...
    std::size_t n = 1;
    for (std::size_t i = 0; i < input.size(); i += n++) split.push_back(input.substr(i, n));
  } else {  // two pieces, cut at a point chosen by the pattern byte
    const std::size_t at = input.size() * (pattern - 128u) / 127u;
    split.push_back(input.substr(0, at));
    split.push_back(input.substr(at));
  }

  const std::string whole = run(method, limits, {input}, finish_at_eof);
  const std::string pieces = run(method, limits, split, finish_at_eof);
  check(whole == pieces);
  return 0;
}
