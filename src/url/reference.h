// URI references (RFC 3986 §4.1): splitting into components, dot-segment
// removal and resolution against a base (§5.2), recomposition (§5.3).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nethttp/error.h"

namespace nethttp::url {

/// The five components of a URI reference, borrowed from the text. A
/// component that is absent is nullopt; one that is present may be empty
/// ("http://a/?" has an empty query, "http://a/" none).
struct ReferenceParts {
  std::optional<std::string_view> scheme;
  std::optional<std::string_view> authority;
  std::string_view path;
  std::optional<std::string_view> query;
  std::optional<std::string_view> fragment;
};

/// Splits any string as the regular expression of RFC 3986 Appendix B does,
/// except that a scheme must be a valid one (ALPHA *( ALPHA / DIGIT / "+" /
/// "-" / "." ), §3.1): "1x:y" is a relative path, not scheme "1x". Never fails.
[[nodiscard]] ReferenceParts split_reference(std::string_view text) noexcept;

/// remove_dot_segments (RFC 3986 §5.2.4): "/a/b/../c/./d" -> "/a/c/d".
[[nodiscard]] std::string remove_dot_segments(std::string_view input);

/// The components of a resolved reference, owned.
struct ResolvedParts {
  std::string scheme;
  std::optional<std::string> authority;
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

/// Transform References (RFC 3986 §5.2.2, strict): `reference` resolved against
/// `base`. Errors (ErrorKind::bad_url): a base without a scheme, and a control
/// character in either, which no URI may contain.
[[nodiscard]] Result<ResolvedParts> resolve_parts(std::string_view base, std::string_view reference);

/// Component Recomposition (RFC 3986 §5.3). A path that would be read as an
/// authority (no authority, path starting with "//") gets a "/." prefix, as in
/// WHATWG URL: the same path after dot-segment removal, and a string that
/// parses back to the same components.
[[nodiscard]] std::string recompose(const ResolvedParts& parts);

}  // namespace nethttp::url
