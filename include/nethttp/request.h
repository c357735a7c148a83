// An HTTP request and the body it sends.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

#include "nethttp/error.h"
#include "nethttp/header.h"
#include "nethttp/url.h"

namespace nethttp {

/// A stream of request body bytes, read once from its start.
class BodySource {
 public:
  virtual ~BodySource() = default;
  /// Copies the next bytes into `buf` and returns how many; 0 means the end.
  /// May block. An error aborts the request and is returned by round_trip().
  [[nodiscard]] virtual Result<std::size_t> read(std::span<char> buf) = 0;
};

/// What a request sends as its body: nothing, bytes held in memory, a
/// factory that can open the body again (replayable, Go's GetBody), or a
/// one-shot stream. A copy shares the same bytes, factory or stream.
///
/// Only a replayable body (or none) lets the transport retry a request on a
/// new connection and the client follow a 307/308 redirect.
class RequestBody {
 public:
  /// No body.
  RequestBody() = default;
  /// These bytes: replayable, length known.
  [[nodiscard]] static RequestBody from_string(std::string bytes);
  /// Bytes from `open()`, called once per attempt: replayable. `length` is
  /// the exact byte count, or -1 when unknown (sent chunked).
  [[nodiscard]] static RequestBody from_factory(std::function<std::unique_ptr<BodySource>()> open,
                                                std::int64_t length = -1);
  /// Bytes from `source`, which can be read only once: not replayable.
  [[nodiscard]] static RequestBody from_stream(std::unique_ptr<BodySource> source, std::int64_t length = -1);

  /// No body at all (not even an empty one given as bytes).
  [[nodiscard]] bool is_none() const noexcept { return kind_ == Kind::none; }
  /// Whether open() can be called again after a first attempt.
  [[nodiscard]] bool is_replayable() const noexcept { return kind_ != Kind::stream; }
  /// The byte count, or -1 when unknown; 0 for no body.
  [[nodiscard]] std::int64_t length() const noexcept { return length_; }
  /// The bytes of a from_string() body, or null.
  [[nodiscard]] const std::string* bytes() const noexcept { return bytes_.get(); }

  /// Opens the body for one attempt. Errors: a one-shot stream opened twice
  /// (ErrorKind::invalid_request).
  [[nodiscard]] Result<std::unique_ptr<BodySource>> open() const;

 private:
  enum class Kind : std::uint8_t { none, bytes, factory, stream };
  struct Stream;

  Kind kind_ = Kind::none;
  std::int64_t length_ = 0;
  std::shared_ptr<const std::string> bytes_;
  std::shared_ptr<const std::function<std::unique_ptr<BodySource>()>> factory_;
  std::shared_ptr<Stream> stream_;
};

/// One HTTP request. A plain value: fill it in, then hand it to
/// Transport::round_trip() or Client::send(), which do not modify it.
struct Request {
  std::string method = "GET";  ///< the method token, sent as given ("GET", "POST"...)
  Url url;                     ///< where to send it; its fragment is never sent
  /// Fields sent as given. Host, Content-Length and Transfer-Encoding are
  /// derived by the transport and ignored here (as in Go); User-Agent is
  /// added when absent.
  Header header;
  RequestBody body;  ///< what to send; no body by default
  /// Host header value instead of the URL's authority (Go's Request.Host).
  std::string host;
  /// Send "Connection: close" and do not reuse the connection afterwards.
  bool close = false;
  /// When the whole exchange, including reading the body, must be over.
  /// Blocking calls fail with ErrorKind::timeout once it has passed.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  /// Requesting a stop from any thread interrupts the exchange promptly
  /// (ErrorKind::canceled), including a body being read.
  std::stop_token cancel;
};

/// Builds a request for `method` and `url`. Errors: bad_url.
[[nodiscard]] Result<Request> make_request(std::string method, std::string_view url, RequestBody body = {});

}  // namespace nethttp
