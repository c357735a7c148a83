// Fuzzes the content-coding decoders. The first byte picks the coding (low
// two bits) and whether the rest is encoded data (decoded as is) or plain
// text (compressed here with zlib or zstd, then decoded and compared); the
// second seeds the splits. The rest goes through the decoder in random-sized
// input pieces and output buffers, with small limits. Checks the Decoder
// contract and the limits, and traps when one breaks.
//
// The same bytes then go through a DecodingBody, the streaming body a
// response is read through, over a raw body that hands them out in other
// random-sized pieces (and, with bit 4 of the first byte, ends with an I/O
// error instead of its end); it must tell the same story as the decoder.
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "client/decoder.h"
#include "client/decoding_body.h"
#include "nethttp/body.h"
#include "pool/body_impl.h"

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

bool is_bomb(const nethttp::Error& error) {
  return error.message().find("bomb guard") != std::string::npos;
}

/// Decodes `encoded` in random pieces; the decoded bytes, or nothing on error.
std::string decode(std::string_view coding, std::string_view encoded, Splits& splits, bool* ok,
                   bool* complete, bool* bomb) {
  const nethttp::client::DecodeLimits limits = small_limits();
  std::unique_ptr<nethttp::client::Decoder> decoder = nethttp::client::make_decoder(coding, limits);
  check(decoder != nullptr);
  std::string plain;
  std::array<char, 4096> out{};
  std::size_t pos = 0;
  *ok = true;
  *bomb = false;
  for (;;) {
    const std::string_view in = encoded.substr(pos, splits.next(600));
    const std::span<char> out_piece = std::span(out).first(splits.next(out.size()));
    nethttp::Result<nethttp::client::DecodeStep> step = decoder->decode(in, out_piece);
    if (!step) {
      check(step.error().kind() == nethttp::ErrorKind::body);
      check(!step.error().message().empty());
      *ok = false;
      *complete = false;
      *bomb = is_bomb(step.error());
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

/// A raw response body over `bytes`, read in pieces of random size, whose
/// end is an I/O error when `fail_at_end`.
class PiecesBody final : public nethttp::detail::BodyImpl {
 public:
  PiecesBody(std::string_view bytes, Splits splits, bool fail_at_end, bool* closed)
      : rest_(bytes), splits_(splits), fail_at_end_(fail_at_end), closed_(closed) {}

  nethttp::Result<std::size_t> read(std::span<char> buf) override {
    check(!*closed_);
    if (rest_.empty()) {
      if (fail_at_end_) return nethttp::Error(nethttp::ErrorKind::io, "raw body cut");
      at_end_ = true;
      return std::size_t{0};
    }
    const std::size_t n = std::min({buf.size(), rest_.size(), splits_.next(700)});
    std::copy_n(rest_.data(), n, buf.data());
    rest_.remove_prefix(n);
    return n;
  }
  void close() noexcept override { *closed_ = true; }
  bool at_end() const noexcept override { return at_end_; }
  const nethttp::Header& trailers() const noexcept override { return trailers_; }

 private:
  std::string_view rest_;
  Splits splits_;
  bool fail_at_end_;
  bool* closed_;
  bool at_end_ = false;
  nethttp::Header trailers_;
};

/// One of `a` and `b` starts with the other.
bool one_prefixes_other(std::string_view a, std::string_view b) {
  return a.size() <= b.size() ? b.starts_with(a) : a.starts_with(b);
}

/// Reads `encoded` through a DecodingBody and checks it against what the
/// decoder alone made of it: `plain`, `ok` and `complete` from decode().
void check_decoding_body(std::string_view coding, std::string_view encoded, std::uint8_t seed,
                         bool fail_at_end, const std::string& plain, bool ok, bool complete,
                         bool direct_bomb) {
  bool raw_closed = false;
  nethttp::Body raw(std::make_unique<PiecesBody>(encoded, Splits(seed ^ 0x5a), fail_at_end, &raw_closed));
  nethttp::Body body(std::make_unique<nethttp::client::DecodingBody>(
      std::move(raw), nethttp::client::make_decoder(coding, small_limits())));
  Splits reads(seed ^ 0xa5);
  std::string streamed;
  std::string buf(4096, '\0');
  std::optional<nethttp::Error> error;
  for (;;) {
    const std::span<char> piece = std::span(buf).first(reads.next(buf.size()));
    nethttp::Result<std::size_t> n = body.read(piece);
    if (!n) {
      error = n.error();
      break;
    }
    check(*n <= piece.size());
    if (*n == 0) break;
    streamed.append(piece.data(), *n);
    check(streamed.size() <= small_limits().max_decoded_bytes);
  }
  check(body.trailers().empty());
  if (error) {
    // Errors are sticky, and the raw body is closed at the first one.
    check(raw_closed && !body.at_end());
    const nethttp::Result<std::size_t> again = body.read(buf);
    check(!again && again.error().message() == error->message());
  } else {
    check(body.at_end());
    const nethttp::Result<std::size_t> again = body.read(buf);
    check(again.ok() && *again == 0);
  }

  if (fail_at_end) {
    // The raw end is always read, so its error always shows, unless the
    // decoder failed first.
    check(error.has_value());
    if (error->kind() == nethttp::ErrorKind::io) check(error->message() == "raw body cut");
    check(one_prefixes_other(streamed, plain));
    if (ok && error->kind() == nethttp::ErrorKind::io) check(streamed == plain);
    return;
  }
  if (encoded.empty()) {  // an empty body labelled with a coding
    check(!error && streamed.empty());
    return;
  }
  check(one_prefixes_other(streamed, plain));
  // The bomb guard counts ratios along the way, so where it trips depends on the pieces.
  if (direct_bomb || (error && is_bomb(*error))) return;
  if (!ok) {
    check(error.has_value() && error->kind() == nethttp::ErrorKind::body);
    return;
  }
  check(streamed == plain);
  if (complete) {
    check(!error);
  } else {
    check(error.has_value() && error->kind() == nethttp::ErrorKind::body);
    check(error->message() == "truncated " + std::string(coding) + " stream");
  }
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

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view coding = kCodings[data[0] & 3];
  const bool round_trip = (data[0] & 4) != 0;
  Splits splits(data[1]);
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const bool fail_at_end = (data[0] & 16) != 0;
  bool ok = false;
  bool complete = false;
  bool bomb = false;
  if (!round_trip || coding == "br") {  // no brotli encoder is linked
    const std::string plain = decode(coding, rest, splits, &ok, &complete, &bomb);
    check_decoding_body(coding, rest, data[1], fail_at_end, plain, ok, complete, bomb);
    return 0;
  }
  // Plain text: what the encoder makes must decode back to it.
  std::string encoded;
  if (coding == "gzip") encoded = zlib_compress(rest, 15 + 16);
  if (coding == "deflate") encoded = zlib_compress(rest, (data[0] & 8) != 0 ? -15 : 15);
  if (coding == "zstd") encoded = zstd_compress(rest);
  const std::string plain = decode(coding, encoded, splits, &ok, &complete, &bomb);
  if (rest.size() <= small_limits().ratio_after_bytes) {
    check(ok && complete);
    check(plain == rest);
  }
  check_decoding_body(coding, encoded, data[1], fail_at_end, plain, ok, complete, bomb);
  return 0;
}
