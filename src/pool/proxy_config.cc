// Proxy selection with Go's httpproxy rules (see nethttp/proxy.h).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "nethttp/proxy.h"
#include "url/ip_address.h"

namespace nethttp {
namespace {

/// An IP address as 16 bytes: IPv6, with IPv4 as its IPv4-mapped form
/// (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), so that both compare as Go's
/// net.IP.Equal and IPNet.Contains do.
using Address = std::array<std::uint8_t, 16>;

constexpr std::size_t kMappedPrefixBytes = 12;  ///< ::ffff: before the IPv4 bytes
constexpr unsigned kMappedPrefixBits = 96;
constexpr unsigned kIpv4Bits = 32;
constexpr unsigned kIpv6Bits = 128;
constexpr std::uint8_t kIpv4LoopbackNet = 127;  ///< 127.0.0.0/8 (RFC 1122 §3.2.1.3)

std::optional<Address> parse_address(std::string_view text) {
  Address a{};
  if (const auto v4 = url::parse_ipv4(text)) {
    a[10] = 0xff;
    a[11] = 0xff;
    for (std::size_t i = 0; i < v4->size(); ++i) a[kMappedPrefixBytes + i] = (*v4)[i];
    return a;
  }
  if (const auto v6 = url::parse_ipv6(text)) {
    for (std::size_t i = 0; i < v6->size(); ++i) {
      a[2 * i] = static_cast<std::uint8_t>((*v6)[i] >> 8U);
      a[(2 * i) + 1] = static_cast<std::uint8_t>((*v6)[i] & 0xffU);
    }
    return a;
  }
  return std::nullopt;
}

bool is_ipv4_mapped(const Address& a) {
  for (std::size_t i = 0; i < 10; ++i) {
    if (a[i] != 0) return false;
  }
  return a[10] == 0xff && a[11] == 0xff;
}

/// 127.0.0.0/8 (also IPv4-mapped) or ::1, as Go's net.IP.IsLoopback.
bool is_loopback(const Address& a) {
  if (is_ipv4_mapped(a)) return a[kMappedPrefixBytes] == kIpv4LoopbackNet;
  Address one{};
  one.back() = 1;
  return a == one;
}

/// Whether the first `bits` bits of `a` and `network` agree.
bool has_prefix(const Address& a, const Address& network, unsigned bits) {
  std::size_t i = 0;
  for (; bits >= 8; bits -= 8, ++i) {
    if (a[i] != network[i]) return false;
  }
  if (bits == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xffU << (8 - bits));
  return (a[i] & mask) == (network[i] & mask);
}

/// A decimal number without sign, at most `max`; nullopt otherwise.
std::optional<unsigned> parse_small_decimal(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned n = 0;
  for (const char c : text) {
    if (!ascii::is_digit(c)) return std::nullopt;
    n = (n * 10) + static_cast<unsigned>(c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

/// NO_PROXY, parsed once into the three kinds of entry Go has.
class NoProxy {
 public:
  explicit NoProxy(std::string_view list) {
    const std::string lowered = ascii::lowered(list);
    std::string_view rest = lowered;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view entry = ascii::trim_space(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (entry.empty()) continue;
      if (entry == "*") {
        all_ = true;  // no other entry matters any more
        return;
      }
      add(entry);
    }
  }

  /// Whether a URL with this host (no IPv6 brackets; `ip` when the host is
  /// an address) and port is to be reached directly.
  [[nodiscard]] bool bypasses(std::string_view host, const std::optional<Address>& ip,
                              std::string_view port) const {
    if (all_) return true;
    if (ip) {
      for (const IpRule& r : ips_) {
        if (r.address == *ip && (r.port.empty() || r.port == port)) return true;
      }
      for (const CidrRule& r : cidrs_) {
        if (has_prefix(*ip, r.network, r.bits)) return true;
      }
      return false;  // names only match names: an address has no subdomains
    }
    for (const DomainRule& r : domains_) {
      const bool suffix = host.size() > r.dot_name.size() && host.ends_with(r.dot_name);
      const bool itself = r.match_itself && host == std::string_view(r.dot_name).substr(1);
      if ((suffix || itself) && (r.port.empty() || r.port == port)) return true;
    }
    return false;
  }

 private:
  /// "1.2.3.4", "[::1]:80": this address, on this port when one is given.
  struct IpRule {
    Address address{};
    std::string port;
  };
  /// "10.0.0.0/8", "2001:db8::/32": any address inside, any port.
  struct CidrRule {
    Address network{};
    unsigned bits = 0;  ///< of the 16-byte form: IPv4 prefixes count 96 more
  };
  /// "foo.com", ".foo.com", "*.foo.com", each with an optional port.
  struct DomainRule {
    std::string dot_name;       ///< ".foo.com": subdomains end with it
    bool match_itself = false;  ///< "foo.com" matches foo.com too; ".foo.com" does not
    std::string port;
  };

  void add(std::string_view entry) {
    if (const std::size_t slash = entry.find('/'); slash != std::string_view::npos) {
      add_cidr(entry.substr(0, slash), entry.substr(slash + 1));
      return;  // a malformed prefix matches nothing
    }
    std::string_view host = entry;
    std::string_view port;
    if (host.front() == '[') {  // "[::1]" or "[::1]:80"
      const std::size_t close = host.find(']');
      if (close == std::string_view::npos) return;
      const std::string_view after = host.substr(close + 1);
      if (!after.empty() && after.front() != ':') return;
      port = after.empty() ? after : after.substr(1);
      host = host.substr(1, close - 1);
    } else if (const std::size_t colon = host.find(':');
               colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
      port = host.substr(colon + 1);  // one colon: "name:port"; more: a bare IPv6 address
      host = host.substr(0, colon);
    }
    if (host.empty()) return;  // ":80": no host, malformed
    if (const auto ip = parse_address(host)) {
      ips_.push_back({*ip, std::string(port)});
      return;
    }
    DomainRule rule;
    if (host.starts_with("*.")) host.remove_prefix(1);
    rule.match_itself = host.front() != '.';
    rule.dot_name = rule.match_itself ? "." + std::string(host) : std::string(host);
    rule.port = std::string(port);
    domains_.push_back(std::move(rule));
  }

  void add_cidr(std::string_view address, std::string_view length) {
    if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
      address = address.substr(1, address.size() - 2);
    }
    const auto network = parse_address(address);
    if (!network) return;
    const bool ipv4 = url::parse_ipv4(address).has_value();
    const auto bits = parse_small_decimal(length, ipv4 ? kIpv4Bits : kIpv6Bits);
    if (!bits) return;
    cidrs_.push_back({*network, ipv4 ? *bits + kMappedPrefixBits : *bits});
  }

  bool all_ = false;
  std::vector<IpRule> ips_;
  std::vector<CidrRule> cidrs_;
  std::vector<DomainRule> domains_;
};

/// No proxy, a proxy, or why the value cannot be used.
using ProxySetting = Result<std::optional<Url>>;

/// A proxy value as Go's parseProxy takes it: empty is none; without
/// "://" it is an http proxy's authority. `variable` names it in errors.
ProxySetting parse_setting(std::string_view variable, std::string_view value) {
  value = ascii::trim_space(value);
  if (value.empty()) return std::optional<Url>();
  const std::string text =
      value.find("://") == std::string_view::npos ? "http://" + std::string(value) : std::string(value);
  Result<Url> url = Url::parse_proxy(text);
  if (!url) {
    return Error(ErrorKind::bad_url, std::string(variable) + ": invalid proxy URL: " + url.error().message());
  }
  return std::optional<Url>(*std::move(url));
}

/// A ProxyConfig parsed: what proxy_for() needs, immutable.
class ParsedConfig {
 public:
  explicit ParsedConfig(const ProxyConfig& config)
      : http_(parse_setting("HTTP_PROXY", config.http_proxy)),
        https_(parse_setting("HTTPS_PROXY", config.https_proxy)),
        no_proxy_(config.no_proxy) {}

  [[nodiscard]] ProxySetting proxy_for(const Url& url) const {
    const ProxySetting& setting = url.is_https() ? https_ : http_;
    if (setting.ok() && !setting->has_value()) return std::optional<Url>();
    if (!use_proxy(url)) return std::optional<Url>();
    return setting;
  }

 private:
  /// Go's useProxy: loopback never, then NO_PROXY.
  [[nodiscard]] bool use_proxy(const Url& url) const {
    const std::string_view host = url.hostname();  // lower case already
    if (host == "localhost") return false;
    const std::optional<Address> ip = parse_address(host);
    if (ip && is_loopback(*ip)) return false;
    return !no_proxy_.bypasses(host, ip, std::to_string(url.port()));
  }

  ProxySetting http_;
  ProxySetting https_;
  NoProxy no_proxy_;
};

/// The first of the variables that is set and not empty, else "".
std::string getenv_any(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return {};
}

}  // namespace

ProxyConfig ProxyConfig::from_environment() {
  // A CGI handler's environment carries request headers as HTTP_*: a
  // "Proxy:" header becomes HTTP_PROXY (httpoxy). Only the lower-case
  // spelling is trusted there.
  const bool cgi = !getenv_any({"REQUEST_METHOD"}).empty();
  ProxyConfig config;
  config.http_proxy = cgi ? getenv_any({"http_proxy"}) : getenv_any({"HTTP_PROXY", "http_proxy"});
  config.https_proxy = getenv_any({"HTTPS_PROXY", "https_proxy"});
  config.no_proxy = getenv_any({"NO_PROXY", "no_proxy"});
  return config;
}

Result<std::optional<Url>> ProxyConfig::proxy_for(const Url& url) const {
  return ParsedConfig(*this).proxy_for(url);
}

ProxyFunc proxy_from_environment() {
  auto parsed = std::make_shared<const ParsedConfig>(ProxyConfig::from_environment());
  return [parsed = std::move(parsed)](const Request& request) { return parsed->proxy_for(request.url); };
}

ProxyFunc fixed_proxy(Url proxy) {
  return [proxy = std::move(proxy)](const Request&) -> Result<std::optional<Url>> {
    return std::optional<Url>(proxy);
  };
}

}  // namespace nethttp
