// Fuzzes Url::parse, Url::resolve and resolve_reference. The input is a base
// and a reference separated by the first '\n' (no '\n': both are the input).
// Checks the invariants callers rely on, and traps when one breaks.
#include "nethttp/url.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

bool is_control_or_space(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte >= 0x7f;
}

/// No "." or ".." segment (encoded or not) survives normalisation.
bool has_dot_segment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

/// What every successfully parsed Url must satisfy.
void check_url(const nethttp::Url& u) {
  check(u.scheme() == "http" || u.scheme() == "https");
  check(!u.host().empty());
  check(u.port() != 0);
  for (const char c : u.host()) check(!is_control_or_space(c) && !(c >= 'A' && c <= 'Z'));

  const std::string target = u.request_target();
  check(!target.empty() && target.front() == '/');
  check(target.starts_with(u.path()));
  for (const char c : target) check(!is_control_or_space(c) && c != '#');
  check(!has_dot_segment(u.path()));

  // Normalisation is idempotent: the text of a Url parses back to it.
  const std::string text = u.str();
  for (const char c : text) check(!is_control_or_space(c));
  const auto again = nethttp::Url::parse(text);
  check(again.ok());
  check(*again == u);
  check(again->str() == text);

  // The redacted form is a URL too, with the same host and target.
  const auto redacted = nethttp::Url::parse(u.redacted());
  check(redacted.ok());
  check(redacted->host() == u.host() && redacted->request_target() == target);
  check(u.password().empty() || u.redacted().find(":xxxxx@") != std::string::npos);

  check(u.authority().starts_with(u.host()));
  check(u.host_port().starts_with(u.host() + ":"));

  // Resolving the empty reference gives the URL without its fragment; and
  // the URL itself, the URL.
  const auto same = u.resolve("");
  check(same.ok());
  check(same->request_target() == target && same->host() == u.host() && !same->has_fragment());
  const auto self = u.resolve(text);
  check(self.ok());
  check(*self == u);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view base = newline == std::string_view::npos ? input : input.substr(0, newline);
  const std::string_view reference = newline == std::string_view::npos ? input : input.substr(newline + 1);

  const auto base_url = nethttp::Url::parse(base);
  if (base_url) check_url(*base_url);
  const auto reference_url = nethttp::Url::parse(reference);
  if (reference_url) check_url(*reference_url);

  const auto generic = nethttp::resolve_reference(base, reference);
  if (generic) {
    // No control character gets through (they are rejected, not copied).
    for (const char c : *generic) check(!(static_cast<unsigned char>(c) < 0x20 || c == 0x7f));
    // An absolute reference resolves to itself, dot segments aside (and
    // encoded dots, which only Url::resolve() treats as dots).
    if (reference_url && reference.find('%') == std::string_view::npos) {
      const auto reparsed = nethttp::Url::parse(*generic);
      check(reparsed.ok() && *reparsed == *reference_url);
    }
  }

  if (base_url) {
    const auto resolved = base_url->resolve(reference);
    if (resolved) check_url(*resolved);
    // An absolute http(s) reference wins over any base.
    if (reference_url) check(resolved.ok() && *resolved == *reference_url);
  }
  return 0;
}
