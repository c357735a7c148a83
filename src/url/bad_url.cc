#include "url/bad_url.h"

#include <string>
#include <string_view>
#include <utility>

#include "base/quote.h"

namespace nethttp::url {

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
  // No '@', an empty userinfo ("http://@h"), or no password before the '@'.
  if (at == std::string_view::npos || at == 0 || colon >= at - 1) return std::string(input);
  std::string out(input.substr(0, start + colon + 1));
  out += "xxxxx";
  out += input.substr(start + at);
  return out;
}

}  // namespace

Error bad_url(std::string_view detail, std::string_view input) {
  std::string message(detail);
  message += " in ";
  message += quoted(redact_password(input), kMaxQuotedBytes);
  return Error(ErrorKind::bad_url, std::move(message));
}

Error bad_url_in(std::string_view detail, std::string_view part, std::string_view input) {
  std::string message(detail);
  message += " in ";
  message += part;
  message += " of ";
  message += quoted(redact_password(input), kMaxQuotedBytes);
  return Error(ErrorKind::bad_url, std::move(message));
}

}  // namespace nethttp::url
