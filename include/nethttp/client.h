// The Client: policy over a Transport (Go's http.Client).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "nethttp/cookie_jar.h"
#include "nethttp/error.h"
#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"

namespace nethttp {

/// What a redirect policy decides about one redirect.
enum class RedirectVerdict : std::uint8_t {
  follow,  ///< send the next request
  stop,    ///< return the redirect response as it is (Go's ErrUseLastResponse)
};

/// Asked before each redirect is followed, with the next request and the
/// requests sent so far (oldest first). An error fails the send with it.
using RedirectPolicy = std::function<Result<RedirectVerdict>(
    const Request& next, std::span<const std::shared_ptr<const Request>> via)>;

/// The Client's policy knobs (Go's http.Client fields).
struct ClientOptions {
  /// Requests one chain may hold (Go: 10): with 10, nine redirects are
  /// followed and a tenth redirect response fails with too_many_redirects.
  /// 0 or less: redirects are not followed (the 3xx is returned as is).
  int max_redirects = 10;
  /// Replaces the max_redirects check when set (Go's CheckRedirect).
  RedirectPolicy check_redirect;
  /// Follow a redirect from a host that is not internal to one that is
  /// (has_internal_host(): loopback, private and link-local addresses,
  /// localhost...). By default such a redirect fails with bad_url, so that
  /// a public server cannot point the client at the caller's own network
  /// or a cloud metadata service (SSRF); Go has no such check. A chain that
  /// starts at an internal host may go on to others.
  bool allow_internal_redirects = false;
  /// A deadline over each send, redirects and reading the body included
  /// (Go's Client.Timeout); a body read after it fails with timeout. 0: none.
  std::chrono::milliseconds timeout{0};
  /// Do not ask for compressed bodies (Go's DisableCompression). Otherwise a
  /// request without Accept-Encoding (and without Range, not HEAD) asks for
  /// "gzip, br, zstd"; a response in one of those (or deflate) is decoded as
  /// it is read, its Content-Encoding and Content-Length fields removed and
  /// Response::uncompressed set. A caller's Accept-Encoding means no decoding.
  bool disable_compression = false;
  /// Bomb guard of that decoding: the most decoded bytes of one body, and
  /// the largest decoded/encoded ratio once 1 MiB was decoded. Beyond
  /// either, reading fails with ErrorKind::body.
  std::uint64_t max_decoded_bytes = std::uint64_t{1} << 30;
  double max_decompression_ratio = 1000;  ///< see max_decoded_bytes
  /// Cookies: sent with each request (redirects included) as their scope
  /// allows, and stored from each response's Set-Cookie. None by default,
  /// as in Go. Shared: several clients may use one jar.
  std::shared_ptr<CookieJar> jar;
};

/// Sends requests through a shared Transport with Go's http.Client rules:
/// redirects, one deadline over a whole send (timeout), cookies (jar) and
/// transparent decompression (docs/ARCHITECTURE.md). Thread-safe: share one
/// Client between threads.
class Client {
 public:
  /// A client with its own Transport with default options.
  Client();
  /// A client over `transport` (shared with others; must not be null).
  explicit Client(std::shared_ptr<Transport> transport, ClientOptions options = {});

  /// Sends `request`, follows redirects, and returns the final response once
  /// its head has arrived (Response::redirects tells how many were
  /// followed; Response::request is the last request). Blocks. Errors: those
  /// of Transport::round_trip(), bad_url for an unusable Location,
  /// too_many_redirects, and the policy's (these three carry the status of
  /// the redirect response they stopped at: Error::response_status()).
  /// Request::deadline and Request::cancel interrupt it, and the reading of
  /// the body, wherever it blocks (timeout, canceled).
  [[nodiscard]] Result<Response> send(Request request);
  /// GET `url`. Errors: bad_url, and those of send().
  [[nodiscard]] Result<Response> get(std::string_view url);
  /// HEAD `url`.
  [[nodiscard]] Result<Response> head(std::string_view url);
  /// POST `body` to `url` with this Content-Type.
  [[nodiscard]] Result<Response> post(std::string_view url, std::string_view content_type, RequestBody body);

  /// The Transport requests go through (e.g. for stats()); the Client keeps it alive.
  [[nodiscard]] Transport& transport() noexcept { return *transport_; }
  /// The options given at construction; they do not change.
  [[nodiscard]] const ClientOptions& options() const noexcept { return options_; }

 private:
  std::shared_ptr<Transport> transport_;
  ClientOptions options_;
};

}  // namespace nethttp
