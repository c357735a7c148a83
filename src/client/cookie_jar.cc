#include "nethttp/cookie_jar.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>

#include "base/ascii.h"
#include "base/thread_annotations.h"
#include "client/cookie_domain.h"
#include "client/cookie_file.h"
#include "client/cookie_parse.h"

namespace nethttp {
namespace {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

/// No cookie lives longer than this from when it is stored (RFC 6265bis
/// §5.6.1, §5.6.2: 400 days). It also keeps expiry times far inside
/// system_clock's range, whatever the Expires year or Max-Age.
constexpr std::chrono::seconds kMaxLifetime = std::chrono::days{400};

/// Where a cookie is stored: RFC 6265 §5.3 step 11's "same name, domain and path".
using Key = std::tuple<std::string, std::string, std::string>;  // domain, path, name

/// A stored cookie and the bookkeeping the rules need.
struct Entry {
  Cookie cookie;
  std::string limit_key;       ///< the registrable domain it counts against
  std::uint64_t creation_seq;  ///< breaks ties of equal creation times (§5.4 order)
  std::uint64_t access_seq;    ///< breaks ties of equal access times (eviction)
};

bool is_expired(const Cookie& cookie, TimePoint now) {
  return cookie.expires && *cookie.expires <= now;
}

/// What a Set-Cookie amounts to once judged against its request (§5.3).
struct Judged {
  Cookie cookie;
  bool expired = false;  ///< stores nothing, deletes its namesake
};

/// The expiry of §5.3 step 3, capped at kMaxLifetime; `expired` when it is
/// already past (Max-Age <= 0, or an Expires not after now).
void apply_expiry(const cookie::SetCookie& parsed, TimePoint now, Judged& out) {
  const auto now_s = std::chrono::floor<std::chrono::seconds>(now);
  if (parsed.max_age) {  // Max-Age wins over Expires (§5.3 step 3)
    if (*parsed.max_age <= 0) {
      out.expired = true;
      return;
    }
    out.cookie.expires = now + std::min(std::chrono::seconds(*parsed.max_age), kMaxLifetime);
  } else if (parsed.expires) {
    if (*parsed.expires <= now_s) {
      out.expired = true;
      return;
    }
    out.cookie.expires = std::min(*parsed.expires, now_s + kMaxLifetime);
  }
}

/// §5.3 steps 2-10 (and RFC 6265bis' Secure and prefix rules) for one parsed
/// Set-Cookie from a response to `url`; none when the cookie must be ignored.
std::optional<Judged> judge(cookie::SetCookie parsed, const Url& url, TimePoint now, bool use_list) {
  const std::string host = ascii::lowered(url.hostname());
  Judged out;
  Cookie& c = out.cookie;
  c.name = std::move(parsed.name);
  c.value = std::move(parsed.value);
  apply_expiry(parsed, now, out);

  std::string domain = parsed.domain.value_or("");
  if (!domain.empty() && cookie::is_ip_host(host)) {
    // An IP address matches only itself (§5.1.3); such a cookie is host-only, as Go's.
    if (domain != host) return std::nullopt;
    domain.clear();
  }
  if (!domain.empty() && cookie::is_public_suffix(domain, use_list)) {
    // §5.3 step 5: a public suffix is only acceptable as the host itself, and then host-only.
    if (domain != host) return std::nullopt;
    domain.clear();
  }
  if (!domain.empty()) {
    if (!cookie::domain_match(host, domain)) return std::nullopt;  // step 6
    c.host_only = false;
    c.domain = std::move(domain);
  } else {
    c.host_only = true;
    c.domain = host;
  }

  c.path = parsed.path ? std::move(*parsed.path) : cookie::default_path(url.path());  // step 7
  c.secure = parsed.secure;
  // RFC 6265bis §5.7 step 10: only secure origins set Secure cookies.
  if (c.secure && !url.is_https()) return std::nullopt;
  // RFC 6265bis §4.1.3: the __Secure- and __Host- name prefixes.
  const std::string_view name = c.name;
  if (name.size() >= 9 && ascii::iequals(name.substr(0, 9), "__Secure-") && !c.secure) return std::nullopt;
  if (name.size() >= 7 && ascii::iequals(name.substr(0, 7), "__Host-") &&
      (!c.secure || !c.host_only || c.path != "/"))
    return std::nullopt;
  c.http_only = parsed.http_only;
  c.same_site = parsed.same_site;
  c.created = now;
  c.last_access = now;
  return out;
}

/// Orders by the least recently accessed first.
bool accessed_earlier(const Entry& a, const Entry& b) {
  return std::tie(a.cookie.last_access, a.access_seq) < std::tie(b.cookie.last_access, b.access_seq);
}

}  // namespace

struct CookieJar::State {
  explicit State(CookieJarOptions o) : options(std::move(o)) {}

  TimePoint now() const { return options.clock ? options.clock() : Clock::now(); }

  /// Removes every expired cookie (§5.3: "the user agent MUST evict all expired cookies").
  void remove_expired_locked(TimePoint t) REQUIRES(mu) {
    std::erase_if(entries, [t](const auto& item) { return is_expired(item.second.cookie, t); });
  }

  /// Whether an insecure origin may not set `c` because a Secure cookie of
  /// the same name would be shadowed (RFC 6265bis §5.7 step 16).
  bool shadows_secure_cookie_locked(const Cookie& c) const REQUIRES(mu) {
    for (const auto& [key, entry] : entries) {
      const Cookie& old = entry.cookie;
      if (old.secure && old.name == c.name &&
          (cookie::domain_match(c.domain, old.domain) || cookie::domain_match(old.domain, c.domain)) &&
          cookie::path_match(c.path, old.path))
        return true;
    }
    return false;
  }

  /// §5.3 steps 11-12: replaces the namesake (keeping its creation time) or
  /// deletes it when `expired`, then keeps the limits.
  void store_locked(Cookie c, bool expired, const std::string& limit_key) REQUIRES(mu) {
    Key key{c.domain, c.path, c.name};
    std::uint64_t creation_seq = next_seq;
    if (auto it = entries.find(key); it != entries.end()) {
      c.created = it->second.cookie.created;
      creation_seq = it->second.creation_seq;
      entries.erase(it);
    }
    if (expired) return;
    const std::uint64_t seq = next_seq++;
    entries.emplace(std::move(key), Entry{std::move(c), limit_key, creation_seq, seq});
    enforce_limits_locked(limit_key);
  }

  /// Evicts the least recently accessed cookies of `limit_key`, then of the
  /// whole jar, until both limits hold (§5.3, §6.1). Expired cookies are
  /// already gone (remove_expired_locked runs before every store).
  void enforce_limits_locked(const std::string& limit_key) REQUIRES(mu) {
    const auto in_domain = [&](const auto& item) { return item.second.limit_key == limit_key; };
    std::size_t domain_count =
        static_cast<std::size_t>(std::count_if(entries.begin(), entries.end(), in_domain));
    while (domain_count > options.max_cookies_per_domain) {
      auto victim = entries.end();
      for (auto it = entries.begin(); it != entries.end(); ++it) {
        if (in_domain(*it) && (victim == entries.end() || accessed_earlier(it->second, victim->second)))
          victim = it;
      }
      entries.erase(victim);
      --domain_count;
    }
    while (entries.size() > options.max_cookies_total) {
      const auto victim = std::min_element(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return accessed_earlier(a.second, b.second);
      });
      entries.erase(victim);
    }
  }

  const CookieJarOptions options;  // immutable after construction
  mutable Mutex mu;                // guards the following fields
  std::map<Key, Entry> entries GUARDED_BY(mu);
  std::uint64_t next_seq GUARDED_BY(mu) = 0;  // creation and access order
};

CookieJar::CookieJar(CookieJarOptions options) : state_(std::make_unique<State>(std::move(options))) {}

CookieJar::~CookieJar() = default;

void CookieJar::set_cookies(const Url& url, const std::vector<std::string_view>& set_cookie_values) {
  const TimePoint now = state_->now();
  const bool use_list = state_->options.use_public_suffix_list;
  // Parse and judge outside the lock: pure work, and the PSL lookups are the costly part.
  std::vector<std::pair<Judged, std::string>> judged;
  judged.reserve(set_cookie_values.size());
  for (const std::string_view text : set_cookie_values) {
    auto parsed = cookie::parse_set_cookie(text);
    if (!parsed) continue;
    auto result = judge(*std::move(parsed), url, now, use_list);
    if (!result) continue;
    std::string limit_key = cookie::registrable_domain(result->cookie.domain, use_list);
    judged.emplace_back(*std::move(result), std::move(limit_key));
  }
  if (judged.empty()) return;

  LockGuard lock(state_->mu);
  state_->remove_expired_locked(now);
  for (auto& [result, limit_key] : judged) {
    if (!url.is_https() && !result.cookie.secure && state_->shadows_secure_cookie_locked(result.cookie))
      continue;
    state_->store_locked(std::move(result.cookie), result.expired, limit_key);
  }
}

std::vector<Cookie> CookieJar::cookies(const Url& url) {
  const TimePoint now = state_->now();
  const std::string host = ascii::lowered(url.hostname());
  const std::string& path = url.path();
  std::vector<std::pair<const Cookie*, std::uint64_t>> matched;  // the cookie, its creation_seq

  std::vector<Cookie> out;
  LockGuard lock(state_->mu);
  state_->remove_expired_locked(now);
  for (auto& [key, entry] : state_->entries) {
    Cookie& c = entry.cookie;
    // §5.4 step 1.
    const bool domain_ok = c.host_only ? host == c.domain : cookie::domain_match(host, c.domain);
    if (!domain_ok || !cookie::path_match(path, c.path) || (c.secure && !url.is_https())) continue;
    c.last_access = now;  // §5.4 step 3
    entry.access_seq = state_->next_seq++;
    matched.emplace_back(&c, entry.creation_seq);
  }
  // §5.4 step 2: longer paths first, then earlier creation.
  std::sort(matched.begin(), matched.end(), [](const auto& a, const auto& b) {
    if (a.first->path.size() != b.first->path.size()) return a.first->path.size() > b.first->path.size();
    return std::tie(a.first->created, a.second) < std::tie(b.first->created, b.second);
  });
  out.reserve(matched.size());
  for (const auto& m : matched) out.push_back(*m.first);
  return out;
}

std::string CookieJar::cookie_header(const Url& url) {
  std::string header;
  for (const Cookie& c : cookies(url)) {
    if (!header.empty()) header += "; ";
    header += c.name;
    header += '=';
    header += c.value;
  }
  return header;
}

Result<void> CookieJar::load(const std::filesystem::path& file) {
  const TimePoint now = state_->now();
  const bool use_list = state_->options.use_public_suffix_list;
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    return Error(ErrorKind::io, "opening cookie file " + file.string() + ": " + std::strerror(err), err);
  }
  std::string text;
  char buffer[8192];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed)
    return Error(ErrorKind::io, "reading cookie file " + file.string() + ": " + std::strerror(err), err);

  std::vector<std::pair<Cookie, std::string>> loaded;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    auto c = cookie::parse_netscape_line(line, now);
    if (!c || is_expired(*c, now)) continue;
    if (c->expires) c->expires = std::min(*c->expires, now + kMaxLifetime);
    std::string limit_key = cookie::registrable_domain(c->domain, use_list);
    loaded.emplace_back(*std::move(c), std::move(limit_key));
  }

  LockGuard lock(state_->mu);
  state_->remove_expired_locked(now);
  for (auto& [c, limit_key] : loaded) state_->store_locked(std::move(c), false, limit_key);
  return {};
}

Result<void> CookieJar::save(const std::filesystem::path& file) const {
  const TimePoint now = state_->now();
  std::string text = "# Netscape HTTP Cookie File\n# Written by nethttp.\n\n";
  {
    LockGuard lock(state_->mu);
    for (const auto& [key, entry] : state_->entries) {
      if (is_expired(entry.cookie, now) || !cookie::is_representable(entry.cookie)) continue;
      text += cookie::format_netscape_line(entry.cookie);
      text += '\n';
    }
  }
  std::filesystem::path temporary = file;
  temporary += ".tmp";
  std::FILE* f = std::fopen(temporary.c_str(), "wb");
  if (f == nullptr) {
    const int err = errno;
    return Error(ErrorKind::io, "creating cookie file " + temporary.string() + ": " + std::strerror(err),
                 err);
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (written && !closed) err = errno;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    return Error(ErrorKind::io, "writing cookie file " + temporary.string() + ": " + std::strerror(err), err);
  }
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) {
    std::remove(temporary.c_str());
    return Error(ErrorKind::io,
                 "renaming " + temporary.string() + " to " + file.string() + ": " + ec.message(), ec.value());
  }
  return {};
}

std::size_t CookieJar::size() const {
  const TimePoint now = state_->now();
  LockGuard lock(state_->mu);
  return static_cast<std::size_t>(
      std::count_if(state_->entries.begin(), state_->entries.end(),
                    [now](const auto& item) { return !is_expired(item.second.cookie, now); }));
}

void CookieJar::clear() {
  LockGuard lock(state_->mu);
  state_->entries.clear();
}

}  // namespace nethttp
