// Fuzzes the redirect decisions: resolving a Location against the URL that
// answered, which method and body go on, which of the caller's header fields
// follow the hop, and the Referer. The first byte picks the status (low four
// bits), the request body (next two) and a fallback base (top two), used
// when the first line does not parse; then '\n'-separated lines: base URL,
// Location value, method, and any number of header field names. Checks what
// must hold for every input, credentials above all, and traps when it breaks.
#include "client/redirect.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "nethttp/request.h"
#include "nethttp/url.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr std::array<int, 16> kStatuses = {301, 302, 303, 307, 308, 300, 304, 305,
                                           306, 399, 200, 301, 302, 303, 307, 308};
constexpr std::array<std::string_view, 4> kBases = {
    "http://example.com/a/b?q",
    "https://user:secret@www.example.com:8443/dir/page#frag",
    "http://192.168.0.1:8080/",
    "https://[2001:db8::1]/x/y/z",
};
/// Always tried, whatever the input names.
constexpr std::array<std::string_view, 6> kFixedNames = {"Authorization",    "cookie", "COOKIE2",
                                                         "Www-Authenticate", "Accept", "Content-Type"};

bool is_sensitive(std::string_view name) {
  using nethttp::ascii::iequals;
  return iequals(name, "authorization") || iequals(name, "www-authenticate") || iequals(name, "cookie") ||
         iequals(name, "cookie2");
}

/// Url::parse() rejects names whose last label is numeric, so a host of
/// digits and dots that ends in a digit is an IPv4 address ("." is a name).
bool is_ip_literal(const nethttp::Url& url) {
  if (url.is_ipv6()) return true;
  for (const char c : url.host()) {
    if (!nethttp::ascii::is_digit(c) && c != '.') return false;
  }
  return nethttp::ascii::is_digit(url.host().back());
}

/// A name at or under `origin`'s host, on its port: the only targets that
/// may receive credentials (an IP address has no names under it).
bool may_get_credentials(const nethttp::Url& origin, const nethttp::Url& target) {
  if (target.port() != origin.port() || (origin.is_https() && !target.is_https())) return false;
  if (target.host() == origin.host()) return true;
  return !is_ip_literal(origin) && target.host().ends_with("." + origin.host());
}

void check_behavior(std::string_view method, int status, const nethttp::RequestBody& body) {
  nethttp::Request request;
  request.method = std::string(method);
  request.body = body;
  const std::optional<nethttp::client::RedirectBehavior> behavior =
      nethttp::client::redirect_behavior(request, status);
  switch (status) {
    case 301:
    case 302:
    case 303:
      check(behavior.has_value() && !behavior->keep_body);
      check(behavior->method == ((method == "GET" || method == "HEAD") ? method : "GET"));
      break;
    case 307:
    case 308:
      check(behavior.has_value() == body.is_replayable());
      if (behavior) check(behavior->method == method && behavior->keep_body == !body.is_none());
      break;
    default: check(!behavior.has_value());
  }
}

void check_headers(const std::vector<std::string_view>& names, const nethttp::Url& origin,
                   const nethttp::Url& target) {
  for (const std::string_view name : names) {
    const bool kept = nethttp::client::keeps_header_on_redirect(name, origin, target);
    if (!is_sensitive(name)) {
      check(kept);
      continue;
    }
    if (kept) check(may_get_credentials(origin, target));
    if (target.host() == origin.host() && target.port() == origin.port() &&
        (target.is_https() || !origin.is_https()))
      check(kept);
  }
}

void check_referer(const nethttp::Url& from, const nethttp::Url& target) {
  const std::string referer = nethttp::client::referer_for(from, target);
  if (from.is_https() && !target.is_https()) {
    check(referer.empty());
    return;
  }
  // The page's URL without its credentials and fragment.
  const auto parsed = nethttp::Url::parse(referer);
  check(parsed.ok());
  check(!parsed->has_userinfo() && !parsed->has_fragment());
  check(parsed->scheme() == from.scheme() && parsed->host() == from.host() && parsed->port() == from.port());
  check(parsed->request_target() == from.request_target());
}

void check_target(const nethttp::Url& base, std::string_view location, const nethttp::Url& target) {
  // What the next request is sent to parses back to itself.
  const auto again = nethttp::Url::parse(target.str());
  check(again.ok() && *again == target);
  // Userinfo reaches another server only when the Location itself has some.
  if (target.host() != base.host() || target.port() != base.port()) {
    check(!target.has_userinfo() || location.find('@') != std::string_view::npos);
  }
  // RFC 9110 §10.2.2: a Location without a fragment inherits the current
  // one; the client appends it to the target's text, which must stay a URL.
  if (!target.has_fragment() && base.has_fragment()) {
    const auto with_fragment = nethttp::Url::parse(target.str() + "#" + base.fragment());
    check(with_fragment.ok());
    check(with_fragment->fragment() == base.fragment());
    check(with_fragment->host() == target.host() &&
          with_fragment->request_target() == target.request_target());
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> lines;
  while (!rest.empty()) {
    const std::size_t eol = rest.find('\n');
    lines.push_back(rest.substr(0, eol));
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
  }
  lines.resize(std::max<std::size_t>(lines.size(), 3));

  auto base = nethttp::Url::parse(lines[0]);
  if (!base) base = nethttp::Url::parse(kBases[control >> 6]);
  check(base.ok());
  const std::string_view location = lines[1];
  const std::string_view method = lines[2].empty() ? std::string_view("GET") : lines[2];
  std::vector<std::string_view> names(kFixedNames.begin(), kFixedNames.end());
  names.insert(names.end(), lines.begin() + 3, lines.end());

  const int status = kStatuses[control & 15];
  nethttp::RequestBody body;
  switch ((control >> 4) & 3) {
    case 1: body = nethttp::RequestBody::from_string("payload"); break;
    case 2: body = nethttp::RequestBody::from_stream(nullptr, 7); break;
    default: break;
  }
  check_behavior(method, status, body);

  const auto target = base->resolve(location);
  if (!target) {
    check(target.error().kind() == nethttp::ErrorKind::bad_url);
    return 0;
  }
  check_target(*base, location, *target);
  check_headers(names, *base, *target);
  check_referer(*base, *target);
  // Back again: the decisions depend on which way the hop goes.
  check_headers(names, *target, *base);
  check_referer(*target, *base);
  return 0;
}
