// A response body: the reader that decides the fate of its connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "nethttp/error.h"
#include "nethttp/header.h"

namespace nethttp {

namespace detail {
class BodyImpl;
}  // namespace detail

/// The body of a response. Move-only; never "null": a response without a
/// body (HEAD, 204, 304) has an empty one that is at its end at once.
///
/// The body owns the connection it is read from:
/// - reading it to its end hands the connection back to the pool at once,
///   whether or not close() is called afterwards;
/// - close() before the end drains a small remainder (the transport's drain
///   limits) so the connection can be reused, else closes the connection;
/// - destroying it is close(): a dropped response cannot leak a connection.
///
/// One thread at a time; read() blocks. Errors: body (truncated or malformed
/// body), timeout (the request deadline passed), canceled, io.
class Body {
 public:
  /// An empty body.
  Body() noexcept;
  /// A body read through `impl` (made by the transport or client).
  explicit Body(std::unique_ptr<detail::BodyImpl> impl) noexcept;
  /// Takes over the other body and its connection; that one is left empty.
  Body(Body&&) noexcept;
  /// Closes this body first (as close()), then takes over the other one,
  /// which is left empty.
  Body& operator=(Body&&) noexcept;
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;
  /// Closes the body, as close().
  ~Body();

  /// Reads up to buf.size() bytes; returns how many, 0 at the end.
  [[nodiscard]] Result<std::size_t> read(std::span<char> buf);
  /// Reads everything that is left. Errors as read(); `max_bytes` caps what
  /// is kept in memory (ErrorKind::body beyond it).
  [[nodiscard]] Result<std::string> read_all(std::size_t max_bytes = SIZE_MAX);
  /// Reads everything that is left into `sink`; returns the byte count. An
  /// error from the sink stops the copy and is returned.
  [[nodiscard]] Result<std::uint64_t> write_to(const std::function<Result<void>(std::string_view)>& sink);
  /// Ends the body early (or confirms its end). Idempotent, never fails;
  /// draining blocks for at most TransportOptions::drain_timeout.
  void close() noexcept;

  /// Whether the end was reached.
  [[nodiscard]] bool at_end() const noexcept;
  /// Trailer fields of a chunked body, once its end was reached; else empty.
  [[nodiscard]] const Header& trailers() const noexcept;

 private:
  std::unique_ptr<detail::BodyImpl> impl_;
};

}  // namespace nethttp
