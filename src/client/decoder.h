// Streaming decoders for the response content codings (RFC 9110 §8.4.1):
// gzip, deflate, br and zstd, each behind one sans-I/O interface, with a
// guard against decompression bombs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "nethttp/error.h"

namespace nethttp::client {

/// Limits on what a decoder may produce; exceeding one fails the body with
/// ErrorKind::body "decompression bomb guard: ...".
struct DecodeLimits {
  /// The most decoded bytes of one body. 1 GiB: the body is streamed, so
  /// this bounds the work (CPU, disk of a write_to) a few KiB from a peer
  /// can cause, not memory; 1 GiB is far above what APIs and pages send
  /// compressed, and callers fetching larger compressed files raise it.
  std::uint64_t max_decoded_bytes = std::uint64_t{1} << 30;
  /// The most decoded bytes per encoded byte, once `ratio_after_bytes` were
  /// decoded. 1000: text and JSON compress 3-20x, repetitive logs or sparse
  /// data around 100x; deflate cannot exceed ~1032x, while br and zstd bombs
  /// reach millions, so 1000 stops every bomb that is not already capped by
  /// deflate's own limit and stays clear of real content.
  double max_ratio = 1000.0;
  /// The ratio applies only after this many decoded bytes, so small, highly
  /// compressible bodies (a 1 MiB run of spaces) pass: 1 MiB.
  std::uint64_t ratio_after_bytes = std::uint64_t{1} << 20;
};

/// What one Decoder::decode call did.
struct DecodeStep {
  std::size_t consumed = 0;  ///< encoded bytes used from the start of `in`
  std::size_t produced = 0;  ///< decoded bytes written to the start of `out`
};

/// One content coding's decoder: a push decoder with no I/O. Not thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;
  /// Decodes from `in` into `out`. Returns with all of `in` consumed, or
  /// with `out` full (call again: output is pending), whichever comes first;
  /// no progress with an empty `in` means it needs more input. Errors
  /// (ErrorKind::body, naming the coding): corrupt data, data after the end
  /// of the stream, the bomb guard. After an error the decoder stays failed.
  [[nodiscard]] virtual Result<DecodeStep> decode(std::span<const char> in, std::span<char> out) = 0;
  /// Whether the input so far is a whole stream: the body may end here.
  /// (gzip may still go on with another member.)
  [[nodiscard]] virtual bool is_complete() const noexcept = 0;
  /// The coding's name as in Content-Encoding ("gzip", "deflate", "br", "zstd").
  [[nodiscard]] virtual std::string_view coding() const noexcept = 0;
};

/// A decoder for one Content-Encoding token (case-insensitive; "x-gzip" is
/// gzip, RFC 9110 §8.4.1.3), guarded by `limits`; nullptr for a coding it
/// does not know (including "identity"): the caller then leaves the body as
/// it is. A list of codings ("gzip, br") is the caller's to split and undo
/// last-applied first.
[[nodiscard]] std::unique_ptr<Decoder> make_decoder(std::string_view content_coding,
                                                    DecodeLimits limits = {});

}  // namespace nethttp::client
