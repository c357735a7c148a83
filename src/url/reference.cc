#include "url/reference.h"

#include <optional>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "nethttp/url.h"
#include "url/bad_url.h"
#include "url/percent.h"

namespace nethttp::url {
namespace {

bool is_scheme(std::string_view text) noexcept {
  if (text.empty() || !ascii::is_alpha(text.front())) return false;
  for (const char c : text)
    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

std::optional<std::string> owned(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  return std::string(*text);
}

/// Merge Paths (§5.2.3).
std::string merge(const ReferenceParts& base, std::string_view reference_path) {
  if (base.authority && base.path.empty()) return "/" + std::string(reference_path);
  const std::size_t slash = base.path.rfind('/');
  std::string merged(slash == std::string_view::npos ? std::string_view() : base.path.substr(0, slash + 1));
  merged += reference_path;
  return merged;
}

std::optional<Error> find_control_character(std::string_view text, std::string_view what) {
  for (const char c : text) {
    if (is_control(c)) {
      return bad_url("control character " + quote(std::string_view(&c, 1)) + " in " + std::string(what),
                     text);
    }
  }
  return std::nullopt;
}

}  // namespace

ReferenceParts split_reference(std::string_view text) noexcept {
  ReferenceParts parts;
  // ^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?
  const std::size_t colon = text.find_first_of(":/?#");
  if (colon != std::string_view::npos && text[colon] == ':' && is_scheme(text.substr(0, colon))) {
    parts.scheme = text.substr(0, colon);
    text.remove_prefix(colon + 1);
  }
  if (text.starts_with("//")) {
    text.remove_prefix(2);
    const std::size_t end = text.find_first_of("/?#");
    parts.authority = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  }
  const std::size_t hash = text.find('#');
  if (hash != std::string_view::npos) {
    parts.fragment = text.substr(hash + 1);
    text = text.substr(0, hash);
  }
  const std::size_t question = text.find('?');
  if (question != std::string_view::npos) {
    parts.query = text.substr(question + 1);
    text = text.substr(0, question);
  }
  parts.path = text;
  return parts;
}

std::string remove_dot_segments(std::string_view input) {
  // The algorithm of §5.2.4, step by step; `output` is its output buffer.
  std::string output;
  output.reserve(input.size());
  auto drop_last_segment = [&output] {
    const std::size_t slash = output.rfind('/');
    output.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!input.empty()) {
    if (input.starts_with("../")) {  // A
      input.remove_prefix(3);
    } else if (input.starts_with("./") || input.starts_with("/./")) {  // A, B
      input.remove_prefix(2);
    } else if (input == "/.") {  // B
      input = "/";
    } else if (input.starts_with("/../")) {  // C
      input.remove_prefix(3);
      drop_last_segment();
    } else if (input == "/..") {  // C
      input = "/";
      drop_last_segment();
    } else if (input == "." || input == "..") {  // D
      input = {};
    } else {  // E: the first segment, with its leading "/" if any
      const std::size_t end = input.find('/', 1);
      const std::size_t length = end == std::string_view::npos ? input.size() : end;
      output += input.substr(0, length);
      input.remove_prefix(length);
    }
  }
  return output;
}

Result<ResolvedParts> resolve_parts(std::string_view base, std::string_view reference) {
  if (auto error = find_control_character(base, "base")) return *std::move(error);
  if (auto error = find_control_character(reference, "reference")) return *std::move(error);
  const ReferenceParts b = split_reference(base);
  if (!b.scheme) return bad_url("base is not an absolute URI (no scheme)", base);
  const ReferenceParts r = split_reference(reference);
  ResolvedParts t;
  if (r.scheme) {
    t.scheme = *r.scheme;
    t.authority = owned(r.authority);
    t.path = remove_dot_segments(r.path);
    t.query = owned(r.query);
  } else {
    if (r.authority) {
      t.authority = owned(r.authority);
      t.path = remove_dot_segments(r.path);
      t.query = owned(r.query);
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        t.query = owned(r.query ? r.query : b.query);
      } else {
        if (r.path.starts_with('/')) {
          t.path = remove_dot_segments(r.path);
        } else {
          t.path = remove_dot_segments(merge(b, r.path));
        }
        t.query = owned(r.query);
      }
      t.authority = owned(b.authority);
    }
    t.scheme = *b.scheme;
  }
  t.fragment = owned(r.fragment);
  return t;
}

std::string recompose(const ResolvedParts& parts) {
  std::string out = parts.scheme;
  out += ':';
  if (parts.authority) {
    out += "//";
    out += *parts.authority;
  } else if (parts.path.starts_with("//")) {
    out += "/.";
  }
  out += parts.path;
  if (parts.query) {
    out += '?';
    out += *parts.query;
  }
  if (parts.fragment) {
    out += '#';
    out += *parts.fragment;
  }
  return out;
}

}  // namespace nethttp::url

namespace nethttp {

Result<std::string> resolve_reference(std::string_view base, std::string_view reference) {
  auto parts = url::resolve_parts(base, reference);
  if (!parts) return std::move(parts).error();
  return url::recompose(*parts);
}

}  // namespace nethttp
