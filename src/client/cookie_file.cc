#include "client/cookie_file.h"

#include <array>
#include <cstdint>
#include <limits>

#include "base/ascii.h"

namespace nethttp::cookie {
namespace {

bool has_line_breaking_byte(std::string_view s) {
  return s.find_first_of("\t\r\n") != std::string_view::npos;
}

/// Unix seconds, saturated; none unless an optional '-' and 1 to 19 digits.
std::optional<std::int64_t> parse_seconds(std::string_view s) {
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (const char c : s) {
    if (!ascii::is_digit(c)) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return negative ? -n : n;
}

}  // namespace

bool is_representable(const Cookie& cookie) {
  return !has_line_breaking_byte(cookie.domain) && !has_line_breaking_byte(cookie.path) &&
         !has_line_breaking_byte(cookie.name) && !has_line_breaking_byte(cookie.value) &&
         !cookie.domain.empty() && !cookie.path.empty() && !cookie.name.empty() &&
         cookie.domain.front() != '#';
}

std::string format_netscape_line(const Cookie& cookie) {
  std::string line;
  if (cookie.http_only) line += kHttpOnlyPrefix;
  if (!cookie.host_only) line += '.';
  line += cookie.domain;
  line += cookie.host_only ? "\tFALSE\t" : "\tTRUE\t";
  line += cookie.path;
  line += cookie.secure ? "\tTRUE\t" : "\tFALSE\t";
  if (cookie.expires) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(*cookie.expires).time_since_epoch().count();
    line += std::to_string(seconds > 0 ? seconds : 1);  // 0 would read back as a session cookie
  } else {
    line += '0';
  }
  line += '\t';
  line += cookie.name;
  line += '\t';
  line += cookie.value;
  return line;
}

std::optional<Cookie> parse_netscape_line(std::string_view line, std::chrono::system_clock::time_point now) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  bool http_only = false;
  if (line.starts_with(kHttpOnlyPrefix)) {
    http_only = true;
    line.remove_prefix(kHttpOnlyPrefix.size());
  } else if (line.empty() || line.front() == '#') {
    return std::nullopt;
  }

  std::array<std::string_view, 7> fields;
  std::size_t count = 0;
  while (count < fields.size()) {
    const std::size_t tab = line.find('\t');
    // The value is the rest of the line; curl also accepts it missing (empty).
    if (count == fields.size() - 1 || tab == std::string_view::npos) {
      fields[count++] = line;
      break;
    }
    fields[count++] = line.substr(0, tab);
    line.remove_prefix(tab + 1);
  }
  if (count == 6) fields[count++] = std::string_view();  // "name" with no value field
  if (count != fields.size()) return std::nullopt;
  // The jar refuses control bytes in a Set-Cookie (RFC 6265bis §5.6); from a
  // file they would fail every request to the domain.
  for (const std::string_view field : fields)
    if (ascii::find_control_but_tab(field) != std::string_view::npos) return std::nullopt;

  std::string_view domain = fields[0];
  const std::string_view subdomains = fields[1];
  if (!domain.empty() && domain.front() == '.') domain.remove_prefix(1);
  if (domain.empty() || fields[2].empty() || fields[2].front() != '/' || fields[5].empty())
    return std::nullopt;
  const auto expiry = parse_seconds(fields[4]);
  if (!expiry) return std::nullopt;

  Cookie cookie;
  cookie.domain = ascii::lowered(domain);
  cookie.host_only = !ascii::iequals(subdomains, "TRUE");
  cookie.path = std::string(fields[2]);
  cookie.secure = ascii::iequals(fields[3], "TRUE");
  cookie.http_only = http_only;
  cookie.name = std::string(fields[5]);
  cookie.value = std::string(fields[6]);
  if (*expiry != 0) {
    // Saturate to what system_clock can hold; the jar caps it further.
    using Seconds = std::chrono::seconds;
    const auto max_s =
        std::chrono::duration_cast<Seconds>(std::chrono::system_clock::duration::max()).count() - 1;
    const auto min_s =
        std::chrono::duration_cast<Seconds>(std::chrono::system_clock::duration::min()).count() + 1;
    const std::int64_t clamped = *expiry > max_s ? max_s : (*expiry < min_s ? min_s : *expiry);
    cookie.expires = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(Seconds(clamped)));
  }
  cookie.created = now;
  cookie.last_access = now;
  return cookie;
}

}  // namespace nethttp::cookie
