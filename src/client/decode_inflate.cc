#include "client/decode_inflate.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "client/decode_codings.h"

namespace nethttp::client::detail {

namespace {

/// zlib counts in uInt; feed it at most this much per call.
constexpr std::size_t kMaxZlibChunk = std::numeric_limits<uInt>::max();

/// The first byte of every gzip member.
constexpr Bytef kGzipMagic0 = 0x1f;

}  // namespace

Inflater::Inflater(std::string_view coding, int window_bits, bool multi_member) noexcept
    : coding_(coding), multi_member_(multi_member) {
  initialised_ = inflateInit2(&stream_, window_bits) == Z_OK;
}

Inflater::~Inflater() {
  if (initialised_) inflateEnd(&stream_);
}

Result<DecodeStep> Inflater::inflate(std::span<const char> in, std::span<char> out) {
  if (!initialised_) return Error(ErrorKind::body, std::string(coding_) + " decoder: out of memory");
  in = in.first(std::min(in.size(), kMaxZlibChunk));
  out = out.first(std::min(out.size(), kMaxZlibChunk));
  // zlib's API predates const: it never writes through next_in.
  stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));  // NOLINT
  stream_.avail_in = static_cast<uInt>(in.size());
  stream_.next_out = reinterpret_cast<Bytef*>(out.data());
  stream_.avail_out = static_cast<uInt>(out.size());
  const auto step = [&] { return DecodeStep{in.size() - stream_.avail_in, out.size() - stream_.avail_out}; };
  for (;;) {
    if (at_stream_end_) {
      if (stream_.avail_in == 0) return step();
      // Another member must start with the gzip magic (RFC 1952 §2.3.1: 0x1f 0x8b).
      if (!multi_member_ || *stream_.next_in != kGzipMagic0) return trailing_error(coding_);
      // Another gzip member follows: its header is checked like the first.
      if (inflateReset(&stream_) != Z_OK) return corrupt_error(coding_, "cannot start the next member");
      at_stream_end_ = false;
      in_next_member_ = true;
    }
    if (stream_.avail_out == 0) return step();
    const int rc = ::inflate(&stream_, Z_NO_FLUSH);
    switch (rc) {
      case Z_STREAM_END: at_stream_end_ = true; break;
      case Z_OK:
        // With room left for output, zlib stops only when the input is used up.
        if (stream_.avail_in == 0 && stream_.avail_out > 0) return step();
        break;
      case Z_BUF_ERROR:
        // No progress possible: the input is used up (with input left and
        // room for output zlib always progresses, but never spin on a peer).
        if (stream_.avail_in == 0) return step();
        return corrupt_error(coding_, "the decoder made no progress");
      case Z_NEED_DICT: return corrupt_error(coding_, "needs a preset dictionary");
      case Z_MEM_ERROR: return Error(ErrorKind::body, std::string(coding_) + " decoder: out of memory");
      default:
        // Bytes after a whole member that do not start another are trailing garbage.
        if (in_next_member_ && stream_.total_out == 0) return trailing_error(coding_);
        return corrupt_error(coding_, stream_.msg != nullptr ? stream_.msg : "invalid data");
    }
  }
}

}  // namespace nethttp::client::detail
