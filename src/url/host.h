// The host of an http(s) URL (RFC 3986 §3.2.2), checked and normalised.
#pragma once

#include <string>
#include <string_view>

#include "nethttp/error.h"

namespace nethttp::url {

/// Parses the host part of an authority (without port, IPv6 brackets
/// included) into its canonical form: a lower-cased reg-name, a dotted-decimal
/// IPv4 address, or "[<RFC 5952 text>]". `input` is the whole URL, quoted in
/// errors (ErrorKind::bad_url): an empty host, a bad character or escape, an
/// invalid IPv6 literal, an IPv6 zone or IPvFuture literal (unsupported), and
/// a host that looks numeric but is not a dotted-decimal IPv4 address.
[[nodiscard]] Result<std::string> parse_host(std::string_view host, std::string_view input);

}  // namespace nethttp::url
