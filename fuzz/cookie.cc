// Fuzzes Set-Cookie parsing, the cookie-date algorithm and the jar's
// storage and lookup. Each input line is one operation on a jar with a fake
// clock and small limits: its first byte picks a request URL (low 3 bits)
// and what to do (next 2 bits: store the rest of the line as a Set-Cookie
// value, twice as likely as the others; look cookies up; move the clock).
// Checks the invariants callers rely on, and traps when one breaks.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/cookie_domain.h"
#include "client/cookie_file.h"
#include "client/cookie_parse.h"
#include "nethttp/cookie_jar.h"
#include "nethttp/url.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr std::string_view kUrls[] = {
    "http://example.com/",     "https://www.example.com/docs/page", "http://a.b.example.co.uk/x/y",
    "https://user.github.io/", "http://192.168.0.1:8080/",          "https://[::1]/p/",
    "http://localhost/",       "https://example.com/docs/",
};

nethttp::Url url_at(unsigned index) {
  return *nethttp::Url::parse(kUrls[index % std::size(kUrls)]);
}

/// What every cookie returned for `url` must satisfy (RFC 6265 §5.4).
void check_lookup(nethttp::CookieJar& jar, const nethttp::Url& url,
                  std::chrono::system_clock::time_point now) {
  const auto cookies = jar.cookies(url);
  const std::string host(url.hostname());
  for (std::size_t i = 0; i < cookies.size(); ++i) {
    const nethttp::Cookie& c = cookies[i];
    check(!c.name.empty());
    check(c.name.size() + c.value.size() <= nethttp::cookie::kMaxNameValueBytes);
    check(c.host_only ? c.domain == host : nethttp::cookie::domain_match(host, c.domain));
    check(nethttp::cookie::path_match(url.path(), c.path));
    check(!c.secure || url.is_https());
    check(!c.expires || *c.expires > now);
    check(c.last_access == now && c.created <= now);
    if (i > 0) check(cookies[i - 1].path.size() >= c.path.size());
    if (nethttp::cookie::is_representable(c)) {
      const auto back = nethttp::cookie::parse_netscape_line(nethttp::cookie::format_netscape_line(c), now);
      check(back.has_value());
      check(back->name == c.name && back->value == c.value && back->domain == c.domain &&
            back->path == c.path);
      check(back->secure == c.secure && back->http_only == c.http_only && back->host_only == c.host_only);
    }
  }
  const std::string header = jar.cookie_header(url);
  check(header.find_first_of("\r\n") == std::string::npos);
  check(header.empty() == cookies.empty());
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The parsers alone, on the whole input.
  (void)nethttp::cookie::parse_cookie_date(input);
  if (const auto parsed = nethttp::cookie::parse_set_cookie(input)) {
    check(!parsed->name.empty());
    check(parsed->name.size() + parsed->value.size() <= nethttp::cookie::kMaxNameValueBytes);
    check(!parsed->domain || (!parsed->domain->empty() && parsed->domain->front() != '.'));
    check(!parsed->path || parsed->path->front() == '/');
  }

  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  constexpr std::size_t kPerDomain = 4;
  constexpr std::size_t kTotal = 8;
  nethttp::CookieJarOptions options;
  options.clock = [&now] { return now; };
  options.max_cookies_per_domain = kPerDomain;
  options.max_cookies_total = kTotal;
  nethttp::CookieJar jar(std::move(options));
  std::string_view rest = input;
  while (!rest.empty()) {
    const std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    if (line.empty()) continue;
    const auto op = static_cast<unsigned char>(line.front());
    line.remove_prefix(1);
    const nethttp::Url url = url_at(op & 7u);
    switch ((op >> 3) & 3u) {
      case 0:
      case 1: jar.set_cookies(url, {line}); break;
      case 2: check_lookup(jar, url, now); break;
      case 3: now += std::chrono::seconds(std::int64_t{1} << (line.size() % 32)); break;
    }
    check(jar.size() <= kTotal);
  }
  for (unsigned i = 0; i < std::size(kUrls); ++i) check_lookup(jar, url_at(i), now);
  return 0;
}
