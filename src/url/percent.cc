#include "url/percent.h"

#include <optional>
#include <string>
#include <string_view>

#include "base/ascii.h"

namespace nethttp::url {

bool is_unreserved(char c) noexcept {
  return ascii::is_alpha(c) || ascii::is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_sub_delim(char c) noexcept {
  return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

bool is_control(char c) noexcept {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

bool is_encoded_on_input(char c) noexcept {
  const auto byte = static_cast<unsigned char>(c);
  return byte == ' ' || byte >= 0x80 || std::string_view("\"<>\\^`{|}").find(c) != std::string_view::npos;
}

std::string_view escape_at(std::string_view text) noexcept {
  return text.substr(0, 3);
}

namespace {

/// The byte an escape "%XY" stands for; the escape must be well formed.
char escaped_byte(std::string_view escape) noexcept {
  return static_cast<char>(ascii::hex_value(escape[1]) * 16 + ascii::hex_value(escape[2]));
}

bool is_well_formed(std::string_view escape) noexcept {
  return escape.size() == 3 && ascii::is_hex_digit(escape[1]) && ascii::is_hex_digit(escape[2]);
}

}  // namespace

void append_escape(char byte, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto b = static_cast<unsigned char>(byte);
  out += '%';
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

std::optional<std::string_view> append_normalized(std::string_view text, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const std::string_view escape = escape_at(text.substr(i));
      if (!is_well_formed(escape)) return escape;
      const char byte = escaped_byte(escape);
      // §6.2.2.2: an encoded unreserved character is the character itself.
      if (is_unreserved(byte)) {
        out += byte;
      } else {
        append_escape(byte, out);  // §6.2.2.1: upper-case hex
      }
      i += 2;
    } else if (is_encoded_on_input(c)) {
      append_escape(c, out);
    } else {
      out += c;
    }
  }
  return std::nullopt;
}

std::string decode_unreserved(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      const std::string_view escape = escape_at(text.substr(i));
      if (is_well_formed(escape) && is_unreserved(escaped_byte(escape))) {
        out += escaped_byte(escape);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::optional<std::string_view> append_decoded(std::string_view text, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const std::string_view escape = escape_at(text.substr(i));
    if (!is_well_formed(escape)) return escape;
    out += escaped_byte(escape);
    i += 2;
  }
  return std::nullopt;
}

void append_userinfo_encoded(std::string_view decoded, bool keep_colon, std::string& out) {
  for (const char c : decoded) {
    if (is_unreserved(c) || is_sub_delim(c) || (keep_colon && c == ':')) {
      out += c;
    } else {
      append_escape(c, out);
    }
  }
}

}  // namespace nethttp::url
