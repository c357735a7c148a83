// Request bodies for upload tests: a position-dependent byte pattern, whole
// or produced on demand, and a source that fails half-way.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "nethttp/request.h"

namespace nethttp::testing {

/// Byte `i` of the upload pattern: position-dependent, so a lost, repeated
/// or misplaced block shows.
inline char pattern_byte(std::uint64_t i) {
  return static_cast<char>('a' + (i * 7 + i / 4096) % 26);
}

/// The first `size` bytes of the upload pattern.
inline std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = pattern_byte(i);
  return out;
}

/// The upload pattern, produced on demand (a from_factory or from_stream
/// body), at most `max_piece` bytes per read.
class PatternSource final : public BodySource {
 public:
  explicit PatternSource(std::uint64_t size, std::size_t max_piece = SIZE_MAX)
      : size_(size), max_piece_(max_piece) {}
  Result<std::size_t> read(std::span<char> buf) override {
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>({buf.size(), size_ - offset_, static_cast<std::uint64_t>(max_piece_)}));
    for (std::size_t i = 0; i < n; ++i) buf[i] = pattern_byte(offset_ + i);
    offset_ += n;
    return n;
  }

 private:
  std::uint64_t size_;
  std::size_t max_piece_;
  std::uint64_t offset_ = 0;
};

/// `good` bytes of the pattern, then a failure as a disk would give it:
/// ErrorKind::io "reading upload.bin: Input/output error", errno 5 (EIO).
class FailingSource final : public BodySource {
 public:
  explicit FailingSource(std::size_t good) : pattern_(good) {}
  Result<std::size_t> read(std::span<char> buf) override {
    Result<std::size_t> n = pattern_.read(buf);
    if (n && *n == 0) return Error(ErrorKind::io, "reading upload.bin: Input/output error", 5);
    return n;
  }

 private:
  PatternSource pattern_;
};

}  // namespace nethttp::testing
