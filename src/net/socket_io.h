// Byte I/O on a connected stream socket, without HTTP.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "nethttp/error.h"

namespace nethttp::net {

using Clock = std::chrono::steady_clock;

/// Sockets stay in blocking mode: a read is one recv() that sleeps in the
/// kernel until bytes arrive (the fewest syscalls for a request/response),
/// and deadlines or cancellation interrupt it from another thread with
/// interrupt(). Writes never block (MSG_DONTWAIT), so the writer can watch
/// for an early response while the socket's send buffer is full. In a fiber
/// (FiberGroup), a read or wait that would sleep parks the fiber in its
/// scheduler's epoll loop instead; interrupt() wakes it the same way.

/// Sends what the socket accepts now; returns the byte count (0 when its
/// buffer is full). Errors: io, with the errno (EPIPE, ECONNRESET...).
[[nodiscard]] Result<std::size_t> send_now(int fd, std::span<const char> data);

/// Waits in recv() until bytes arrive; returns their count, 0 at EOF.
/// Errors: io, with the errno.
[[nodiscard]] Result<std::size_t> recv_some(int fd, std::span<char> buf);

/// The bytes there are now, without waiting: nullopt when none, 0 at EOF.
/// Errors: io, with the errno.
[[nodiscard]] Result<std::optional<std::size_t>> try_recv(int fd, std::span<char> buf);

/// What poll() saw.
struct Readiness {
  bool readable = false;  ///< bytes, EOF or an error can be read
  bool writable = false;
};

/// Waits until the socket is readable (or writable, if asked) or `deadline`
/// passes (nullopt: no deadline); on timeout both flags are false.
[[nodiscard]] Result<Readiness> wait_ready(int fd, bool want_write,
                                           std::optional<Clock::time_point> deadline);

/// poll()'s timeout for `deadline`: whole milliseconds rounded up, so a
/// wake-up is never early and never spins; -1 (forever) for none or max().
[[nodiscard]] int poll_timeout_ms(std::optional<Clock::time_point> deadline);

/// Waits until the socket has one of `events` (POLLIN, POLLOUT; an error or
/// hang-up counts) or `deadline` passes: false then.
[[nodiscard]] Result<bool> wait_for(int fd, short events, Clock::time_point deadline);

/// Sends all of `data` before `deadline` (for short handshakes such as a
/// proxy's; the exchange has its own loop that watches for answers).
/// Errors: io with the errno, timeout (ETIMEDOUT) when no room came in time.
[[nodiscard]] Result<void> send_all(int fd, std::string_view data, Clock::time_point deadline);

/// What an idle connection's socket holds (checked without blocking).
enum class IdleProbe : std::uint8_t {
  quiet,        ///< nothing to read: still usable
  closed,       ///< EOF or an error: the peer closed it
  unsolicited,  ///< bytes the client never asked for
};
[[nodiscard]] IdleProbe probe_idle(int fd) noexcept;

/// Makes blocked and future reads and writes on the socket fail at once
/// (shutdown both ways). Safe from any thread while another uses the fd,
/// as long as the fd is not closed concurrently.
void interrupt(int fd) noexcept;

}  // namespace nethttp::net
