// A response body read through a content-coding decoder.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "client/decoder.h"
#include "nethttp/body.h"
#include "nethttp/error.h"
#include "nethttp/header.h"
#include "pool/body_impl.h"

namespace nethttp::client {

/// The decoded view of a raw (still encoded) body. Memory is constant
/// whatever the body's size: one raw chunk buffer plus the decoder's window.
///
/// - read() pulls raw bytes a chunk at a time and decodes into the caller's
///   buffer. Errors (ErrorKind::body): corrupt data (naming the coding),
///   trailing data after the end of the stream, a stream cut short at the
///   raw end ("truncated gzip stream"), the bomb guard; and the raw body's
///   own errors as they are. Errors are sticky and close the raw body.
/// - An empty raw body is an empty decoded body (servers label empty replies
///   with a coding; Go and browsers accept them too).
/// - at_end() once the decoder finished and the raw body reached its end.
/// - close() closes the raw body, which drains or closes its connection by
///   the pool's rules: raw bytes only, never decoded.
/// - trailers() are the raw body's.
/// One thread at a time, like Body.
class DecodingBody final : public detail::BodyImpl {
 public:
  /// Raw bytes are read in chunks of this size: large enough to amortise a
  /// read and a decoder call, small enough to keep each body cheap.
  static constexpr std::size_t kRawChunkBytes = std::size_t{16} << 10;

  /// `decoder` must not be null (make_decoder's nullptr means: keep `raw`).
  DecodingBody(Body raw, std::unique_ptr<Decoder> decoder) noexcept;

  [[nodiscard]] Result<std::size_t> read(std::span<char> buf) override;
  void close() noexcept override;
  [[nodiscard]] bool at_end() const noexcept override { return at_end_; }
  [[nodiscard]] const Header& trailers() const noexcept override { return raw_.trailers(); }

 private:
  Error fail(Error error);

  Body raw_;
  std::unique_ptr<Decoder> decoder_;
  std::array<char, kRawChunkBytes> raw_chunk_;  // raw bytes read, not yet decoded
  std::size_t chunk_begin_ = 0;                 // the undecoded part of raw_chunk_ is
  std::size_t chunk_end_ = 0;                   //   [chunk_begin_, chunk_end_)
  bool read_any_raw_ = false;                   // the raw body had at least one byte
  bool at_end_ = false;
  bool closed_ = false;
  std::optional<Error> failed_;  // sticky: the first error
};

}  // namespace nethttp::client
