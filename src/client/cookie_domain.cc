#include "client/cookie_domain.h"

#include <libpsl.h>

#include "base/ascii.h"

namespace nethttp::cookie {
namespace {

/// libpsl's compiled-in list; null if this libpsl was built without one, in
/// which case only the single-label rule applies. Shared, immutable, owned by
/// libpsl (never freed).
const psl_ctx_t* builtin_list() {
  static const psl_ctx_t* const list = psl_builtin();
  return list;
}

}  // namespace

bool is_ip_host(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return true;  // IPv6, bracketed or not
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const std::size_t dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  for (const char c : last)
    if (!ascii::is_digit(c)) return false;
  return true;
}

bool domain_match(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  return !domain.empty() && host.size() > domain.size() && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] == '.' && !is_ip_host(host);
}

std::string default_path(std::string_view request_path) {
  // §5.1.4 steps 2-4.
  if (request_path.empty() || request_path.front() != '/') return "/";
  const std::size_t last_slash = request_path.rfind('/');
  if (last_slash == 0) return "/";
  return std::string(request_path.substr(0, last_slash));
}

bool path_match(std::string_view request_path, std::string_view cookie_path) {
  if (request_path == cookie_path) return true;
  if (!request_path.starts_with(cookie_path)) return false;
  // A prefix that ends in '/', or is followed by '/' in the request path.
  return (!cookie_path.empty() && cookie_path.back() == '/') || request_path[cookie_path.size()] == '/';
}

bool is_public_suffix(std::string_view domain, bool use_list) {
  if (domain.empty() || domain.find('\0') != std::string_view::npos) return true;
  const psl_ctx_t* list = use_list ? builtin_list() : nullptr;
  if (list == nullptr) return domain.find('.') == std::string_view::npos;
  const std::string terminated(domain);  // libpsl wants a C string
  return psl_is_public_suffix2(list, terminated.c_str(), PSL_TYPE_ANY) != 0;
}

std::string registrable_domain(std::string_view domain, bool use_list) {
  const psl_ctx_t* list = use_list ? builtin_list() : nullptr;
  if (list == nullptr || is_ip_host(domain) || domain.find('\0') != std::string_view::npos)
    return std::string(domain);
  const std::string terminated(domain);
  const char* registrable = psl_registrable_domain(list, terminated.c_str());  // points into `terminated`
  return registrable != nullptr ? std::string(registrable) : terminated;
}

}  // namespace nethttp::cookie
