// The Client: policy over a Transport (Go's http.Client).
#pragma once

#include <memory>
#include <string_view>

#include "nethttp/error.h"
#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/transport.h"

namespace nethttp {

/// Sends requests through a shared Transport. Redirects, cookies, timeouts
/// and decompression arrive with the Client issue; today send() is one
/// round trip. Thread-safe.
class Client {
 public:
  /// A client with its own Transport with default options.
  Client();
  /// A client over `transport` (shared with others).
  explicit Client(std::shared_ptr<Transport> transport);

  /// Sends `request`; blocks until the response head arrives.
  [[nodiscard]] Result<Response> send(Request request);
  /// GET `url`. Errors: bad_url, and those of send().
  [[nodiscard]] Result<Response> get(std::string_view url);
  /// HEAD `url`.
  [[nodiscard]] Result<Response> head(std::string_view url);
  /// POST `body` to `url` with this Content-Type.
  [[nodiscard]] Result<Response> post(std::string_view url, std::string_view content_type, RequestBody body);

  [[nodiscard]] Transport& transport() noexcept { return *transport_; }

 private:
  std::shared_ptr<Transport> transport_;
};

}  // namespace nethttp
