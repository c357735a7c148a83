// The options that configure the shared Client and its Transport, taken by
// every command that sends requests (fetch, bench).
#pragma once

#include <chrono>
#include <optional>

#include "args.h"
#include "nethttp/client.h"
#include "nethttp/trace.h"
#include "nethttp/transport.h"

namespace nethttp::cli {

/// What the client flags set.
struct ClientOptions {
  /// Pool limits, timeouts and keep-alive; Go's defaults unless a flag is given.
  TransportOptions transport;
  /// Redirects (--no-follow, --max-redirs) and --timeout, the whole
  /// exchange with its redirects and body (Go's Client.Timeout).
  nethttp::ClientOptions policy;
  /// --cookie-jar FILE: loaded (if it exists) when parsed, saved by save_cookie_jar(); "-": memory only.
  std::string cookie_jar_file;
};

/// Writes the cookie jar back to its --cookie-jar file, if there is one.
/// Returns false (after saying why on stderr) when it cannot.
[[nodiscard]] bool save_cookie_jar(const ClientOptions& options);

/// Adds the client flags to `parser`, writing into `options`.
void add_client_options(OptionParser& parser, ClientOptions& options);

/// The Client every request of one command goes through (one Transport,
/// so one connection pool), with `trace` as its connection hooks.
[[nodiscard]] Client make_client(const ClientOptions& options, Trace trace = {});

}  // namespace nethttp::cli
