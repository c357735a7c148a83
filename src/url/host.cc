#include "url/host.h"

#include <string>
#include <string_view>

#include "base/ascii.h"
#include "url/bad_url.h"
#include "url/ip_address.h"
#include "url/percent.h"

namespace nethttp::url {
namespace {

Result<std::string> parse_ip_literal(std::string_view literal, std::string_view input) {
  // IP-literal = "[" ( IPv6address / IPvFuture ) "]" (§3.2.2).
  const std::string_view inner = literal.substr(1, literal.size() - 2);
  if (!inner.empty() && (inner.front() == 'v' || inner.front() == 'V'))
    return bad_url("IPvFuture address " + quote(literal) + " is not supported", input);
  // RFC 6874 zones ("[fe80::1%25eth0]") name an interface of this machine:
  // meaningless to a server in a Host header, and RFC 9110 does not allow them.
  if (inner.find('%') != std::string_view::npos)
    return bad_url("IPv6 zone identifiers are not supported", input);
  const auto address = parse_ipv6(inner);
  if (!address) return bad_url("invalid IPv6 address " + quote(literal), input);
  return "[" + format_ipv6(*address) + "]";
}

/// Whether a reg-name would be read as a number by inet_aton() (which
/// getaddrinfo() uses): its last label is all digits or starts with "0x",
/// WHATWG URL's "ends in a number". Such a host that is not a strict
/// dotted-decimal address ("01.2.3.4", "1.2.3", "0x7f.0.0.1", "2130706433")
/// means different addresses to different parsers: a classic SSRF filter bypass.
bool ends_in_a_number(std::string_view host) noexcept {
  if (host.ends_with('.')) host.remove_suffix(1);  // "1.2.3.4." is absolute, still numeric
  const std::size_t dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (last.starts_with("0x")) return true;
  for (const char c : last)
    if (!ascii::is_digit(c)) return false;
  return true;
}

Result<std::string> parse_reg_name(std::string_view raw, std::string_view input) {
  // reg-name = *( unreserved / pct-encoded / sub-delims ), case-insensitive (§3.2.2).
  std::string host;
  host.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      const std::string_view escape = escape_at(raw.substr(i));
      std::string decoded;
      if (append_decoded(escape, decoded))
        return bad_url_in("invalid percent-encoding " + quote(escape), "host", input);
      // §6.2.2.2 lets us decode unreserved characters. Anything else would
      // reach name resolution as raw bytes; internationalised names must come
      // as punycode ("xn--...").
      if (!is_unreserved(decoded[0]))
        return bad_url_in("percent-encoded byte " + quote(escape) + " not allowed", "host", input);
      c = decoded[0];
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c)) {
      return bad_url_in("invalid character " + quote(std::string_view(&raw[i], 1)), "host", input);
    }
    host += ascii::to_lower(c);
  }
  if (host.empty()) return bad_url("missing host", input);
  if (ends_in_a_number(host) && !parse_ipv4(host))
    return bad_url("ambiguous numeric host " + quote(host) + " (not a dotted-decimal IPv4 address)", input);
  return host;
}

}  // namespace

Result<std::string> parse_host(std::string_view host, std::string_view input) {
  if (host.starts_with('[')) return parse_ip_literal(host, input);
  return parse_reg_name(host, input);
}

}  // namespace nethttp::url
