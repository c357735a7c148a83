#include "client_options.h"

#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <utility>

namespace nethttp::cli {

namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

/// "90" for 90'000 ms, "0.25" for 250 ms: a default shown in --help.
std::string seconds_text(milliseconds ms) {
  std::string s = std::to_string(ms.count() / 1000);
  if (const auto frac = ms.count() % 1000; frac != 0) {
    std::string digits = std::to_string(1000 + frac).substr(1);
    while (digits.back() == '0') digits.pop_back();
    s += "." + digits;
  }
  return s;
}

/// An option that sets a TransportOptions duration. `zero_means` is the help
/// wording of 0 ("no limit"), or empty when 0 is refused.
OptionSpec duration_option(std::string long_name, std::string help, const std::string& zero_means,
                           milliseconds& target) {
  help += " (default " + (target.count() == 0 ? zero_means : seconds_text(target)) + ")";
  if (!zero_means.empty() && target.count() != 0) help += "; 0: " + zero_means;
  const bool zero_allowed = !zero_means.empty();
  return OptionSpec{std::move(long_name), 0, "SECS", std::move(help),
                    [&target, zero_allowed](std::string_view value) -> std::optional<std::string> {
                      nanoseconds d{};
                      if (auto error = parse_seconds(value, d)) return error;
                      if (d.count() == 0 && !zero_allowed) return "wants seconds > 0, not '0'";
                      target = to_option_millis(d);
                      return std::nullopt;
                    }};
}

/// An option that sets a TransportOptions count (>= 0).
OptionSpec count_option(std::string long_name, std::string help, int& target) {
  help += " (default " + std::to_string(target) + ")";
  return OptionSpec{std::move(long_name), 0, "N", std::move(help), [&target](std::string_view value) {
                      return parse_int(value, 0, std::numeric_limits<int>::max(), target);
                    }};
}

}  // namespace

void add_client_options(OptionParser& parser, ClientOptions& options) {
  TransportOptions& t = options.transport;

  parser.group("timeouts (SECS may have a fraction: 0.5)");
  parser.add(duration_option("timeout",
                             "whole-request deadline, redirects and reading the body included (Go's "
                             "Client.Timeout)",
                             "none", options.policy.timeout));
  parser.add(
      duration_option("connect-timeout", "limit on dialing a connection", "no limit", t.connect_timeout));
  parser.add(duration_option("response-header-timeout", "time from request written to response head",
                             "no limit", t.response_header_timeout));
  parser.add(duration_option("idle-timeout", "close pooled connections idle longer than this", "never",
                             t.idle_conn_timeout));

  parser.group("connection pool");
  parser.add(count_option("max-conns-per-host",
                          "cap on connections per origin (dialing, in use, idle); extra requests wait in "
                          "FIFO order; 0: no limit",
                          t.max_conns_per_host));
  parser.add(count_option("max-idle-per-host", "cap on idle connections kept per origin; 0: keep none",
                          t.max_idle_conns_per_host));
  parser.add(count_option("max-idle", "cap on idle connections in total, oldest evicted; 0: no limit",
                          t.max_idle_conns));
  parser.add_flag("no-keepalive", 0, "one connection per request (Go's DisableKeepAlives)",
                  t.disable_keep_alives);

  parser.add_flag("raw", 0,
                  "do not ask for compressed bodies, nor decode them (Go's DisableCompression); by default "
                  "gzip, br and zstd are asked for and decoded as they are read",
                  options.policy.disable_compression);

  parser.add(OptionSpec{
      "cookie-jar", 0, "FILE",
      "keep cookies (RFC 6265) across the requests and redirects: read from FILE (Netscape/curl format) "
      "if it exists and written back at the end; '-' keeps them in memory only",
      [&options](std::string_view value) -> std::optional<std::string> {
        options.policy.jar = std::make_shared<CookieJar>();
        options.cookie_jar_file = std::string(value);
        std::error_code ec;
        if (value == "-" || !std::filesystem::exists(options.cookie_jar_file, ec)) return std::nullopt;
        if (Result<void> ok = options.policy.jar->load(options.cookie_jar_file); !ok)
          return ok.error().message();
        return std::nullopt;
      }});

  parser.group("redirects (followed by default, as Go's client does)");
  parser.add(OptionSpec{"no-follow", 0, "", "do not follow redirects: return the 3xx response",
                        [&options](std::string_view) -> std::optional<std::string> {
                          options.policy.max_redirects = 0;
                          return std::nullopt;
                        }});
  parser.add(count_option("max-redirs",
                          "requests one redirect chain may hold (Go's meaning): with N, N-1 redirects are "
                          "followed and the next redirect response fails with too_many_redirects; 0: do not "
                          "follow",
                          options.policy.max_redirects));

  parser.group("TLS (https)");
  parser.add_flag("insecure", 'k', "skip certificate and host name verification (Go's InsecureSkipVerify)",
                  t.tls.insecure_skip_verify);
  parser.add(OptionSpec{"cacert", 0, "FILE",
                        "trust the CA certificates in this PEM file instead of the system's",
                        [&t](std::string_view value) -> std::optional<std::string> {
                          t.tls.ca_file = std::string(value);
                          return std::nullopt;
                        }});
  parser.add(duration_option("tls-handshake-timeout", "limit on the TLS handshake", "no limit",
                             t.tls_handshake_timeout));

  parser.group("where connections go");
  parser.add(OptionSpec{
      "proxy", 0, "URL",
      "send requests through this proxy: http://[user:pass@]host:port (CONNECT for https), "
      "socks5:// or socks5h://; default: HTTP_PROXY, HTTPS_PROXY and NO_PROXY as Go reads them",
      [&t](std::string_view value) -> std::optional<std::string> {
        Result<Url> proxy =
            Url::parse_proxy(value.find("://") == std::string_view::npos ? "http://" + std::string(value)
                                                                         : std::string(value));
        if (!proxy) return proxy.error().message();
        t.proxy = fixed_proxy(*std::move(proxy));
        return std::nullopt;
      }});
  parser.add(OptionSpec{"unix-socket", 0, "PATH",
                        "connect to this Unix domain socket instead of TCP (Host still from the URL)",
                        [&t](std::string_view value) -> std::optional<std::string> {
                          t.unix_socket = std::string(value);
                          return std::nullopt;
                        }});
}

bool save_cookie_jar(const ClientOptions& options) {
  if (!options.policy.jar || options.cookie_jar_file.empty() || options.cookie_jar_file == "-") return true;
  if (Result<void> ok = options.policy.jar->save(options.cookie_jar_file); !ok) {
    std::fprintf(stderr, "nethttp: saving the cookie jar: %s\n", ok.error().message().c_str());
    return false;
  }
  return true;
}

Client make_client(const ClientOptions& options, Trace trace) {
  TransportOptions transport = options.transport;
  transport.trace = std::move(trace);
  // Without --proxy, the environment decides, as in Go's DefaultTransport.
  if (!transport.proxy) transport.proxy = proxy_from_environment();
  return Client(std::make_shared<Transport>(std::move(transport)), options.policy);
}

}  // namespace nethttp::cli
