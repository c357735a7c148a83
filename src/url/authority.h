// The authority of an http(s) URL (RFC 3986 §3.2): userinfo, host, port.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nethttp/error.h"

namespace nethttp::url {

struct Authority {
  bool has_userinfo = false;
  std::string username;  ///< percent-decoded
  std::string password;  ///< percent-decoded; empty when absent
  std::string host;      ///< canonical, see parse_host()
  /// The explicit port; nullopt when absent or empty ("http://a:/" means the
  /// default port, RFC 3986 §6.2.3).
  std::optional<std::uint16_t> port;
};

/// Parses the authority of an http(s) URL (the text between "//" and the
/// path). `input` is the whole URL, quoted in errors (ErrorKind::bad_url).
[[nodiscard]] Result<Authority> parse_authority(std::string_view text, std::string_view input);

}  // namespace nethttp::url
