// An RFC 6265 cookie jar: stores cookies from Set-Cookie fields and gives
// back the ones to send, with Go's net/http/cookiejar as the behavioural model.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nethttp/error.h"
#include "nethttp/url.h"

namespace nethttp {

/// One stored cookie (RFC 6265 §5.3). A value type.
struct Cookie {
  /// The SameSite attribute (RFC 6265bis §5.6.7), parsed and kept; a client
  /// that is not a browser has no "site" to enforce it against.
  enum class SameSite {
    unset,   ///< no SameSite attribute
    lax,     ///< SameSite=Lax
    strict,  ///< SameSite=Strict
    none     ///< SameSite=None
  };

  std::string name;   ///< the cookie's name
  std::string value;  ///< as sent, quotes included
  /// Lower-cased, without a leading dot: the request host for a host-only
  /// cookie, the Domain attribute otherwise.
  std::string domain;
  std::string path;  ///< starts with "/"
  /// When the cookie expires; none for a session cookie (kept until the jar goes).
  std::optional<std::chrono::system_clock::time_point> expires;
  bool secure = false;     ///< sent over https only
  bool http_only = false;  ///< kept for saving; every cookie of this client is HTTP
  bool host_only = true;   ///< sent to `domain` exactly, not to its subdomains
  /// The SameSite attribute; unset when absent.
  SameSite same_site = SameSite::unset;
  /// When it was first stored; a cookie that replaces its namesake keeps
  /// the old creation time (RFC 6265 §5.3 step 11).
  std::chrono::system_clock::time_point created;
  /// When cookies() last returned it (else when it was stored); beyond the
  /// jar's limits the least recently accessed cookies are evicted first.
  std::chrono::system_clock::time_point last_access;

  /// Field by field.
  friend bool operator==(const Cookie&, const Cookie&) = default;
};

/// How a CookieJar behaves.
struct CookieJarOptions {
  /// Reject Domain attributes that are public suffixes ("co.uk",
  /// "github.io") through libpsl's built-in list (RFC 6265 §5.3 step 5).
  /// Without it only single-label domains ("com") count as public suffixes.
  bool use_public_suffix_list = true;
  /// The wall clock expiry is measured against; empty means
  /// std::chrono::system_clock::now. Called without the jar's lock held, from
  /// any thread that uses the jar.
  std::function<std::chrono::system_clock::time_point()> clock;
  /// RFC 6265 §6.1 asks for at least 50 cookies per domain and 3000 in all.
  /// "Domain" here is the registrable domain (eTLD+1) of the cookie's domain.
  /// Beyond either limit, the least recently accessed cookies are evicted.
  std::size_t max_cookies_per_domain = 50;
  std::size_t max_cookies_total = 3000;  ///< see max_cookies_per_domain
};

/// Cookies received in responses, to send back in requests (RFC 6265).
///
/// Thread-safe: every member may be called from any thread at the same time;
/// one mutex guards the store and is never held while calling the clock or
/// doing file I/O. Not copyable or movable (share it through a pointer).
/// Nothing blocks beyond that mutex, except load() and save() which do file I/O.
/// A Client uses no jar unless given one (as Go's).
class CookieJar {
 public:
  /// An empty jar with these options, which do not change afterwards.
  explicit CookieJar(CookieJarOptions options = {});
  ~CookieJar();
  CookieJar(const CookieJar&) = delete;
  CookieJar& operator=(const CookieJar&) = delete;

  /// Stores the cookies of a response to `url` from its Set-Cookie field
  /// values (RFC 6265 §5.2, §5.3). Values that do not parse or that the rules
  /// reject (a Domain the host does not match, a public suffix, Secure from
  /// http, more than 4096 bytes of name and value...) are ignored, as
  /// browsers and Go do; an already expired cookie deletes its stored
  /// namesake. Never fails.
  void set_cookies(const Url& url, const std::vector<std::string_view>& set_cookie_values);

  /// The cookies to send with a request to `url`, in RFC 6265 §5.4 order:
  /// longer paths first, then earlier creation. Secure cookies only for
  /// https; the port plays no part (§8.5). Drops expired cookies and marks
  /// the returned ones as accessed now.
  [[nodiscard]] std::vector<Cookie> cookies(const Url& url);

  /// cookies(url) as a Cookie field value, "a=1; b=2"; empty when there are none.
  [[nodiscard]] std::string cookie_header(const Url& url);

  /// Adds the cookies of a Netscape (curl, wget) cookie file: tab-separated
  /// domain, include-subdomains, path, secure, expiry (Unix seconds, 0 for a
  /// session cookie), name, value; "#HttpOnly_" before the domain marks
  /// HttpOnly; other "#" lines are comments. Malformed lines and expired
  /// cookies are skipped, as curl does; a loaded cookie replaces the stored
  /// one of the same name, domain and path. Errors are ErrorKind::io when
  /// the file cannot be read.
  [[nodiscard]] Result<void> load(const std::filesystem::path& file);

  /// Writes every unexpired cookie, session cookies included (expiry 0), in
  /// the format load() reads, replacing `file` atomically (a temporary file
  /// renamed over it). SameSite and creation times are not part of the
  /// format and are not kept. Errors are ErrorKind::io.
  [[nodiscard]] Result<void> save(const std::filesystem::path& file) const;

  /// How many unexpired cookies the jar holds.
  [[nodiscard]] std::size_t size() const;

  /// Removes every cookie.
  void clear();

 private:
  struct State;
  std::unique_ptr<State> state_;  // never null; its mutex guards the store
};

}  // namespace nethttp
