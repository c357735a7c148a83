// Fuzzes the content-coding decoders. The first byte picks the coding (low
// two bits) and whether the rest is encoded data (decoded as is) or plain
// text (compressed here with zlib or zstd, then decoded and compared); the
// second seeds the splits. The rest goes through the decoder in random-sized
// input pieces and output buffers, with small limits. Checks the Decoder
// contract and the limits, and traps when one breaks.
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "client/decoder.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr std::array<std::string_view, 4> kCodings = {"gzip", "deflate", "br", "zstd"};

/// Small limits, so bombs trip within the fuzzer's time and memory.
nethttp::client::DecodeLimits small_limits() {
  nethttp::client::DecodeLimits limits;
  limits.max_decoded_bytes = std::uint64_t{1} << 20;
  limits.max_ratio = 50;
  limits.ratio_after_bytes = std::uint64_t{64} << 10;
  return limits;
}

/// A small deterministic generator for split sizes.
class Splits {
 public:
  explicit Splits(std::uint8_t seed) : state_(seed * 2654435761U + 1) {}
  std::size_t next(std::size_t max) {
    state_ = state_ * 1103515245U + 12345U;
    return 1 + (state_ >> 8) % max;
  }

 private:
  std::uint32_t state_;
};

/// Decodes `encoded` in random pieces; the decoded bytes, or nothing on error.
std::string decode(std::string_view coding, std::string_view encoded, Splits& splits, bool* ok,
                   bool* complete) {
  const nethttp::client::DecodeLimits limits = small_limits();
  std::unique_ptr<nethttp::client::Decoder> decoder = nethttp::client::make_decoder(coding, limits);
  check(decoder != nullptr);
  std::string plain;
  std::array<char, 4096> out{};
  std::size_t pos = 0;
  *ok = true;
  for (;;) {
    const std::string_view in = encoded.substr(pos, splits.next(600));
    const std::span<char> out_piece = std::span(out).first(splits.next(out.size()));
    nethttp::Result<nethttp::client::DecodeStep> step = decoder->decode(in, out_piece);
    if (!step) {
      check(step.error().kind() == nethttp::ErrorKind::body);
      check(!step.error().message().empty());
      *ok = false;
      *complete = false;
      return plain;
    }
    check(step->consumed <= in.size() && step->produced <= out_piece.size());
    check(step->consumed == in.size() || step->produced == out_piece.size());
    plain.append(out_piece.data(), step->produced);
    check(plain.size() <= limits.max_decoded_bytes);
    pos += step->consumed;
    if (pos == encoded.size() && step->produced < out_piece.size()) break;
  }
  *complete = decoder->is_complete();
  return plain;
}

std::string zlib_compress(std::string_view plain, int window_bits) {
  z_stream stream{};
  check(deflateInit2(&stream, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&stream, plain.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));  // NOLINT: zlib's API
  stream.avail_in = static_cast<uInt>(plain.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  check(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string zstd_compress(std::string_view plain) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 3);
  check(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view coding = kCodings[data[0] & 3];
  const bool round_trip = (data[0] & 4) != 0;
  Splits splits(data[1]);
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  bool ok = false;
  bool complete = false;
  if (!round_trip || coding == "br") {  // no brotli encoder is linked
    (void)decode(coding, rest, splits, &ok, &complete);
    return 0;
  }
  // Plain text: what the encoder makes must decode back to it.
  std::string encoded;
  if (coding == "gzip") encoded = zlib_compress(rest, 15 + 16);
  if (coding == "deflate") encoded = zlib_compress(rest, (data[0] & 8) != 0 ? -15 : 15);
  if (coding == "zstd") encoded = zstd_compress(rest);
  const std::string plain = decode(coding, encoded, splits, &ok, &complete);
  if (rest.size() <= small_limits().ratio_after_bytes) {
    check(ok && complete);
    check(plain == rest);
  }
  return 0;
}
