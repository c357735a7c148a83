#include "url/ip_address.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/ascii.h"

namespace nethttp::url {

std::optional<Ipv4Address> parse_ipv4(std::string_view text) noexcept {
  Ipv4Address address{};
  for (std::size_t i = 0; i < address.size(); ++i) {
    if (i > 0) {
      if (text.empty() || text.front() != '.') return std::nullopt;
      text.remove_prefix(1);
    }
    // dec-octet: "0" / 1-9 DIGIT{0,2} <= 255; a leading zero would be octal
    // to inet_aton(), so it is not a dec-octet.
    std::size_t digits = 0;
    unsigned value = 0;
    while (digits < text.size() && ascii::is_digit(text[digits])) {
      if (digits == 3) return std::nullopt;
      value = value * 10 + static_cast<unsigned>(text[digits] - '0');
      ++digits;
    }
    if (digits == 0 || value > 255 || (digits > 1 && text.front() == '0')) return std::nullopt;
    address[i] = static_cast<std::uint8_t>(value);
    text.remove_prefix(digits);
  }
  if (!text.empty()) return std::nullopt;
  return address;
}

std::optional<Ipv6Address> parse_ipv6(std::string_view text) noexcept {
  Ipv6Address groups{};
  std::size_t count = 0;
  // Where "::" stands, as the number of groups before it; none yet.
  std::optional<std::size_t> gap;
  std::size_t i = 0;
  if (text.starts_with("::")) {
    gap = 0;
    i = 2;
  }
  while (i < text.size()) {
    std::size_t end = i;
    while (end < text.size() && ascii::is_hex_digit(text[end])) ++end;
    if (end < text.size() && text[end] == '.') {
      // The embedded IPv4 address takes the last two groups (RFC 4291 §2.2 item 3).
      const auto v4 = parse_ipv4(text.substr(i));
      if (!v4 || count > 6) return std::nullopt;
      groups[count++] = static_cast<std::uint16_t>((*v4)[0] << 8 | (*v4)[1]);
      groups[count++] = static_cast<std::uint16_t>((*v4)[2] << 8 | (*v4)[3]);
      break;
    }
    if (end == i || end - i > 4 || count == 8) return std::nullopt;
    unsigned value = 0;
    for (std::size_t k = i; k < end; ++k)
      value = value * 16 + static_cast<unsigned>(ascii::hex_value(text[k]));
    groups[count++] = static_cast<std::uint16_t>(value);
    if (end == text.size()) break;
    if (text[end] != ':') return std::nullopt;
    if (end + 1 < text.size() && text[end + 1] == ':') {
      if (gap) return std::nullopt;  // a second "::" would be ambiguous
      gap = count;
      i = end + 2;
    } else {
      i = end + 1;
      if (i == text.size()) return std::nullopt;  // a trailing single ':'
    }
  }
  if (!gap) {
    if (count != 8) return std::nullopt;
    return groups;
  }
  // "::" stands for one or more zero groups, so at most seven are written.
  if (count == 8) return std::nullopt;
  Ipv6Address out{};
  const std::size_t tail = count - *gap;
  for (std::size_t k = 0; k < *gap; ++k) out[k] = groups[k];
  for (std::size_t k = 0; k < tail; ++k) out[8 - tail + k] = groups[*gap + k];
  return out;
}

namespace {

void append_hex_group(std::uint16_t group, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned digit = (group >> shift) & 0xfU;
    if (digit == 0 && !started && shift > 0) continue;  // §4.1: no leading zeros
    started = true;
    out += kHex[digit];
  }
}

}  // namespace

std::string format_ipv6(const Ipv6Address& address) {
  std::string out;
  // §5: an IPv4-mapped address (::ffff:0:0/96) keeps its dotted quad.
  if (address[0] == 0 && address[1] == 0 && address[2] == 0 && address[3] == 0 && address[4] == 0 &&
      address[5] == 0xffff) {
    out = "::ffff:";
    for (int k = 0; k < 4; ++k) {
      if (k > 0) out += '.';
      const std::uint16_t group = address[6 + k / 2];
      out += std::to_string(k % 2 == 0 ? group >> 8 : group & 0xff);
    }
    return out;
  }
  // §4.2.1-§4.2.3: shorten the longest run of zero groups, the first on a
  // tie, and never a single zero group.
  std::size_t best_start = 0;
  std::size_t best_length = 0;
  for (std::size_t k = 0; k < address.size();) {
    if (address[k] != 0) {
      ++k;
      continue;
    }
    std::size_t end = k;
    while (end < address.size() && address[end] == 0) ++end;
    if (end - k > best_length) {
      best_start = k;
      best_length = end - k;
    }
    k = end;
  }
  if (best_length < 2) best_length = 0;
  for (std::size_t k = 0; k < address.size(); ++k) {
    if (best_length > 0 && k == best_start) {
      out += "::";
      k += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    append_hex_group(address[k], out);
  }
  return out;
}

}  // namespace nethttp::url
