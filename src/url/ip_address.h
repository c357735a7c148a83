// IP address literals in URLs: strict dotted-decimal IPv4 and RFC 4291 IPv6
// text, the latter written back in RFC 5952 canonical form.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nethttp::url {

using Ipv4Address = std::array<std::uint8_t, 4>;
using Ipv6Address = std::array<std::uint16_t, 8>;

/// IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet
/// (RFC 3986 §3.2.2): exactly four decimal numbers 0-255 without leading
/// zeros. Nothing else (no octal, hex, short or integer forms).
[[nodiscard]] std::optional<Ipv4Address> parse_ipv4(std::string_view text) noexcept;

/// An IPv6 address in any RFC 4291 §2.2 text form: eight groups of 1-4 hex
/// digits, at most one "::", optionally ending in an embedded dotted-decimal
/// IPv4 address. No brackets, no zone.
[[nodiscard]] std::optional<Ipv6Address> parse_ipv6(std::string_view text) noexcept;

/// RFC 5952 §4 text: lower-case hex without leading zeros, the longest run
/// (the first of equal ones) of two or more zero groups written "::", and
/// (§5) an IPv4-mapped address as "::ffff:a.b.c.d".
[[nodiscard]] std::string format_ipv6(const Ipv6Address& address);

}  // namespace nethttp::url
