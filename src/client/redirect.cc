#include "client/redirect.h"

#include "base/ascii.h"

namespace nethttp::client {
namespace {

/// `sub` is `parent` or a name under it ("a.example.com" under
/// "example.com"); IPv6 literals only match themselves.
bool is_domain_or_subdomain(std::string_view sub, std::string_view parent) {
  if (sub == parent) return true;
  if (sub.find_first_of(":%[") != std::string_view::npos) return false;
  return sub.size() > parent.size() && sub.ends_with(parent) && sub[sub.size() - parent.size() - 1] == '.';
}

}  // namespace

std::optional<RedirectBehavior> redirect_behavior(const Request& request, int status) {
  switch (status) {
    case 301:
    case 302:
    case 303:
      if (request.method == "GET" || request.method == "HEAD") return RedirectBehavior{request.method, false};
      return RedirectBehavior{"GET", false};
    case 307:
    case 308:
      // The same request again: only possible when its body can be sent again.
      if (!request.body.is_replayable()) return std::nullopt;
      return RedirectBehavior{request.method, !request.body.is_none()};
    default: return std::nullopt;
  }
}

bool keeps_header_on_redirect(std::string_view name, const Url& origin, const Url& target) {
  const bool sensitive = ascii::iequals(name, "authorization") || ascii::iequals(name, "www-authenticate") ||
                         ascii::iequals(name, "cookie") || ascii::iequals(name, "cookie2");
  if (!sensitive) return true;
  // Credentials may follow to the same server or one under its name (a
  // Cookie set by hand is assumed to be for *.host, as Go assumes), never
  // elsewhere — and stricter than Go, never to another port, nor in clear
  // text after https.
  if (origin.is_https() && !target.is_https()) return false;
  return target.port() == origin.port() && is_domain_or_subdomain(target.host(), origin.host());
}

std::string referer_for(const Url& from, const Url& target) {
  // RFC 9110 §10.1.3: no Referer from a secure page to an insecure one.
  if (from.is_https() && !target.is_https()) return {};
  return from.scheme() + "://" + from.authority() + from.request_target();
}

}  // namespace nethttp::client
