// What a redirect asks of the next request: one decision, as Go's client makes it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nethttp/request.h"
#include "nethttp/url.h"

namespace nethttp::client {

/// How to follow a 3xx response.
struct RedirectBehavior {
  std::string method;      ///< of the next request
  bool keep_body = false;  ///< send the same (replayed) body again
};

/// Whether and how the response `status` to `request` is followed (Go's
/// redirectBehavior), or nullopt when it is returned as is:
/// - 301, 302, 303: any method but GET and HEAD becomes GET, without a body
///   (RFC 9110 §15.4.2–4 allow it; every browser does it);
/// - 307, 308: same method and body (RFC 9110 §15.4.8–9), so a body that
///   cannot be replayed means the 3xx is returned as is;
/// - anything else (300, 304, 305, 306...) is not followed.
/// A 3xx without Location is returned as is too, but that is the caller's
/// check: it needs the response.
[[nodiscard]] std::optional<RedirectBehavior> redirect_behavior(const Request& request, int status);

/// Whether a header the caller set may go on to `target` after a redirect
/// from `origin` (the first request's URL): Authorization, WWW-Authenticate,
/// Cookie and Cookie2 only when the target's host:port is the original one
/// or its host a subdomain of the original host (Go's
/// shouldCopyHeaderOnRedirect), and not from https to http; every other
/// header always.
[[nodiscard]] bool keeps_header_on_redirect(std::string_view name, const Url& origin, const Url& target);

/// The Referer for a request to `target` made from a page at `from` (Go's
/// refererForURL): `from` without userinfo and fragment, or empty when going
/// from https to http.
[[nodiscard]] std::string referer_for(const Url& from, const Url& target);

}  // namespace nethttp::client
