// A connection's byte stream: a socket, plain or with TLS over it, with the
// I/O pattern of socket_io.h either way.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "net/fd.h"
#include "net/socket_io.h"
#include "net/tls.h"
#include "nethttp/error.h"

namespace nethttp::net {

/// Owns the socket (and its TLS session). Move-only; used by one thread at
/// a time, except interrupt(fd()), which any thread may call while it lives.
class Stream {
 public:
  Stream() = default;
  explicit Stream(Fd fd, std::unique_ptr<TlsSession> tls = nullptr) noexcept
      : fd_(std::move(fd)), tls_(std::move(tls)) {}
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&& other) noexcept;
  /// Sends TLS's close_notify when it can without blocking, then closes.
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] bool valid() const noexcept { return fd_.valid(); }
  /// The TLS session, or null for a plain connection.
  [[nodiscard]] const TlsSession* tls() const noexcept { return tls_.get(); }

  /// Sends what the socket accepts now: the count of bytes of `data` taken,
  /// 0 when the socket's buffer is full (then call again with the same
  /// data). Errors: io with the errno (EPIPE, ECONNRESET...), tls.
  [[nodiscard]] Result<std::size_t> send_now(std::span<const char> data);
  /// Waits until bytes arrive; returns their count, 0 at EOF.
  [[nodiscard]] Result<std::size_t> recv_some(std::span<char> buf);
  /// The bytes there are now, without waiting: nullopt when none (for TLS:
  /// no whole record yet, or only records that carry no data). 0 at EOF.
  [[nodiscard]] Result<std::optional<std::size_t>> try_recv(std::span<char> buf);
  /// As net::wait_ready(), but readable at once when TLS holds decrypted or
  /// undecrypted bytes already read from the socket.
  [[nodiscard]] Result<Readiness> wait_ready(bool want_write, std::optional<Clock::time_point> deadline);
  /// What an idle connection holds; for TLS, records that carry no data
  /// (session tickets) are consumed and do not count.
  [[nodiscard]] IdleProbe probe_idle();
  /// Gives back what only a busy connection needs (TLS record buffers).
  void release_buffers() noexcept;

 private:
  void close() noexcept;

  Fd fd_;
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace nethttp::net
