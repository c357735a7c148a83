// The Netscape cookie file format (curl, wget): one cookie per line, seven
// tab-separated fields. Pure functions over lines; the jar does the file I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "nethttp/cookie_jar.h"

namespace nethttp::cookie {

/// What marks an HttpOnly cookie: put before the domain field (curl).
inline constexpr std::string_view kHttpOnlyPrefix = "#HttpOnly_";

/// Whether the cookie can be written as a line: no tab, CR or LF in a field.
[[nodiscard]] bool is_representable(const Cookie& cookie);

/// The line for `cookie` (no line terminator): domain (with a leading '.'
/// unless host-only), TRUE/FALSE include-subdomains, path, TRUE/FALSE secure,
/// expiry in Unix seconds (0 for a session cookie), name, value. Requires
/// is_representable(cookie).
[[nodiscard]] std::string format_netscape_line(const Cookie& cookie);

/// The cookie on one line (without its terminator; a trailing CR is
/// allowed); none for blank lines, comments and malformed lines. The result
/// has `created` and `last_access` set to `now`; an expiry of 0 gives a
/// session cookie. Domains are lower-cased; a line whose domain or path is
/// empty, whose name is empty, or whose expiry is not a number is malformed.
[[nodiscard]] std::optional<Cookie> parse_netscape_line(std::string_view line,
                                                        std::chrono::system_clock::time_point now);

}  // namespace nethttp::cookie
