// Building ErrorKind::bad_url errors that quote the offending input safely.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/quote.h"
#include "nethttp/error.h"

namespace nethttp::url {

/// Longest piece of input quoted in a message: URLs can be megabytes long and
/// messages end up in logs, so longer input is cut and marked with "...".
inline constexpr std::size_t kMaxQuotedBytes = 100;

/// `text` quoted for a message (base/quote.h), cut at kMaxQuotedBytes.
[[nodiscard]] inline std::string quote(std::string_view text) {
  return quoted(text, kMaxQuotedBytes);
}

/// A bad_url error reading `<detail> in "<input>"`, the input quoted with any
/// password in it replaced by "xxxxx".
[[nodiscard]] Error bad_url(std::string_view detail, std::string_view input);

/// A bad_url error reading `<detail> in <part> of "<input>"`, e.g.
/// `invalid percent-encoding "%zz" in path of "http://a/%zz"`.
[[nodiscard]] Error bad_url_in(std::string_view detail, std::string_view part, std::string_view input);

}  // namespace nethttp::url
