// Choosing the proxy for a request: Go's httpproxy rules (HTTP_PROXY,
// HTTPS_PROXY, NO_PROXY) and the Transport's per-request proxy hook.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "nethttp/error.h"
#include "nethttp/request.h"
#include "nethttp/url.h"

namespace nethttp {

/// Proxy settings as the environment gives them (Go's httpproxy.Config).
/// A plain value: copyable; proxy_for() reads it only, so one config may be
/// used by many threads at once as long as nobody modifies it meanwhile.
///
/// Proxy values: a URL whose scheme is http, https, socks5 or socks5h
/// (Url::parse_proxy()); a value without "://" means http:// (Go's rule:
/// "proxy.corp:3128" is "http://proxy.corp:3128"). Userinfo is kept in the
/// returned Url for the proxy's credentials. An empty value: no proxy.
///
/// NO_PROXY: comma-separated entries, each trimmed of whitespace and
/// compared case-insensitively; empty entries are skipped:
/// - "*": no proxy for any host;
/// - an IP address ("1.2.3.4", "2001:db8::1", "[2001:db8::1]"): a URL whose
///   host is that address (an IPv4 address equals its IPv4-mapped IPv6 form);
/// - a CIDR prefix ("10.0.0.0/8", "2001:db8::/32"): a URL whose host is an
///   address inside it;
/// - a domain name ("foo.com"): foo.com and its subdomains (bar.foo.com, not
///   barfoo.com); with a leading "." or "*." (".foo.com", "*.foo.com"): the
///   subdomains only;
/// - an address or a name may carry a port ("foo.com:8080", "1.2.3.4:80",
///   "[::1]:80"): it matches only URLs with that port (the scheme's default
///   when the URL names none). A CIDR prefix carries none.
/// Entries that are none of these (e.g. a malformed CIDR) match nothing.
///
/// Whatever the settings, "localhost" and loopback addresses (127.0.0.0/8,
/// ::1, \::ffff:127.0.0.0/104) are always reached directly, as in Go.
struct ProxyConfig {
  std::string http_proxy;   ///< for http URLs (HTTP_PROXY / http_proxy)
  std::string https_proxy;  ///< for https URLs (HTTPS_PROXY / https_proxy)
  std::string no_proxy;     ///< NO_PROXY / no_proxy

  /// Reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY, each falling back to its
  /// lower-case spelling when unset or empty (Go's order).
  ///
  /// CGI rule: when REQUEST_METHOD is set, the process is a CGI handler and
  /// HTTP_PROXY may come from a request's "Proxy:" header ("httpoxy",
  /// CVE-2016-5385), so upper-case HTTP_PROXY is ignored then; lower-case
  /// http_proxy, which no request header can set, is still read. (Go
  /// instead fails every http request that would use HTTP_PROXY.)
  ///
  /// Reads the environment with getenv(): not safe while another thread
  /// calls setenv()/unsetenv(). Never fails; never blocks.
  [[nodiscard]] static ProxyConfig from_environment();

  /// The proxy for a request to `url`: https_proxy for https URLs,
  /// http_proxy for http URLs, nullopt (a direct connection) when that value
  /// is empty, the host is localhost or a loopback address, or NO_PROXY
  /// matches the URL. Parses the settings on every call (a ProxyFunc from
  /// proxy_from_environment() parses them once).
  ///
  /// Errors: bad_url when the value that applies cannot be parsed or names
  /// another scheme; the message names the variable ("HTTPS_PROXY: ...")
  /// and quotes the value with any password redacted. A value that does not
  /// apply to `url` (the other scheme's, or bypassed by NO_PROXY) is not
  /// looked at. Never blocks.
  [[nodiscard]] Result<std::optional<Url>> proxy_for(const Url& url) const;
};

/// Chooses the proxy for each request (Go's Transport.Proxy): a proxy URL
/// (scheme http, https, socks5 or socks5h), or nullopt for a direct
/// connection. An error fails the request with that error. The Transport
/// may call it from any thread, concurrently: it must be thread-safe, and
/// should not block.
using ProxyFunc = std::function<Result<std::optional<Url>>(const Request&)>;

/// A ProxyFunc over ProxyConfig::from_environment(), with the environment
/// read (and the settings parsed) once, here, when proxy_from_environment()
/// is called: later changes to the environment are not seen (Go's
/// ProxyFromEnvironment caches too). The function returned is thread-safe;
/// its errors are those of ProxyConfig::proxy_for(), for requests that the
/// bad value applies to.
[[nodiscard]] ProxyFunc proxy_from_environment();

/// A ProxyFunc that sends every request through `proxy`, loopback hosts
/// included (Go's ProxyURL). Thread-safe; never fails.
[[nodiscard]] ProxyFunc fixed_proxy(Url proxy);

}  // namespace nethttp
