#include "url/authority.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/ascii.h"
#include "url/bad_url.h"
#include "url/host.h"
#include "url/percent.h"

namespace nethttp::url {
namespace {

/// The highest TCP port; port 0 cannot be connected to, so 1 is the lowest.
constexpr std::uint32_t kMaxPort = 65535;

Result<std::optional<std::uint16_t>> parse_port(std::string_view text, std::string_view input) {
  if (text.empty()) return std::optional<std::uint16_t>();  // §6.2.3: empty means default
  std::uint32_t value = 0;
  for (const char c : text) {
    // port = *DIGIT (§3.2.3): no sign, no spaces, no hex.
    if (!ascii::is_digit(c)) return bad_url("invalid port " + quote(text), input);
    // Saturate: "99999999999" is out of range, not a wrapped-around port.
    value = std::min<std::uint32_t>(value * 10 + static_cast<std::uint32_t>(c - '0'), kMaxPort + 1);
  }
  if (value == 0 || value > kMaxPort) return bad_url("port " + quote(text) + " out of range", input);
  return std::optional<std::uint16_t>(static_cast<std::uint16_t>(value));
}

Result<std::string> decode_userinfo_part(std::string_view text, std::string_view input) {
  std::string decoded;
  if (const auto bad = append_decoded(text, decoded))
    return bad_url_in("invalid percent-encoding " + quote(*bad), "userinfo", input);
  return decoded;
}

}  // namespace

Result<Authority> parse_authority(std::string_view text, std::string_view input) {
  Authority authority;
  // A "\" here is a path separator to WHATWG URL parsers (browsers) and a
  // plain byte to RFC 3986 ones: "http://evil\@good/" means different hosts
  // to each. Refuse rather than pick one.
  if (text.find('\\') != std::string_view::npos) return bad_url("backslash in authority", input);

  // userinfo may not hold "@" (§3.2.1), but users type it in passwords; like
  // Go and WHATWG URL, the last "@" ends the userinfo and str() encodes the rest.
  const std::size_t at = text.rfind('@');
  if (at != std::string_view::npos) {
    authority.has_userinfo = true;
    const std::string_view userinfo = text.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    auto user = decode_userinfo_part(userinfo.substr(0, colon), input);
    if (!user) return std::move(user).error();
    authority.username = *std::move(user);
    if (colon != std::string_view::npos) {
      auto password = decode_userinfo_part(userinfo.substr(colon + 1), input);
      if (!password) return std::move(password).error();
      authority.password = *std::move(password);
    }
    text.remove_prefix(at + 1);
  }

  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return bad_url("unterminated IPv6 address " + quote(text), input);
    host = text.substr(0, close + 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad_url("unexpected " + quote(rest) + " after IPv6 address", input);
      port = rest.substr(1);
    }
  } else if (const std::size_t colon = text.find(':'); colon != std::string_view::npos) {
    // A reg-name cannot hold ':', so the first one starts the port.
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }

  auto canonical_host = parse_host(host, input);
  if (!canonical_host) return std::move(canonical_host).error();
  authority.host = *std::move(canonical_host);
  if (port) {
    auto number = parse_port(*port, input);
    if (!number) return std::move(number).error();
    authority.port = *number;
  }
  return authority;
}

}  // namespace nethttp::url
