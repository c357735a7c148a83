// Absolute http and https URLs (RFC 3986), parsed, normalised and resolved.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nethttp/error.h"

namespace nethttp {

/// An absolute http or https URL, normalised per RFC 3986 §6.2.2 and §6.2.3:
/// scheme and host lower-cased, percent-encoding hex upper-cased,
/// percent-encoded unreserved characters decoded, dot segments removed, an
/// empty path made "/", a default port dropped. Characters a URL may not
/// contain but that are commonly sent unescaped (space, non-ASCII bytes, `"`,
/// `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`) are percent-encoded; control
/// characters and malformed percent-escapes are rejected.
///
/// A value type: copyable, immutable after parsing, safe to share between
/// threads for reading.
///
/// parse_proxy() also accepts the proxy schemes socks5 and socks5h; every
/// other way to make a Url (parse(), resolve()) yields http or https only.
class Url {
 public:
  /// Parses an absolute http/https URL. Errors are ErrorKind::bad_url and
  /// name the offending part, quoting the input (at most 100 bytes of it, any
  /// password replaced by "xxxxx"): `port "70000" out of range in
  /// "http://a:70000/"`.
  [[nodiscard]] static Result<Url> parse(std::string_view text);

  /// Parses the URL of a proxy: as parse(), but the scheme may also be
  /// "socks5" or "socks5h", whose default port is 1080 (RFC 1928 §3). Only
  /// for proxy settings: a request URL must come from parse(). Errors as
  /// parse() (ErrorKind::bad_url).
  [[nodiscard]] static Result<Url> parse_proxy(std::string_view text);

  /// Resolves a reference (absolute, scheme-relative, absolute-path or
  /// relative, e.g. a Location value) against this URL, exactly as RFC 3986
  /// §5.2 says, then parses the result as parse() does. The fragment of the
  /// reference is kept; if the reference has none, the result has none.
  /// Errors are ErrorKind::bad_url, including a target that is not http/https.
  /// Percent-encoded unreserved characters of the reference are decoded first
  /// (equivalent, §6.2.2.2), so that "%2E%2E" is a dot segment as in parse().
  [[nodiscard]] Result<Url> resolve(std::string_view reference) const;

  /// "http" or "https"; for a URL from parse_proxy() also "socks5" or "socks5h".
  [[nodiscard]] const std::string& scheme() const noexcept { return scheme_; }
  /// Whether the scheme is https.
  [[nodiscard]] bool is_https() const noexcept { return scheme_ == "https"; }
  /// Userinfo's user name and password, percent-decoded; empty when absent.
  [[nodiscard]] const std::string& username() const noexcept { return username_; }
  /// The userinfo's password (see username()).
  [[nodiscard]] const std::string& password() const noexcept { return password_; }
  /// Whether the URL has a userinfo ("...@"), even an empty one.
  [[nodiscard]] bool has_userinfo() const noexcept { return has_userinfo_; }
  /// Host as it goes in the Host header and the pool key: a lower-cased
  /// reg-name, a dotted IPv4 address, or an IPv6 address in brackets in
  /// RFC 5952 form ("[2001:db8::1]").
  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  /// The host without IPv6 brackets, as given to name resolution.
  [[nodiscard]] std::string_view hostname() const noexcept;
  /// Whether the host is an IPv6 address.
  [[nodiscard]] bool is_ipv6() const noexcept { return !host_.empty() && host_.front() == '['; }
  /// The port, the scheme's default (80, 443; 1080 for socks5 and socks5h)
  /// when the URL gives none.
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Whether port() is the scheme's default (then not part of str()).
  [[nodiscard]] bool has_default_port() const noexcept;
  /// Path, percent-encoded, always starting with "/".
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// Query without the "?", percent-encoded; has_query() tells "?" from none.
  [[nodiscard]] const std::string& query() const noexcept { return query_; }
  /// Whether the URL has a "?", even with an empty query.
  [[nodiscard]] bool has_query() const noexcept { return has_query_; }
  /// Fragment without the "#": kept for the caller, never sent on the wire.
  [[nodiscard]] const std::string& fragment() const noexcept { return fragment_; }
  /// Whether the URL has a "#", even with an empty fragment.
  [[nodiscard]] bool has_fragment() const noexcept { return has_fragment_; }

  /// host, plus ":port" unless it is the scheme's default: the Host header value.
  [[nodiscard]] std::string authority() const;
  /// Appends authority() to `out` (no allocation when `out` has room).
  void append_authority(std::string& out) const;
  /// host:port, always with the port (CONNECT's authority-form, pool keys).
  [[nodiscard]] std::string host_port() const;
  /// Appends host_port() to `out` (no allocation when `out` has room).
  void append_host_port(std::string& out) const;
  /// path plus "?query": the origin-form request target.
  [[nodiscard]] std::string request_target() const;
  /// The whole URL, userinfo and fragment included.
  [[nodiscard]] std::string str() const;
  /// The URL with the password, if not empty, replaced by "xxxxx" (Go's
  /// Redacted): for logs.
  [[nodiscard]] std::string redacted() const;

  /// Component by component; both are normalised, so equivalent spellings compare equal.
  friend bool operator==(const Url&, const Url&) = default;

 private:
  /// parse() and parse_proxy(): the same rules, `proxy` adding the socks schemes.
  [[nodiscard]] static Result<Url> parse_as(std::string_view text, bool proxy);

  std::string scheme_;
  std::string username_;
  std::string password_;
  std::string host_;
  std::string path_;
  std::string query_;
  std::string fragment_;
  std::uint16_t port_ = 0;
  bool has_userinfo_ = false;
  bool has_query_ = false;
  bool has_fragment_ = false;
};

/// Resolves a URI reference against an absolute base URI of any scheme
/// exactly as RFC 3986 §5.2 (strict: a reference with a scheme is used as
/// is), with remove_dot_segments (§5.2.4); no other normalisation. For tests
/// and for callers that handle schemes other than http(s). Errors are
/// ErrorKind::bad_url (a base that is not absolute, a malformed reference).
[[nodiscard]] Result<std::string> resolve_reference(std::string_view base, std::string_view reference);

/// Whether the URL's host looks internal to the caller's network: a
/// loopback, private (RFC 1918, unique local), link-local (cloud metadata
/// services), CGNAT or unspecified address literal, or the name "localhost",
/// a name under .localhost, .local, .home.arpa or .internal, or a name of
/// one label. What a name resolves to is not looked at (a dial hook can).
/// The Client refuses a redirect from a host that is not internal to one
/// that is, unless ClientOptions::allow_internal_redirects says otherwise.
[[nodiscard]] bool has_internal_host(const Url& url);

/// `text`, a URL as typed, parsed or not, with the password of its userinfo
/// replaced by "xxxxx" and every other byte unchanged (so it still reads as
/// the input): for echoing input in logs and messages. Text that would not
/// parse is read generously: a password may hold "/", "?" or "#", and
/// "user:pass@host" may lack its scheme. Url::redacted() is the same for a
/// parsed URL, in its normal form.
[[nodiscard]] std::string redact_url_text(std::string_view text);

}  // namespace nethttp
