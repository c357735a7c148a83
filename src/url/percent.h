// Percent-encoding (RFC 3986 §2.1): checking, normalising, decoding, encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nethttp::url {

/// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3).
[[nodiscard]] bool is_unreserved(char c) noexcept;
/// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "=" (§2.2).
[[nodiscard]] bool is_sub_delim(char c) noexcept;
/// A control character (0x00-0x1F, 0x7F): never allowed anywhere in a URL.
[[nodiscard]] bool is_control(char c) noexcept;
/// A byte RFC 3986 does not allow in a URL but that clients meet unescaped in
/// the wild (space, non-ASCII, `"` `<` `>` `\` `^` `` ` `` `{` `|` `}`): we
/// percent-encode it rather than reject the URL, as browsers and curl do.
[[nodiscard]] bool is_encoded_on_input(char c) noexcept;

/// The escape at the start of `text` (which starts with '%'): its first three
/// bytes or fewer, "%41" or, when malformed, what to quote ("%zz", "%4").
[[nodiscard]] std::string_view escape_at(std::string_view text) noexcept;

/// Appends path, query or fragment text to `out` normalised per RFC 3986
/// §6.2.2.1 and §6.2.2.2: escapes of unreserved characters decoded, other
/// escapes' hex upper-cased (reserved characters stay encoded: "%2F" is not
/// "/"), is_encoded_on_input() bytes encoded, everything else copied. On a
/// malformed escape returns it (see escape_at()) and `out` is unspecified.
/// Control characters must have been rejected before.
[[nodiscard]] std::optional<std::string_view> append_normalized(std::string_view text, std::string& out);

/// Appends `text` percent-decoded to `out`; on a malformed escape returns it.
[[nodiscard]] std::optional<std::string_view> append_decoded(std::string_view text, std::string& out);

/// `text` with escapes of unreserved characters decoded (§6.2.2.2) and every
/// other byte, malformed escapes included, as it was. Equivalent text in
/// which "%2E%2E" is a dot segment as ".." is.
[[nodiscard]] std::string decode_unreserved(std::string_view text);

/// Appends decoded userinfo text to `out` encoded so that it parses back to
/// the same bytes: unreserved and sub-delims stay, and ':' too when
/// `keep_colon` (a password may hold ':'; a user name may not, §3.2.1).
void append_userinfo_encoded(std::string_view decoded, bool keep_colon, std::string& out);

/// Appends "%XX" (upper-case hex, §2.1) for `byte`.
void append_escape(char byte, std::string& out);

}  // namespace nethttp::url
