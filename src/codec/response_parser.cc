#include "codec/response_parser.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <string>

#include "base/ascii.h"
#include "base/quote.h"
#include "codec/field_list.h"

namespace nethttp::codec {
namespace {

constexpr std::size_t kNotFound = std::string_view::npos;
/// Chunk framing allowed per byte of chunk data, beyond
/// ParserLimits::max_chunk_overhead_bytes (one-byte chunks need 5).
constexpr std::uint64_t kChunkOverheadPerDataByte = 16;

/// Bytes that may not appear in a field value or reason phrase: NUL, and CR
/// or LF other than as the line ending (RFC 9110 §5.5, RFC 9112 §2.2).
constexpr std::array<bool, 256> make_forbidden_in_value() {
  std::array<bool, 256> t{};
  t['\0'] = true;
  t['\r'] = true;
  t['\n'] = true;
  return t;
}
constexpr std::array<bool, 256> kForbiddenInValue = make_forbidden_in_value();

/// The first byte of `s` that may not be in a field value, or kNotFound.
std::size_t find_forbidden_in_value(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (kForbiddenInValue[static_cast<unsigned char>(s[i])]) return i;
  return kNotFound;
}

std::string_view describe_forbidden(char c) {
  return c == '\0' ? "NUL" : c == '\r' ? "bare CR" : "bare LF";
}

/// Finds the end of a header (or trailer) section: the index just past the
/// first empty line, or kNotFound. Lines end in LF or CRLF (RFC 9112 §2.2
/// lets a recipient accept a bare LF). `scanned` is where the previous call
/// stopped and is updated, so feeding a section in pieces scans it once; a
/// line start is recognised by the LF before it, which the caller keeps.
std::size_t find_section_end(std::string_view s, std::size_t& scanned) {
  std::size_t p = scanned;
  for (;;) {
    if (p == 0 || s[p - 1] == '\n') {
      if (p == s.size()) break;
      if (s[p] == '\n') return p + 1;
      if (s[p] == '\r') {
        if (p + 1 == s.size()) break;
        if (s[p + 1] == '\n') return p + 2;
      }
    }
    const void* lf = std::memchr(s.data() + p, '\n', s.size() - p);
    if (lf == nullptr) {
      p = s.size();
      break;
    }
    p = static_cast<std::size_t>(static_cast<const char*>(lf) - s.data()) + 1;
  }
  scanned = p;
  return kNotFound;
}

/// The line starting at `p` without its line ending; `next` is set to the
/// start of the following line. The section is known to end in LF.
std::string_view line_at(std::string_view section, std::size_t p, std::size_t& next) {
  const std::size_t lf = section.find('\n', p);
  assert(lf != kNotFound);
  next = lf + 1;
  std::size_t end = lf;
  if (end > p && section[end - 1] == '\r') --end;
  return section.substr(p, end - p);
}

/// Parses the field lines of a section from `p` to its empty line into
/// `fields` (RFC 9112 §5). An obs-fold line (starting with SP or HTAB)
/// continues the previous value: its line break is overwritten with spaces in
/// place (§5.2 asks user agents to replace obs-fold with SP), so the value
/// stays one view. Errors are of `kind`, their messages start with `what`.
Result<void> parse_field_lines(std::span<char> section, std::size_t p, std::vector<FieldView>& fields,
                               ErrorKind kind, std::string_view what) {
  const std::string_view text(section.data(), section.size());
  auto fail = [&](const std::string& message) { return Error(kind, std::string(what) + ": " + message); };
  for (;;) {
    std::size_t next = 0;
    const std::string_view line = line_at(text, p, next);
    if (line.empty()) return {};
    if (ascii::is_ows(line.front())) {
      // §2.2: whitespace before the first field line is rejected, not guessed at.
      if (fields.empty()) return fail("line starting with whitespace before the first field " + quoted(line));
      if (const std::size_t bad = find_forbidden_in_value(line); bad != kNotFound)
        return fail(std::string(describe_forbidden(line[bad])) + " in field value " + quoted(line));
      FieldView& last = fields.back();
      const auto value_begin = static_cast<std::size_t>(last.value.data() - text.data());
      const auto line_end = static_cast<std::size_t>(line.data() - text.data()) + line.size();
      for (std::size_t i = value_begin; i < static_cast<std::size_t>(line.data() - text.data()); ++i)
        if (section[i] == '\r' || section[i] == '\n') section[i] = ' ';
      last.value = ascii::trim_ows(text.substr(value_begin, line_end - value_begin));
    } else {
      const std::size_t colon = line.find(':');
      if (colon == kNotFound) return fail("field line without a colon " + quoted(line));
      const std::string_view name = line.substr(0, colon);
      if (name.empty()) return fail("empty field name in " + quoted(line));
      if (!ascii::is_token(name)) {
        // §5.1: no whitespace is allowed between the field name and colon.
        if (ascii::is_ows(name.back())) return fail("whitespace before the colon in " + quoted(line));
        return fail("invalid field name " + quoted(name));
      }
      const std::string_view raw_value = line.substr(colon + 1);
      if (const std::size_t bad = find_forbidden_in_value(raw_value); bad != kNotFound)
        return fail(std::string(describe_forbidden(raw_value[bad])) + " in the value of " + quoted(name));
      std::string_view value = ascii::trim_ows(raw_value);
      // An empty value's view still points into its line, for obs-fold.
      if (value.empty()) value = raw_value.substr(raw_value.size());
      fields.push_back(FieldView{name, value});
    }
    p = next;
  }
}

}  // namespace

bool ResponseHead::persistent() const noexcept {
  // RFC 9112 §9.3: "close" ends it; HTTP/1.1 persists by default; HTTP/1.0
  // only with "keep-alive".
  if (connection_close) return false;
  return version_minor >= 1 || connection_keep_alive;
}

Header ResponseHead::to_header() const {
  Header header;
  header.reserve(fields.size());
  for (const FieldView& f : fields) header.add(f.name, f.value);
  return header;
}

void ResponseParser::begin(std::string_view request_method) {
  request_method_.assign(request_method);
  state_ = State::head;
  head_.version_minor = 1;
  head_.status = 0;
  head_.reason = {};
  head_.fields.clear();
  head_.connection_close = false;
  head_.connection_keep_alive = false;
  head_.framing = Framing{};
  trailers_.clear();
  scanned_ = 0;
  interim_bytes_ = 0;
  remaining_ = 0;
  body_bytes_ = 0;
  chunk_line_.reset();
  chunk_overhead_ = 0;
  chunk_end_seen_ = 0;
  head_bytes_seen_ = 0;
}

Result<ParseStep> ResponseParser::parse(std::span<char> input) {
  std::size_t used = 0;
  for (;;) {
    const std::span<char> rest = input.subspan(used);
    const std::string_view text(rest.data(), rest.size());
    switch (state_) {
      case State::head: assert(used == 0); return parse_head(rest);
      case State::length_body:
      case State::chunk_data:
      case State::until_close_body: {
        if (text.empty()) return ParseStep{ParseEvent::need_more, used, {}};
        ParseStep step = take_body(text);
        step.consumed += used;
        return step;
      }
      case State::chunk_size: {
        Result<std::size_t> n = chunk_line_.feed(text);
        if (!n) return std::move(n).error();
        used += *n;
        if (!chunk_line_.complete()) return ParseStep{ParseEvent::need_more, used, {}};
        // The line, and the CRLF that will end its data.
        chunk_overhead_ += chunk_line_.line_bytes() + 2;
        if (chunk_overhead_ > limits_.max_chunk_overhead_bytes + kChunkOverheadPerDataByte * body_bytes_) {
          return Error(ErrorKind::body, "malformed chunked body: " + std::to_string(chunk_overhead_) +
                                            " bytes of chunk framing for " + std::to_string(body_bytes_) +
                                            " bytes of data (more than " +
                                            std::to_string(kChunkOverheadPerDataByte) + " per data byte + " +
                                            std::to_string(limits_.max_chunk_overhead_bytes) + ")");
        }
        if (chunk_line_.size() == 0) {
          state_ = State::trailers;
          scanned_ = 0;
        } else {
          state_ = State::chunk_data;
          remaining_ = chunk_line_.size();
        }
        chunk_line_.reset();
        continue;
      }
      case State::chunk_data_end: {
        // RFC 9112 §7.1: chunk data ends with CRLF, exactly.
        for (; chunk_end_seen_ < 2 && used < input.size(); ++used, ++chunk_end_seen_) {
          if (input[used] != (chunk_end_seen_ == 0 ? '\r' : '\n'))
            return Error(ErrorKind::body, "malformed chunked body: chunk data not followed by CRLF");
        }
        if (chunk_end_seen_ < 2) return ParseStep{ParseEvent::need_more, used, {}};
        chunk_end_seen_ = 0;
        state_ = State::chunk_size;
        continue;
      }
      case State::trailers: {
        Result<ParseStep> step = parse_trailers(rest);
        if (step) step->consumed += used;
        return step;
      }
      case State::done: return ParseStep{ParseEvent::done, used, {}};
    }
  }
}

Result<ParseStep> ResponseParser::parse_head(std::span<char> input) {
  const std::string_view text(input.data(), input.size());
  head_bytes_seen_ = text.size();
  // A peer that does not speak HTTP (an SSH or SMTP banner, then silence)
  // is told apart at its first bytes, not after a head that never ends.
  constexpr std::string_view kVersionPrefix = "HTTP/";
  if (!kVersionPrefix.starts_with(text.substr(0, kVersionPrefix.size())))
    return Error(ErrorKind::protocol, "malformed status line " + quoted(text.substr(0, text.find('\n'))));
  const std::size_t allowed = limits_.max_header_bytes - std::min(interim_bytes_, limits_.max_header_bytes);
  const std::size_t end = find_section_end(text, scanned_);
  if ((end == kNotFound ? text.size() : end) > allowed) {
    return Error(ErrorKind::header_too_large,
                 "response head exceeds " + std::to_string(limits_.max_header_bytes) + " bytes");
  }
  if (end == kNotFound) return ParseStep{ParseEvent::need_more, 0, {}};
  scanned_ = 0;

  // Status line (RFC 9112 §4): HTTP-version SP 3DIGIT SP [ reason-phrase ].
  std::size_t fields_start = 0;
  const std::string_view line = line_at(text, 0, fields_start);
  if (!line.starts_with("HTTP/")) return Error(ErrorKind::protocol, "malformed status line " + quoted(line));
  if (line.size() < 8 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') ||
      (line.size() > 8 && line[8] != ' '))
    return Error(ErrorKind::protocol, "unsupported HTTP version in status line " + quoted(line));
  const bool has_status = line.size() >= 12 && ascii::is_digit(line[9]) && line[9] != '0' &&
                          ascii::is_digit(line[10]) && ascii::is_digit(line[11]) &&
                          (line.size() == 12 || line[12] == ' ');
  if (!has_status) return Error(ErrorKind::protocol, "malformed status code in status line " + quoted(line));
  const std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (const std::size_t bad = find_forbidden_in_value(reason); bad != kNotFound) {
    return Error(ErrorKind::protocol,
                 std::string(describe_forbidden(reason[bad])) + " in status line " + quoted(line));
  }

  head_.version_minor = line[7] - '0';
  head_.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  head_.reason = reason;
  head_.fields.clear();
  head_.connection_close = false;
  head_.connection_keep_alive = false;
  head_.framing = Framing{};
  if (Result<void> ok = parse_field_lines(input.first(end), fields_start, head_.fields, ErrorKind::protocol,
                                          "malformed response head");
      !ok)
    return std::move(ok).error();

  // 1xx other than 101 (RFC 9110 §15.2): reported, then the final response follows.
  if (head_.status < 200 && head_.status != 101) {
    interim_bytes_ += end;
    head_bytes_seen_ = 0;
    return ParseStep{ParseEvent::interim, end, {}};
  }

  if (Result<void> ok = read_head_fields(); !ok) return std::move(ok).error();
  switch (head_.framing.kind) {
    case BodyFraming::none:
    case BodyFraming::tunnel: state_ = State::done; break;
    case BodyFraming::content_length:
      remaining_ = head_.framing.content_length;
      state_ = remaining_ == 0 ? State::done : State::length_body;
      break;
    case BodyFraming::chunked: state_ = State::chunk_size; break;
    case BodyFraming::until_close: state_ = State::until_close_body; break;
  }
  return ParseStep{ParseEvent::head, end, {}};
}

Result<void> ResponseParser::read_head_fields() {
  framing_input_.request_method = request_method_;
  framing_input_.status = head_.status;
  framing_input_.version_minor = head_.version_minor;
  framing_input_.transfer_encoding.clear();
  framing_input_.content_length.clear();
  for (const FieldView& f : head_.fields) {
    if (ascii::iequals(f.name, "connection")) {
      // RFC 9112 §9.6 ("close") and §9.3 ("keep-alive" for HTTP/1.0).
      for_each_list_member(f.value, [&](std::string_view token) {
        if (ascii::iequals(token, "close")) head_.connection_close = true;
        if (ascii::iequals(token, "keep-alive")) head_.connection_keep_alive = true;
      });
    } else if (ascii::iequals(f.name, "transfer-encoding")) {
      framing_input_.transfer_encoding.push_back(f.value);
    } else if (ascii::iequals(f.name, "content-length")) {
      framing_input_.content_length.push_back(f.value);
    }
  }
  Result<Framing> framing = decide_framing(framing_input_);
  if (!framing) return std::move(framing).error();
  head_.framing = *framing;
  return {};
}

Result<ParseStep> ResponseParser::parse_trailers(std::span<char> input) {
  const std::string_view text(input.data(), input.size());
  const std::size_t end = find_section_end(text, scanned_);
  if ((end == kNotFound ? text.size() : end) > limits_.max_trailer_bytes) {
    return Error(ErrorKind::header_too_large,
                 "response trailers exceed " + std::to_string(limits_.max_trailer_bytes) + " bytes");
  }
  if (end == kNotFound) return ParseStep{ParseEvent::need_more, 0, {}};
  scanned_ = 0;
  // The whole chunked coding, trailer section included, ends its lines in
  // CRLF (RFC 9112 §7.1): no bare-LF leniency inside a body.
  for (std::size_t lf = text.find('\n'); lf < end; lf = text.find('\n', lf + 1)) {
    if (lf == 0 || text[lf - 1] != '\r') {
      return Error(ErrorKind::body, "malformed chunked body: bare LF in the trailer section");
    }
  }
  trailers_.clear();
  if (Result<void> ok = parse_field_lines(input.first(end), 0, trailers_, ErrorKind::body,
                                          "malformed chunked body trailers");
      !ok)
    return std::move(ok).error();
  state_ = State::done;
  return ParseStep{ParseEvent::done, end, {}};
}

ParseStep ResponseParser::take_body(std::string_view input) {
  std::size_t n = input.size();
  if (state_ != State::until_close_body) {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
    remaining_ -= n;
    if (remaining_ == 0) state_ = state_ == State::length_body ? State::done : State::chunk_data_end;
  }
  body_bytes_ += n;
  return ParseStep{ParseEvent::body, n, input.substr(0, n)};
}

Result<ParseStep> ResponseParser::finish() {
  switch (state_) {
    case State::head:
      if (head_bytes_seen_ > 0) {
        return Error(ErrorKind::io, "connection closed by peer inside the response head after " +
                                        std::to_string(head_bytes_seen_) + " bytes");
      }
      if (interim_bytes_ > 0)
        return Error(ErrorKind::io, "connection closed by peer after an interim (1xx) response");
      return Error(ErrorKind::io, "connection closed by peer before any response byte");
    case State::length_body:
      return Error(ErrorKind::body, "connection closed by peer after " + std::to_string(body_bytes_) +
                                        " of " + std::to_string(head_.framing.content_length) +
                                        " body bytes");
    case State::chunk_size:
    case State::chunk_data:
    case State::chunk_data_end:
    case State::trailers:
      return Error(ErrorKind::body, "connection closed by peer inside a chunked body after " +
                                        std::to_string(body_bytes_) + " body bytes");
    case State::until_close_body: state_ = State::done; return ParseStep{ParseEvent::done, 0, {}};
    case State::done: return ParseStep{ParseEvent::done, 0, {}};
  }
  return ParseStep{ParseEvent::done, 0, {}};
}

}  // namespace nethttp::codec
