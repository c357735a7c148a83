// What a Body reads through: implemented by the pool (the connection's
// bytes) and by the client (decoders over another Body).
#pragma once

#include <cstddef>
#include <span>

#include "nethttp/error.h"
#include "nethttp/header.h"

namespace nethttp::detail {

class BodyImpl {
 public:
  virtual ~BodyImpl() = default;
  /// Body::read(): up to buf.size() bytes, 0 at the end.
  [[nodiscard]] virtual Result<std::size_t> read(std::span<char> buf) = 0;
  /// Body::close(): idempotent.
  virtual void close() noexcept = 0;
  [[nodiscard]] virtual bool at_end() const noexcept = 0;
  [[nodiscard]] virtual const Header& trailers() const noexcept = 0;
};

}  // namespace nethttp::detail
