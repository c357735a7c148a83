#include "url/bad_url.h"

#include <string>
#include <string_view>
#include <utility>

namespace nethttp::url {

std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool truncated = text.size() > kMaxQuotedBytes;
  if (truncated) text = text.substr(0, kMaxQuotedBytes);
  std::string out;
  out.reserve(text.size() + 5);
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  if (truncated) out += "...";
  out += '"';
  return out;
}

namespace {

/// `input` with the password of its userinfo, if it has one, replaced by
/// "xxxxx" (as Url::redacted()): messages get logged, credentials must not.
/// Best effort on text that did not parse: "scheme://user:password@".
std::string redact_password(std::string_view input) {
  const std::size_t scheme_end = input.find("://");
  if (scheme_end == std::string_view::npos) return std::string(input);
  const std::size_t start = scheme_end + 3;
  const std::string_view authority = input.substr(start, input.find_first_of("/?#", start) - start);
  const std::size_t at = authority.rfind('@');
  const std::size_t colon = authority.find(':');
  if (at == std::string_view::npos || colon >= at - 1) return std::string(input);
  std::string out(input.substr(0, start + colon + 1));
  out += "xxxxx";
  out += input.substr(start + at);
  return out;
}

}  // namespace

Error bad_url(std::string_view detail, std::string_view input) {
  std::string message(detail);
  message += " in ";
  message += quote(redact_password(input));
  return Error(ErrorKind::bad_url, std::move(message));
}

Error bad_url_in(std::string_view detail, std::string_view part, std::string_view input) {
  std::string message(detail);
  message += " in ";
  message += part;
  message += " of ";
  message += quote(redact_password(input));
  return Error(ErrorKind::bad_url, std::move(message));
}

}  // namespace nethttp::url
