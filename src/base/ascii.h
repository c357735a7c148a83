// Locale-free ASCII classification shared by the URL and HTTP parsers.
// Everything here works on bytes: the wire is not text in any locale.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace nethttp::ascii {

[[nodiscard]] constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
[[nodiscard]] constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
[[nodiscard]] constexpr bool is_hex_digit(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/// The value of a hex digit, or -1.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
[[nodiscard]] constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
[[nodiscard]] constexpr char to_upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}
/// SP or HTAB: optional whitespace (RFC 9110 §5.6.3).
[[nodiscard]] constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

namespace detail {
constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
inline constexpr std::array<bool, 256> kTchar = make_tchar_table();
}  // namespace detail

/// A token character (RFC 9110 §5.6.2): what field names and methods are made of.
[[nodiscard]] constexpr bool is_tchar(char c) noexcept {
  return detail::kTchar[static_cast<unsigned char>(c)];
}
/// Non-empty and made only of token characters.
[[nodiscard]] constexpr bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

[[nodiscard]] inline std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

/// `s` without leading and trailing characters of the class `is_in`.
template <class CharClass>
[[nodiscard]] constexpr std::string_view trim(std::string_view s, CharClass is_in) noexcept {
  while (!s.empty() && is_in(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_in(s.back())) s.remove_suffix(1);
  return s;
}

/// `s` without leading and trailing SP/HTAB.
[[nodiscard]] constexpr std::string_view trim_ows(std::string_view s) noexcept {
  return trim(s, is_ows);
}

/// A control byte other than HTAB (0x00-0x08, 0x0A-0x1F, 0x7F): never valid
/// in a field value (RFC 9110 §5.5), a chunk extension or a cookie.
[[nodiscard]] constexpr bool is_control_but_tab(char c) noexcept {
  const auto b = static_cast<unsigned char>(c);
  return (b < 0x20 && c != '\t') || b == 0x7f;
}

/// The position of the first is_control_but_tab() byte of `s`, or npos.
[[nodiscard]] constexpr std::size_t find_control_but_tab(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (is_control_but_tab(s[i])) return i;
  return std::string_view::npos;
}

/// ASCII whitespace: SP, HTAB, LF, VT, FF, CR.
[[nodiscard]] constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/// `s` without leading and trailing ASCII whitespace (Go's strings.TrimSpace on ASCII).
[[nodiscard]] constexpr std::string_view trim_space(std::string_view s) noexcept {
  return trim(s, is_space);
}

}  // namespace nethttp::ascii
