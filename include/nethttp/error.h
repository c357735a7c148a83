// Errors as values: every operation that can fail returns Result<T>.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

/// An HTTP/1.1 client with Go's net/http client model: a Client (client.h)
/// over a Transport (transport.h), a pool of persistent connections. Every
/// operation that can fail returns a Result (this file) instead of throwing.
namespace nethttp {

/// What went wrong, as a stable category callers can branch on. The names are
/// also the `error.kind` strings of the CLI's `--json` output (see cli.md).
enum class ErrorKind : std::uint8_t {
  bad_url,             ///< the URL (or a Location) cannot be parsed, is not http(s), or is a refused redirect
  invalid_request,     ///< the request cannot be sent as given (e.g. CR or LF in a header)
  dns,                 ///< the host name did not resolve
  connect,             ///< no TCP (or Unix socket) connection could be made
  tls,                 ///< the TLS handshake or certificate verification failed
  proxy,               ///< the proxy refused or broke the tunnel
  timeout,             ///< a deadline or timeout fired (the message names which)
  canceled,            ///< the caller cancelled the request
  protocol,            ///< malformed status line or header fields, conflicting framing
  header_too_large,    ///< the response head (or trailers) exceeded its byte limit
  body,                ///< truncated or malformed body: early EOF, bad chunk, bad coding
  too_many_redirects,  ///< the redirect limit was reached
  io,                  ///< any other failure to read or write the connection
};

/// The kind's stable name, e.g. "header_too_large". Never fails.
std::string_view to_string(ErrorKind kind) noexcept;

/// A failure: a kind for programs, a message for people, and the OS error
/// number behind it when there is one. Messages name the step and the peer
/// ("reading response headers from 127.0.0.1:8080: connection closed by peer
/// after 0 bytes"); inner layers give the detail, outer layers add context.
class Error {
 public:
  /// An error of `kind` with `message`; `sys_errno` is the errno behind it, if any.
  Error(ErrorKind kind, std::string message, int sys_errno = 0)
      : kind_(kind), message_(std::move(message)), sys_errno_(sys_errno) {}

  /// The category, for programs to branch on.
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  /// The explanation, for people.
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  /// The errno (or 0) that caused this error.
  [[nodiscard]] int sys_errno() const noexcept { return sys_errno_; }

  /// The HTTP status of the response that had arrived when the failure
  /// came (the redirect a Client stopped at: too_many_redirects, a redirect
  /// policy's error, an unusable Location); 0 when none had.
  [[nodiscard]] int response_status() const noexcept { return response_status_; }
  /// The same error with response_status() set to `status`.
  [[nodiscard]] Error with_response_status(int status) && {
    response_status_ = status;
    return std::move(*this);
  }
  /// The same error with "context: " put before its message.
  [[nodiscard]] Error with_context(std::string_view context) && {
    message_.insert(0, ": ");
    message_.insert(0, context);
    return std::move(*this);
  }

 private:
  ErrorKind kind_;
  std::string message_;
  int sys_errno_;
  int response_status_ = 0;
};

/// Either a value of type T or an Error. Accessing the value of a failed
/// result (or the error of a successful one) is a bug: it aborts the process,
/// in every build (never undefined behaviour).
template <class T>
class [[nodiscard]] Result {
 public:
  /// A success holding `value` (implicit: a function may `return value;`).
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  /// A failure (implicit: a function may `return Error(...);`).
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  /// Whether this holds a value (not an error).
  [[nodiscard]] bool ok() const noexcept { return state_.index() == 0; }
  /// ok().
  explicit operator bool() const noexcept { return ok(); }

  /// The value. Aborts unless ok().
  [[nodiscard]] T& value() & {
    if (!ok()) [[unlikely]]
      std::abort();
    return *std::get_if<0>(&state_);
  }
  /// The value. Aborts unless ok().
  [[nodiscard]] const T& value() const& {
    if (!ok()) [[unlikely]]
      std::abort();
    return *std::get_if<0>(&state_);
  }
  /// The value, to move from. Aborts unless ok().
  [[nodiscard]] T&& value() && {
    if (!ok()) [[unlikely]]
      std::abort();
    return std::move(*std::get_if<0>(&state_));
  }
  /// value().
  T& operator*() & { return value(); }
  /// value().
  const T& operator*() const& { return value(); }
  /// value(), to move from.
  T&& operator*() && { return std::move(*this).value(); }
  /// The value, or `fallback` when this failed (as std::expected::value_or).
  template <class U>
  [[nodiscard]] T value_or(U&& fallback) && {
    return ok() ? std::move(*std::get_if<0>(&state_)) : static_cast<T>(std::forward<U>(fallback));
  }
  /// Members of the value. Aborts unless ok().
  T* operator->() { return &value(); }
  /// Members of the value. Aborts unless ok().
  const T* operator->() const { return &value(); }

  /// The error. Aborts if ok().
  [[nodiscard]] const Error& error() const& {
    if (ok()) [[unlikely]]
      std::abort();
    return *std::get_if<1>(&state_);
  }
  /// The error, to move from (e.g. to return it). Aborts if ok().
  [[nodiscard]] Error&& error() && {
    if (ok()) [[unlikely]]
      std::abort();
    return std::move(*std::get_if<1>(&state_));
  }

 private:
  std::variant<T, Error> state_;
};

/// Success (nothing to return) or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// Success.
  Result() = default;
  /// A failure (implicit: a function may `return Error(...);`).
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  /// Whether this is a success.
  [[nodiscard]] bool ok() const noexcept { return !error_.has_value(); }
  /// ok().
  explicit operator bool() const noexcept { return ok(); }

  /// The error. Aborts if ok().
  [[nodiscard]] const Error& error() const& {
    if (ok()) [[unlikely]]
      std::abort();
    return *error_;
  }
  /// The error, to move from (e.g. to return it). Aborts if ok().
  [[nodiscard]] Error&& error() && {
    if (ok()) [[unlikely]]
      std::abort();
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

}  // namespace nethttp
