#include "net/stream.h"

#include <array>
#include <utility>

namespace nethttp::net {

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::move(other.fd_);
    tls_ = std::move(other.tls_);
  }
  return *this;
}

Stream::~Stream() {
  close();
}

void Stream::close() noexcept {
  if (tls_) {
    tls_->close_notify();
    tls_.reset();
  }
  fd_.reset();
}

Result<std::size_t> Stream::send_now(std::span<const char> data) {
  if (tls_) return tls_->write(data);
  return net::send_now(fd_.get(), data);
}

Result<std::size_t> Stream::recv_some(std::span<char> buf) {
  if (!tls_) return net::recv_some(fd_.get(), buf);
  Result<std::optional<std::size_t>> n = tls_->read(buf, /*wait=*/true);
  if (!n) return std::move(n).error();
  return n->value_or(0);
}

Result<std::optional<std::size_t>> Stream::try_recv(std::span<char> buf) {
  if (tls_) return tls_->read(buf, /*wait=*/false);
  return net::try_recv(fd_.get(), buf);
}

Result<Readiness> Stream::wait_ready(bool want_write, std::optional<Clock::time_point> deadline) {
  if (tls_ && tls_->has_buffered()) return Readiness{.readable = true, .writable = false};
  return net::wait_ready(fd_.get(), want_write, deadline);
}

void Stream::release_buffers() noexcept {
  if (tls_) tls_->release_buffers();
}

IdleProbe Stream::probe_idle() {
  const IdleProbe raw = net::probe_idle(fd_.get());
  if (!tls_ || raw != IdleProbe::unsolicited) return raw;
  std::array<char, 1> byte{};
  Result<std::optional<std::size_t>> n = tls_->read(byte, /*wait=*/false);
  if (!n) return IdleProbe::closed;
  if (!*n) return IdleProbe::quiet;
  return **n == 0 ? IdleProbe::closed : IdleProbe::unsolicited;
}

}  // namespace nethttp::net
