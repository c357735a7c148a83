#include "url/bad_url.h"

#include <string>
#include <string_view>
#include <utility>

#include "base/quote.h"
#include "nethttp/url.h"

namespace nethttp::url {

Error bad_url(std::string_view detail, std::string_view input) {
  std::string message(detail);
  message += " in ";
  message += quoted(redact_url_text(input), kMaxQuotedBytes);
  return Error(ErrorKind::bad_url, std::move(message));
}

Error bad_url_in(std::string_view detail, std::string_view part, std::string_view input) {
  std::string message(detail);
  message += " in ";
  message += part;
  message += " of ";
  message += quoted(redact_url_text(input), kMaxQuotedBytes);
  return Error(ErrorKind::bad_url, std::move(message));
}

}  // namespace nethttp::url
