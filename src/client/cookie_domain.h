// Domain and path rules of RFC 6265 §5.1.3, §5.1.4 and the public suffix
// check of §5.3 step 5 (through libpsl). Pure functions of their arguments
// and libpsl's built-in list.
#pragma once

#include <string>
#include <string_view>

namespace nethttp::cookie {

/// A host that is an IP address: an IPv6 literal (with or without brackets)
/// or a name whose last label is all digits (dotted IPv4; WHATWG treats such a
/// host as IPv4 too, so it can never be a registered name).
[[nodiscard]] bool is_ip_host(std::string_view host);

/// §5.1.3: `host` domain-matches `domain` when they are identical, or when
/// `domain` is a suffix of `host` after a '.' and `host` is not an IP
/// address. Both lower-case.
[[nodiscard]] bool domain_match(std::string_view host, std::string_view domain);

/// §5.1.4: the default path of a request path (up to, not including, its
/// right-most '/'; "/" when there is none beyond the first character).
[[nodiscard]] std::string default_path(std::string_view request_path);

/// §5.1.4: `request_path` path-matches `cookie_path`.
[[nodiscard]] bool path_match(std::string_view request_path, std::string_view cookie_path);

/// §5.3 step 5: `domain` (lower-case) is a public suffix. With
/// `use_list`, libpsl's built-in list, ICANN and private sections
/// ("co.uk", "github.io"), and its implicit "*" rule (any single label);
/// without it, only single labels.
[[nodiscard]] bool is_public_suffix(std::string_view domain, bool use_list);

/// The registrable domain (eTLD+1) of `domain`, for per-domain limits; the
/// domain itself when it has none (an IP, a public suffix) or without the list.
[[nodiscard]] std::string registrable_domain(std::string_view domain, bool use_list);

}  // namespace nethttp::cookie
