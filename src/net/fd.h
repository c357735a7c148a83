// Ownership of a file descriptor.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

namespace nethttp::net {

/// Owns a file descriptor and closes it when destroyed. Move-only.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  /// Gives up ownership without closing.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the descriptor held (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// How many times a descriptor numbered `fd` has been closed through Fd
/// (counted on both sides of the close()). An fd number is reused by the
/// next socket; a cache keyed by the number (an epoll watch) compares this
/// to know whether it still describes the same socket. Not counted (nullopt)
/// from 2M on.
[[nodiscard]] std::optional<std::uint32_t> fd_generation(int fd) noexcept;

}  // namespace nethttp::net
