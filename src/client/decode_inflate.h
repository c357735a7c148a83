// One zlib inflate stream, shared by the gzip and deflate decoders.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <span>
#include <string_view>

#include "client/decoder.h"
#include "nethttp/error.h"

namespace nethttp::client::detail {

class Inflater {
 public:
  /// `window_bits` as inflateInit2 takes it: 15 + 16 gzip, 15 zlib, -15 raw.
  /// `multi_member`: after the end of a stream, more input starts another
  /// one (concatenated gzip members, RFC 1952 §2.2); else it is an error.
  Inflater(std::string_view coding, int window_bits, bool multi_member) noexcept;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater();

  /// Decoder::decode's contract.
  [[nodiscard]] Result<DecodeStep> inflate(std::span<const char> in, std::span<char> out);
  /// At the end of a stream (or member).
  [[nodiscard]] bool at_stream_end() const noexcept { return at_stream_end_; }

 private:
  std::string_view coding_;
  z_stream stream_{};
  bool initialised_ = false;  // inflateInit2 succeeded (it allocates)
  bool multi_member_;
  bool at_stream_end_ = false;
  bool in_next_member_ = false;  // a member after the first has begun
};

}  // namespace nethttp::client::detail
