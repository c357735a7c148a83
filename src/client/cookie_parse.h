// Set-Cookie parsing (RFC 6265 §5.2) and the cookie-date algorithm (§5.1.1):
// pure functions, no clock, no jar.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nethttp/cookie_jar.h"

namespace nethttp::cookie {

/// Name and value together may not exceed this (RFC 6265 §6.1 asks for at
/// least 4096 bytes; RFC 6265bis §5.6 step 4 ignores larger cookies).
inline constexpr std::size_t kMaxNameValueBytes = 4096;
/// A longer attribute value is ignored (RFC 6265bis §5.6 step 5).
inline constexpr std::size_t kMaxAttributeValueBytes = 1024;

/// A Set-Cookie field value, parsed but not yet judged against a request.
/// Each attribute is the last one of its name (§5.3: "the last attribute in
/// the cookie-attribute-list").
struct SetCookie {
  std::string name;
  std::string value;
  /// Expires, in seconds since the epoch (wider than system_clock's range).
  std::optional<std::chrono::sys_seconds> expires;
  /// Max-Age in seconds, saturated to the int64 range; <= 0 means "expire now".
  std::optional<std::int64_t> max_age;
  /// Lower-cased, leading dot removed, never empty (an empty one is ignored, §5.2.3).
  std::optional<std::string> domain;
  /// Only when it starts with "/" (otherwise the default path applies, §5.2.4).
  std::optional<std::string> path;
  bool secure = false;
  bool http_only = false;
  Cookie::SameSite same_site = Cookie::SameSite::unset;
};

/// Parses one Set-Cookie field value (§5.2). None when the cookie must be
/// ignored: no '=' in the name-value pair, an empty name, a control
/// character (other than HTAB) in name or value (RFC 6265bis §5.6 step 3),
/// or name and value over kMaxNameValueBytes. Never fails otherwise:
/// malformed attributes are skipped.
[[nodiscard]] std::optional<SetCookie> parse_set_cookie(std::string_view text);

/// The cookie-date algorithm (§5.1.1): tokens in any order, two-digit years
/// 70-99 as 19xx and 0-69 as 20xx; none when a part is missing or out of
/// range, or the day does not exist in that month.
[[nodiscard]] std::optional<std::chrono::sys_seconds> parse_cookie_date(std::string_view text);

}  // namespace nethttp::cookie
