#include "client/cookie_parse.h"

#include <array>
#include <limits>

#include "base/ascii.h"

namespace nethttp::cookie {
namespace {

/// WSP (SP / HTAB) trimmed from both ends, as §5.2 asks for names and values.
std::string_view trim(std::string_view s) {
  return ascii::trim_ows(s);
}

/// A control character other than HTAB (RFC 6265bis §5.6 step 3).
bool has_forbidden_control(std::string_view s) {
  return ascii::find_control_but_tab(s) != std::string_view::npos;
}

/// A cookie-date delimiter (§5.1.1): %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E.
bool is_date_delimiter(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b == 0x09 || (b >= 0x20 && b <= 0x2f) || (b >= 0x3b && b <= 0x40) || (b >= 0x5b && b <= 0x60) ||
         (b >= 0x7b && b <= 0x7e);
}

/// Reads 1 to `max_digits` digits at `pos`; the text after them must be empty
/// or start with a non-digit. Returns the number and advances `pos`.
std::optional<int> read_digits(std::string_view token, std::size_t& pos, std::size_t min_digits,
                               std::size_t max_digits) {
  std::size_t n = 0;
  int value = 0;
  while (pos + n < token.size() && ascii::is_digit(token[pos + n])) {
    if (n == max_digits) return std::nullopt;  // too many digits
    value = value * 10 + (token[pos + n] - '0');
    ++n;
  }
  if (n < min_digits) return std::nullopt;
  pos += n;
  return value;
}

/// time = hms-time ( non-digit *OCTET ); hms-time = time-field ":" time-field ":" time-field.
bool parse_time(std::string_view token, int& hour, int& minute, int& second) {
  std::size_t pos = 0;
  const auto h = read_digits(token, pos, 1, 2);
  if (!h || pos >= token.size() || token[pos] != ':') return false;
  ++pos;
  const auto m = read_digits(token, pos, 1, 2);
  if (!m || pos >= token.size() || token[pos] != ':') return false;
  ++pos;
  const auto s = read_digits(token, pos, 1, 2);
  if (!s) return false;
  hour = *h;
  minute = *m;
  second = *s;
  return true;
}

/// `min`..`max` digits, then nothing or a non-digit: day-of-month and year.
std::optional<int> parse_number_token(std::string_view token, std::size_t min_digits,
                                      std::size_t max_digits) {
  std::size_t pos = 0;
  return read_digits(token, pos, min_digits, max_digits);
}

/// month = ( "jan" / ... / "dec" ) *OCTET, case-insensitive; 1-12.
std::optional<unsigned> parse_month(std::string_view token) {
  static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                               "jul", "aug", "sep", "oct", "nov", "dec"};
  if (token.size() < 3) return std::nullopt;
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (ascii::iequals(token.substr(0, 3), kMonths[i])) return static_cast<unsigned>(i + 1);
  return std::nullopt;
}

/// Max-Age (§5.2.2): an optional '-' then digits; anything else is ignored.
/// Saturates instead of overflowing.
std::optional<std::int64_t> parse_max_age(std::string_view value) {
  bool negative = false;
  if (!value.empty() && value.front() == '-') {
    negative = true;
    value.remove_prefix(1);
  }
  if (value.empty()) return std::nullopt;
  std::int64_t n = 0;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  for (const char c : value) {
    if (!ascii::is_digit(c)) return std::nullopt;
    const int digit = c - '0';
    n = n > (kMax - digit) / 10 ? kMax : n * 10 + digit;
  }
  return negative ? -n : n;
}

/// Applies one cookie-av (§5.2.1-§5.2.6, RFC 6265bis §5.6.7) to `cookie`.
void apply_attribute(std::string_view av, SetCookie& cookie) {
  std::string_view name = av;
  std::string_view value;
  if (const std::size_t eq = av.find('='); eq != std::string_view::npos) {
    name = av.substr(0, eq);
    value = av.substr(eq + 1);
  }
  name = trim(name);
  value = trim(value);
  if (value.size() > kMaxAttributeValueBytes) return;

  if (ascii::iequals(name, "expires")) {
    if (auto date = parse_cookie_date(value)) cookie.expires = *date;
  } else if (ascii::iequals(name, "max-age")) {
    if (auto age = parse_max_age(value)) cookie.max_age = *age;
  } else if (ascii::iequals(name, "domain")) {
    // §5.2.3: one leading dot is dropped. An empty value SHOULD make the
    // cookie-av ignored; so does one that is empty without its dot or has a
    // second (no host name starts with a dot): the cookie stays host-only.
    if (!value.empty() && value.front() == '.') value.remove_prefix(1);
    if (value.empty() || value.front() == '.') return;
    cookie.domain = ascii::lowered(value);
  } else if (ascii::iequals(name, "path")) {
    // §5.2.4: an empty or relative path means "use the default path".
    if (value.empty() || value.front() != '/') {
      cookie.path.reset();
    } else {
      cookie.path = std::string(value);
    }
  } else if (ascii::iequals(name, "secure")) {
    cookie.secure = true;
  } else if (ascii::iequals(name, "httponly")) {
    cookie.http_only = true;
  } else if (ascii::iequals(name, "samesite")) {
    // RFC 6265bis §5.6.7: an unknown value means no enforcement chosen.
    if (ascii::iequals(value, "strict")) {
      cookie.same_site = Cookie::SameSite::strict;
    } else if (ascii::iequals(value, "lax")) {
      cookie.same_site = Cookie::SameSite::lax;
    } else if (ascii::iequals(value, "none")) {
      cookie.same_site = Cookie::SameSite::none;
    } else {
      cookie.same_site = Cookie::SameSite::unset;
    }
  }
  // Unknown attributes are ignored (§5.2).
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_cookie_date(std::string_view text) {
  bool found_time = false, found_day = false, found_month = false, found_year = false;
  int hour = 0, minute = 0, second = 0, day = 0, year = 0;
  unsigned month = 0;

  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && is_date_delimiter(text[pos])) ++pos;
    std::size_t end = pos;
    while (end < text.size() && !is_date_delimiter(text[end])) ++end;
    const std::string_view token = text.substr(pos, end - pos);
    pos = end;
    if (token.empty()) continue;

    int h = 0, m = 0, s = 0;
    if (!found_time && parse_time(token, h, m, s)) {
      found_time = true;
      hour = h;
      minute = m;
      second = s;
    } else if (auto d = found_day ? std::nullopt : parse_number_token(token, 1, 2)) {
      found_day = true;
      day = *d;
    } else if (auto mo = found_month ? std::nullopt : parse_month(token)) {
      found_month = true;
      month = *mo;
    } else if (auto y = found_year ? std::nullopt : parse_number_token(token, 2, 4)) {
      found_year = true;
      year = *y;
    }
  }
  if (!found_time || !found_day || !found_month || !found_year) return std::nullopt;
  // §5.1.1 steps 3 and 4: two-digit years.
  if (year >= 70 && year <= 99) year += 1900;
  if (year >= 0 && year <= 69) year += 2000;
  // Step 5: validity.
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;  // step 6: e.g. 30 February
  return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

std::optional<SetCookie> parse_set_cookie(std::string_view text) {
  // §5.2 steps 1-2: the name-value pair runs to the first ';'.
  const std::size_t semicolon = text.find(';');
  const std::string_view pair = text.substr(0, semicolon);
  const std::size_t eq = pair.find('=');
  if (eq == std::string_view::npos) return std::nullopt;  // step 2: no '='
  const std::string_view name = trim(pair.substr(0, eq));
  const std::string_view value = trim(pair.substr(eq + 1));
  if (name.empty()) return std::nullopt;  // step 5
  if (has_forbidden_control(name) || has_forbidden_control(value)) return std::nullopt;
  if (name.size() + value.size() > kMaxNameValueBytes) return std::nullopt;

  SetCookie cookie;
  cookie.name = std::string(name);
  cookie.value = std::string(value);
  if (semicolon == std::string_view::npos) return cookie;
  std::string_view rest = text.substr(semicolon + 1);
  while (true) {
    const std::size_t next = rest.find(';');
    apply_attribute(rest.substr(0, next), cookie);
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return cookie;
}

}  // namespace nethttp::cookie
