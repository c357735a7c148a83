#include "nethttp/body.h"

#include <array>

#include "pool/body_impl.h"

namespace nethttp {
namespace {

/// What read_all() and write_to() read at a time.
constexpr std::size_t kCopyChunk = std::size_t{16} << 10;

const Header& no_trailers() {
  static const Header empty;
  return empty;
}

}  // namespace

Body::Body() noexcept = default;
Body::Body(std::unique_ptr<detail::BodyImpl> impl) noexcept : impl_(std::move(impl)) {}
Body::Body(Body&&) noexcept = default;
Body& Body::operator=(Body&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Body::~Body() {
  close();
}

Result<std::size_t> Body::read(std::span<char> buf) {
  if (!impl_) return std::size_t{0};
  return impl_->read(buf);
}

Result<std::string> Body::read_all(std::size_t max_bytes) {
  std::string out;
  for (;;) {
    const std::size_t old_size = out.size();
    out.resize(old_size + kCopyChunk);
    Result<std::size_t> n = read(std::span<char>(out.data() + old_size, kCopyChunk));
    if (!n) return std::move(n).error();
    out.resize(old_size + *n);
    if (*n == 0) return out;
    if (out.size() > max_bytes) {
      close();
      return Error(ErrorKind::body, "body larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
}

Result<std::uint64_t> Body::write_to(const std::function<Result<void>(std::string_view)>& sink) {
  std::array<char, kCopyChunk> chunk;
  std::uint64_t total = 0;
  for (;;) {
    Result<std::size_t> n = read(chunk);
    if (!n) return std::move(n).error();
    if (*n == 0) return total;
    if (Result<void> ok = sink(std::string_view(chunk.data(), *n)); !ok) {
      close();
      return std::move(ok).error();
    }
    total += *n;
  }
}

void Body::close() noexcept {
  if (impl_) impl_->close();
}

bool Body::at_end() const noexcept {
  return !impl_ || impl_->at_end();
}

const Header& Body::trailers() const noexcept {
  return impl_ ? impl_->trailers() : no_trailers();
}

}  // namespace nethttp
