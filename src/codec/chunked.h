// The chunk-size line of the chunked transfer coding (RFC 9112 §7.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nethttp/error.h"

namespace nethttp::codec {

/// Reads one chunk-size line incrementally, so a line split anywhere needs no
/// buffering: chunk-size [ BWS ";" extensions ] CRLF. Extensions are checked
/// for control bytes and skipped. The line must end in CRLF: a bare LF or CR
/// is an error, because lenient line endings in chunked framing are what
/// request-smuggling attacks are built on.
class ChunkLine {
 public:
  explicit ChunkLine(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  /// Forgets the previous line.
  void reset() noexcept { *this = ChunkLine(max_line_bytes_); }

  /// Consumes bytes of the line from the front of `input`, stopping right
  /// after its LF. Returns how many bytes it used; complete() tells whether
  /// the line ended. Errors (ErrorKind::body): a size that is not hex or does
  /// not fit in 64 bits, a control byte, a bare CR or LF, a line longer than
  /// the limit.
  [[nodiscard]] Result<std::size_t> feed(std::string_view input);

  [[nodiscard]] bool complete() const noexcept { return part_ == Part::complete; }
  /// The chunk size; 0 marks the last chunk.
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  /// Bytes of the line so far, CRLF included.
  [[nodiscard]] std::size_t line_bytes() const noexcept { return line_bytes_; }

 private:
  enum class Part : std::uint8_t {
    size,        ///< hex digits of the chunk size
    after_size,  ///< whitespace between the size and ";" or CR
    extension,   ///< chunk extensions, skipped up to CR
    cr,          ///< CR seen, LF must follow
    complete,    ///< LF seen: the line is over
  };

  std::size_t max_line_bytes_;
  std::size_t line_bytes_ = 0;
  std::size_t digits_ = 0;
  std::uint64_t size_ = 0;
  Part part_ = Part::size;
};

}  // namespace nethttp::codec
