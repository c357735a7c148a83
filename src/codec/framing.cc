#include "codec/framing.h"

#include <limits>
#include <optional>
#include <string>

#include "base/ascii.h"
#include "base/quote.h"
#include "codec/field_list.h"

namespace nethttp::codec {
namespace {

/// The members of the comma-separated lists in `values`: how many name
/// "chunked", and the first that names another coding.
struct CodingList {
  int chunked_count = 0;
  std::string_view other;
};

CodingList scan_codings(const std::vector<std::string_view>& values) {
  CodingList list;
  for (const std::string_view value : values) {
    for_each_list_member(value, [&](std::string_view member) {
      if (ascii::iequals(member, "chunked")) {
        ++list.chunked_count;
      } else if (list.other.empty()) {
        list.other = member;
      }
    });
  }
  return list;
}

std::optional<std::uint64_t> parse_decimal(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : digits) {
    if (!ascii::is_digit(c)) return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

}  // namespace

// Members are split by hand: Content-Length is one value that senders may
// repeat (RFC 9110 §8.6), not a list, so an empty member is invalid here.
Result<std::uint64_t> parse_content_length(const std::vector<std::string_view>& values) {
  std::optional<std::uint64_t> length;
  for (const std::string_view value : values) {
    std::string_view rest = value;
    for (;;) {
      const std::size_t comma = rest.find(',');
      const std::optional<std::uint64_t> n = parse_decimal(ascii::trim_ows(rest.substr(0, comma)));
      if (!n) return Error(ErrorKind::protocol, "invalid Content-Length " + quoted(value));
      if (length && *length != *n) {
        return Error(ErrorKind::protocol, "conflicting Content-Length values " + std::to_string(*length) +
                                              " and " + std::to_string(*n));
      }
      length = n;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (!length) return Error(ErrorKind::protocol, "no Content-Length value");
  return *length;
}

Result<Framing> decide_framing(const FramingInput& in) {
  // §6.3 item 1: responses to HEAD, and 1xx, 204 and 304 responses, end at
  // the empty line after the header section whatever their fields say.
  if (in.request_method == "HEAD" || (in.status >= 100 && in.status < 200) || in.status == 204 ||
      in.status == 304)
    return Framing{BodyFraming::none};

  // §6.3 item 2: a 2xx to CONNECT turns the connection into a tunnel.
  if (in.request_method == "CONNECT" && in.status >= 200 && in.status < 300)
    return Framing{BodyFraming::tunnel};

  if (!in.transfer_encoding.empty()) {
    // §6.3 item 3: Transfer-Encoding overrides Content-Length, but the pair
    // may be a smuggling attempt, so the connection is closed afterwards.
    // §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    const bool ambiguous = !in.content_length.empty() || in.version_minor == 0;
    const CodingList codings = scan_codings(in.transfer_encoding);
    // A body in a transfer coding the client cannot undo (gzip, compress...)
    // would reach the caller still coded, with nothing to say so: as Go,
    // only chunked is accepted. (§6.3 item 4 would read a body not ending
    // in chunked until close.)
    if (!codings.other.empty()) {
      return Error(ErrorKind::protocol, "unsupported transfer coding " + quoted(codings.other) +
                                            " in Transfer-Encoding (only chunked)");
    }
    if (codings.chunked_count == 0) return Error(ErrorKind::protocol, "empty Transfer-Encoding");
    // §6.1: chunked must not be applied more than once.
    if (codings.chunked_count > 1)
      return Error(ErrorKind::protocol, "chunked applied more than once in Transfer-Encoding");
    return Framing{BodyFraming::chunked, 0, ambiguous};
  }

  // §6.3 items 5 and 6: a valid Content-Length gives the exact length.
  if (!in.content_length.empty()) {
    Result<std::uint64_t> length = parse_content_length(in.content_length);
    if (!length) return std::move(length).error();
    return Framing{BodyFraming::content_length, *length};
  }

  // §6.3 item 8: otherwise a response body runs until the server closes.
  return Framing{BodyFraming::until_close};
}

}  // namespace nethttp::codec
