#include <cstdint>
#include <optional>
#include <string_view>

#include "base/ascii.h"
#include "nethttp/url.h"
#include "url/ip_address.h"

namespace nethttp {
namespace {

bool is_internal_ipv4(const url::Ipv4Address& a) {
  return a[0] == 0 ||                             // "this network" (0.0.0.0 reaches the local host)
         a[0] == 10 ||                            // private (RFC 1918)
         a[0] == 127 ||                           // loopback
         (a[0] == 100 && (a[1] & 0xc0) == 64) ||  // shared address space, CGNAT (RFC 6598)
         (a[0] == 169 && a[1] == 254) ||          // link-local, cloud metadata services
         (a[0] == 172 && (a[1] & 0xf0) == 16) ||  // private
         (a[0] == 192 && a[1] == 168);            // private
}

bool is_internal_ipv6(const url::Ipv6Address& a) {
  bool leading_zeros = true;  // the first six groups
  for (int i = 0; i < 6; ++i) leading_zeros = leading_zeros && a[static_cast<std::size_t>(i)] == 0;
  if (leading_zeros && a[6] == 0 && (a[7] == 0 || a[7] == 1)) return true;  // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) reaches the IPv4 address.
  if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0xffff) {
    return is_internal_ipv4({static_cast<std::uint8_t>(a[6] >> 8), static_cast<std::uint8_t>(a[6] & 0xff),
                             static_cast<std::uint8_t>(a[7] >> 8), static_cast<std::uint8_t>(a[7] & 0xff)});
  }
  return (a[0] & 0xfe00) == 0xfc00 ||  // unique local (RFC 4193)
         (a[0] & 0xffc0) == 0xfe80;    // link-local
}

/// Names that only mean something inside a network: localhost (RFC 6761),
/// mDNS .local (RFC 6762), .home.arpa (RFC 8375), .internal (reserved for
/// private use by ICANN), and single-label names, which resolve through
/// the local search domains.
bool is_internal_name(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.find('.') == std::string_view::npos) return true;
  for (const std::string_view suffix : {".localhost", ".local", ".home.arpa", ".internal"}) {
    if (name.ends_with(suffix)) return true;
  }
  return false;
}

}  // namespace

bool has_internal_host(const Url& url) {
  const std::string_view host = url.hostname();
  if (url.is_ipv6()) {
    const std::optional<url::Ipv6Address> address = url::parse_ipv6(host);
    return !address || is_internal_ipv6(*address);
  }
  if (const std::optional<url::Ipv4Address> address = url::parse_ipv4(host))
    return is_internal_ipv4(*address);
  return is_internal_name(host);
}

}  // namespace nethttp
