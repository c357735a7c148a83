#include "nethttp/url.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "base/ascii.h"
#include "url/authority.h"
#include "url/bad_url.h"
#include "url/percent.h"
#include "url/reference.h"

namespace nethttp {
namespace {

/// Default ports of the schemes we speak (RFC 9110 §4.2.1, §4.2.2) and of
/// SOCKS proxies (RFC 1928 §3).
constexpr std::uint16_t kHttpPort = 80;
constexpr std::uint16_t kHttpsPort = 443;
constexpr std::uint16_t kSocksPort = 1080;

bool is_socks_scheme(std::string_view scheme) noexcept {
  return scheme == "socks5" || scheme == "socks5h";
}

std::uint16_t default_port(std::string_view scheme) noexcept {
  if (scheme == "https") return kHttpsPort;
  return is_socks_scheme(scheme) ? kSocksPort : kHttpPort;
}

/// Path, query or fragment text normalised by url::append_normalized().
Result<std::string> normalize_component(std::string_view text, std::string_view part,
                                        std::string_view input) {
  std::string out;
  out.reserve(text.size());
  if (const auto bad = url::append_normalized(text, out))
    return url::bad_url_in("invalid percent-encoding " + url::quote(*bad), part, input);
  return out;
}

void append_userinfo(const Url& u, bool redact, std::string& out) {
  if (!u.has_userinfo()) return;
  url::append_userinfo_encoded(u.username(), /*keep_colon=*/false, out);
  if (!u.password().empty()) {
    out += ':';
    if (redact) {
      out += "xxxxx";
    } else {
      url::append_userinfo_encoded(u.password(), /*keep_colon=*/true, out);
    }
  }
  out += '@';
}

}  // namespace

Result<Url> Url::parse(std::string_view text) {
  return parse_as(text, /*proxy=*/false);
}

Result<Url> Url::parse_proxy(std::string_view text) {
  return parse_as(text, /*proxy=*/true);
}

Result<Url> Url::parse_as(std::string_view text, bool proxy) {
  for (const char c : text) {
    if (url::is_control(c))
      return url::bad_url("control character " + url::quote(std::string_view(&c, 1)), text);
  }

  const url::ReferenceParts parts = url::split_reference(text);
  if (!parts.scheme) return url::bad_url("not an absolute URL (no scheme)", text);
  Url u;
  u.scheme_ = ascii::lowered(*parts.scheme);  // §3.1, §6.2.2.1: case-insensitive
  if (u.scheme_ != "http" && u.scheme_ != "https" && !(proxy && is_socks_scheme(u.scheme_)))
    return url::bad_url("unsupported scheme " + url::quote(*parts.scheme), text);
  // http(s) URIs must have a host (RFC 9110 §4.2.1): "http:/x" and "http:x" have none.
  if (!parts.authority) return url::bad_url("missing host", text);

  auto authority = url::parse_authority(*parts.authority, text);
  if (!authority) return std::move(authority).error();
  u.has_userinfo_ = authority->has_userinfo;
  u.username_ = std::move(authority->username);
  u.password_ = std::move(authority->password);
  u.host_ = std::move(authority->host);
  u.port_ = authority->port.value_or(default_port(u.scheme_));

  auto path = normalize_component(parts.path, "path", text);
  if (!path) return std::move(path).error();
  // Decoding comes first so that "%2E%2E" is removed as ".." is (§6.2.2.3),
  // making normalisation idempotent.
  u.path_ = url::remove_dot_segments(*path);
  if (u.path_.empty()) u.path_ = "/";  // §6.2.3: "http://a" is "http://a/"

  if (parts.query) {
    auto query = normalize_component(*parts.query, "query", text);
    if (!query) return std::move(query).error();
    u.query_ = *std::move(query);
    u.has_query_ = true;
  }
  if (parts.fragment) {
    auto fragment = normalize_component(*parts.fragment, "fragment", text);
    if (!fragment) return std::move(fragment).error();
    u.fragment_ = *std::move(fragment);
    u.has_fragment_ = true;
  }
  return u;
}

Result<Url> Url::resolve(std::string_view reference) const {
  // Decoding "%2E" and friends first (an equivalence, §6.2.2.2) makes
  // "%2E%2E" a dot segment during resolution just as it is in parse(): an
  // absolute reference then resolves to exactly what parse() makes of it.
  auto target = url::resolve_parts(str(), url::decode_unreserved(reference));
  if (!target) return std::move(target).error();
  return parse(url::recompose(*target));
}

std::string_view Url::hostname() const noexcept {
  std::string_view name = host_;
  if (is_ipv6()) name = name.substr(1, name.size() - 2);
  return name;
}

bool Url::has_default_port() const noexcept {
  return port_ == default_port(scheme_);
}

std::string Url::authority() const {
  std::string out;
  append_authority(out);
  return out;
}

void Url::append_authority(std::string& out) const {
  if (has_default_port()) {
    out += host_;
  } else {
    append_host_port(out);
  }
}

std::string Url::host_port() const {
  std::string out;
  append_host_port(out);
  return out;
}

void Url::append_host_port(std::string& out) const {
  char digits[8];
  const std::to_chars_result end = std::to_chars(std::begin(digits), std::end(digits), port_);
  out.append(host_).append(1, ':').append(digits, end.ptr);
}

std::string Url::request_target() const {
  std::string target = path_;
  if (has_query_) {
    target += '?';
    target += query_;
  }
  return target;
}

namespace {

std::string to_string(const Url& u, bool redact) {
  std::string out = u.scheme();
  out += "://";
  append_userinfo(u, redact, out);
  out += u.authority();
  out += u.request_target();
  if (u.has_fragment()) {
    out += '#';
    out += u.fragment();
  }
  return out;
}

}  // namespace

std::string Url::str() const {
  return to_string(*this, /*redact=*/false);
}

std::string Url::redacted() const {
  return to_string(*this, /*redact=*/true);
}

std::string redact_url_text(std::string_view text) {
  constexpr std::size_t kNone = std::string_view::npos;
  const std::size_t scheme_end = text.find("://");
  const std::size_t start = scheme_end == kNone ? 0 : scheme_end + 3;  // "user:pass@host" too
  const std::size_t authority_end = std::min(text.find_first_of("/?#", start), text.size());
  // An IPv6 host's colons are not a password's.
  const std::size_t colon =
      text.find(':', text.substr(start).starts_with('[') ? text.find(']', start) : start);
  std::size_t at = text.substr(start, authority_end - start).rfind('@');
  if (at != kNone) {
    at += start;
  } else if (colon < authority_end) {
    // Not a port, so a password cut short by a "/", "?" or "#" it holds
    // ("http://u:p/w@h/" does not parse, and would leak "p/w").
    const std::string_view port = text.substr(colon + 1, authority_end - colon - 1);
    if (!std::all_of(port.begin(), port.end(), ascii::is_digit)) at = text.rfind('@');
  }
  // No '@', or no password before it ("http://@h", "http://user@h", "http://user:@h").
  if (at == kNone || colon >= at || colon + 1 == at) return std::string(text);
  std::string out(text.substr(0, colon + 1));
  out += "xxxxx";
  out += text.substr(at);
  return out;
}

}  // namespace nethttp
