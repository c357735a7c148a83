// The options that shape each request (method, header fields, body), taken
// by every command that sends requests (fetch, bench).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "args.h"
#include "nethttp/error.h"
#include "nethttp/header.h"
#include "nethttp/request.h"

namespace nethttp::cli {

/// What the request flags set.
struct RequestOptions {
  std::optional<std::string> method;  ///< -X; else GET, or POST with a body
  Header header;                      ///< -H fields, in order (Host excluded)
  std::string host;                   ///< -H 'Host: x': Request::host
  std::optional<std::string> data;    ///< -d as given: bytes, @FILE or @-
  RequestBody body;                   ///< the -d bytes, once load_body() ran
};

/// Adds the request flags to `parser`, writing into `options`.
void add_request_options(OptionParser& parser, RequestOptions& options);

/// Reads the body named by -d (the file of @FILE, stdin for @-) once the
/// arguments parsed. Returns an error message (bad usage) or nothing.
[[nodiscard]] std::optional<std::string> load_body(RequestOptions& options);

/// The request for `url` these options describe. Errors: bad_url.
[[nodiscard]] Result<Request> build_request(const RequestOptions& options, std::string_view url);

}  // namespace nethttp::cli
