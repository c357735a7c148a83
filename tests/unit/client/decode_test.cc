// The content-coding decoders and DecodingBody: every coding round-trips at
// every split of its input, large bodies stream in constant memory, and
// corrupt, truncated, trailing and bomb inputs fail as ErrorKind::body.
#include <brotli/encode.h>
#include <dlfcn.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "client/decoder.h"
#include "client/decoding_body.h"
#include "nethttp/body.h"
#include "pool/body_impl.h"

// Counts operator new calls on this thread while enabled: proof that
// decoding allocates nothing per byte (memory is constant by design).
namespace {
thread_local bool g_count_allocations = false;
thread_local std::size_t g_allocations = 0;
}  // namespace

// ThreadSanitizer's runtime defines operator new itself, and cannot share
// it: the TSan tree builds this program for the cookie jar's tests only.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NETHTTP_TSAN_OWNS_OPERATOR_NEW
#endif
#endif
#ifndef NETHTTP_TSAN_OWNS_OPERATOR_NEW
// GCC pairs the inlined free() below with a `new` expression it sees.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (g_count_allocations) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // NETHTTP_TSAN_OWNS_OPERATOR_NEW

namespace nethttp::client {
namespace {

// ---------------------------------------------------------------------------
// Encoders, to make fixtures at test time.

enum class Coding { gzip, zlib_deflate, raw_deflate, br, zstd };

struct CodingCase {
  Coding coding;
  std::string_view content_coding;  // the Content-Encoding token
  std::string_view name;            // for test names
};

constexpr CodingCase kCodings[] = {
    {Coding::gzip, "gzip", "gzip"},
    {Coding::zlib_deflate, "deflate", "zlib_deflate"},
    {Coding::raw_deflate, "deflate", "raw_deflate"},
    {Coding::br, "br", "br"},
    {Coding::zstd, "zstd", "zstd"},
};

void PrintTo(const CodingCase& c, std::ostream* os) {
  *os << c.name;
}

/// A streaming compressor: encode() appends to `out`.
class Encoder {
 public:
  virtual ~Encoder() = default;
  virtual void encode(std::string_view plain, bool last, std::string& out) = 0;
};

class ZlibEncoder final : public Encoder {
 public:
  ZlibEncoder(int window_bits, int level) {
    if (deflateInit2(&stream_, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  }
  ~ZlibEncoder() override { deflateEnd(&stream_); }
  void encode(std::string_view plain, bool last, std::string& out) override {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));  // NOLINT: zlib's API
    stream_.avail_in = static_cast<uInt>(plain.size());
    char buf[16384];
    for (;;) {
      stream_.next_out = reinterpret_cast<Bytef*>(buf);
      stream_.avail_out = sizeof buf;
      const int rc = deflate(&stream_, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buf, sizeof buf - stream_.avail_out);
      if (rc == Z_STREAM_END) return;
      if (!last && stream_.avail_in == 0 && stream_.avail_out > 0) return;
    }
  }

 private:
  z_stream stream_{};
};

class ZstdEncoder final : public Encoder {
 public:
  explicit ZstdEncoder(int level) : context_(ZSTD_createCCtx()) {
    ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1);
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(context_); }
  void encode(std::string_view plain, bool last, std::string& out) override {
    ZSTD_inBuffer in{plain.data(), plain.size(), 0};
    char buf[16384];
    for (;;) {
      ZSTD_outBuffer o{buf, sizeof buf, 0};
      const std::size_t rc = ZSTD_compressStream2(context_, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(rc)) std::abort();
      out.append(buf, o.pos);
      if (last ? rc == 0 : in.pos == in.size && o.pos < o.size) return;
    }
  }

 private:
  ZSTD_CCtx* context_;
};

/// libbrotlienc, loaded at run time: the library links only the decoder.
struct BrotliEncoderApi {
  decltype(&BrotliEncoderCreateInstance) create = nullptr;
  decltype(&BrotliEncoderSetParameter) set_parameter = nullptr;
  decltype(&BrotliEncoderCompressStream) compress_stream = nullptr;
  decltype(&BrotliEncoderHasMoreOutput) has_more_output = nullptr;
  decltype(&BrotliEncoderDestroyInstance) destroy = nullptr;

  static const BrotliEncoderApi& get() {
    static const BrotliEncoderApi api = [] {
      BrotliEncoderApi a;
      void* lib = dlopen("libbrotlienc.so.1", RTLD_NOW);
      if (lib == nullptr) std::abort();
      a.create = reinterpret_cast<decltype(a.create)>(dlsym(lib, "BrotliEncoderCreateInstance"));
      a.set_parameter = reinterpret_cast<decltype(a.set_parameter)>(dlsym(lib, "BrotliEncoderSetParameter"));
      a.compress_stream =
          reinterpret_cast<decltype(a.compress_stream)>(dlsym(lib, "BrotliEncoderCompressStream"));
      a.has_more_output =
          reinterpret_cast<decltype(a.has_more_output)>(dlsym(lib, "BrotliEncoderHasMoreOutput"));
      a.destroy = reinterpret_cast<decltype(a.destroy)>(dlsym(lib, "BrotliEncoderDestroyInstance"));
      return a;
    }();
    return api;
  }
};

class BrotliEncoder final : public Encoder {
 public:
  explicit BrotliEncoder(int quality) : state_(api().create(nullptr, nullptr, nullptr)) {
    api().set_parameter(state_, BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(quality));
  }
  ~BrotliEncoder() override { api().destroy(state_); }
  void encode(std::string_view plain, bool last, std::string& out) override {
    std::size_t avail_in = plain.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(plain.data());
    std::uint8_t buf[16384];
    for (;;) {
      std::size_t avail_out = sizeof buf;
      std::uint8_t* next_out = buf;
      if (!api().compress_stream(state_, last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS, &avail_in,
                                 &next_in, &avail_out, &next_out, nullptr)) {
        std::abort();
      }
      out.append(reinterpret_cast<const char*>(buf), sizeof buf - avail_out);
      if (avail_in == 0 && !api().has_more_output(state_)) return;
    }
  }

 private:
  static const BrotliEncoderApi& api() { return BrotliEncoderApi::get(); }
  BrotliEncoderState* state_;
};

/// `fast`: the lowest levels, for the large bodies.
std::unique_ptr<Encoder> make_encoder(Coding coding, bool fast = false) {
  switch (coding) {
    case Coding::gzip: return std::make_unique<ZlibEncoder>(15 + 16, fast ? 1 : 6);
    case Coding::zlib_deflate: return std::make_unique<ZlibEncoder>(15, fast ? 1 : 6);
    case Coding::raw_deflate: return std::make_unique<ZlibEncoder>(-15, fast ? 1 : 6);
    case Coding::br: return std::make_unique<BrotliEncoder>(fast ? 1 : 5);
    case Coding::zstd: return std::make_unique<ZstdEncoder>(fast ? 1 : 3);
  }
  std::abort();
}

std::string compress(Coding coding, std::string_view plain) {
  std::string out;
  make_encoder(coding)->encode(plain, true, out);
  return out;
}

/// Text-like bytes from a fixed seed: compresses a few times, like pages.
class PlainStream {
 public:
  void fill(std::span<char> out) {
    static constexpr std::string_view kAlphabet = "etaoin shrdlu cmfwyp,.\n{}\":0123";
    for (char& c : out) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      c = kAlphabet[(state_ >> 32) % (state_ % 4 == 0 ? kAlphabet.size() : 8)];
    }
  }

 private:
  std::uint64_t state_ = 0x9e3779b97f4a7c15;
};

std::string plain_text(std::size_t size) {
  std::string s(size, '\0');
  PlainStream().fill(s);
  return s;
}

// ---------------------------------------------------------------------------
// Raw bodies.

/// What a test can see of a fake raw body after handing it to DecodingBody.
struct RawState {
  bool closed = false;
  std::uint64_t bytes_served = 0;
  Header trailers;
};

/// Serves fixed bytes in reads of at most `max_read` bytes.
class FakeRawBody final : public detail::BodyImpl {
 public:
  FakeRawBody(std::string data, std::size_t max_read, RawState* state)
      : data_(std::move(data)), max_read_(max_read), state_(state) {}
  Result<std::size_t> read(std::span<char> buf) override {
    if (state_->closed) return Error(ErrorKind::io, "read on a closed response body");
    const std::size_t n = std::min({buf.size(), max_read_, data_.size() - pos_});
    std::copy_n(data_.data() + pos_, n, buf.data());
    pos_ += n;
    state_->bytes_served += n;
    return n;
  }
  void close() noexcept override { state_->closed = true; }
  bool at_end() const noexcept override { return pos_ == data_.size(); }
  const Header& trailers() const noexcept override { return state_->trailers; }

 private:
  std::string data_;
  std::size_t max_read_;
  std::size_t pos_ = 0;
  RawState* state_;
};

/// Compresses `plain_bytes` of PlainStream on the fly, a chunk at a time.
class GeneratedRawBody final : public detail::BodyImpl {
 public:
  GeneratedRawBody(Coding coding, std::uint64_t plain_bytes, RawState* state)
      : encoder_(make_encoder(coding, /*fast=*/true)), plain_left_(plain_bytes), state_(state) {}
  Result<std::size_t> read(std::span<char> buf) override {
    // The test's own allocations are not the decoder's.
    const bool counting = std::exchange(g_count_allocations, false);
    while (pending_.size() == pending_pos_ && !finished_) refill();
    const std::size_t n = std::min(buf.size(), pending_.size() - pending_pos_);
    std::copy_n(pending_.data() + pending_pos_, n, buf.data());
    pending_pos_ += n;
    state_->bytes_served += n;
    g_count_allocations = counting;
    return n;
  }
  void close() noexcept override { state_->closed = true; }
  bool at_end() const noexcept override { return finished_ && pending_pos_ == pending_.size(); }
  const Header& trailers() const noexcept override { return state_->trailers; }

 private:
  void refill() {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(plain_left_, plain_.size()));
    plain_stream_.fill(std::span(plain_).first(n));
    plain_left_ -= n;
    pending_.clear();
    pending_pos_ = 0;
    finished_ = plain_left_ == 0;
    encoder_->encode(std::string_view(plain_.data(), n), finished_, pending_);
  }

  std::unique_ptr<Encoder> encoder_;
  PlainStream plain_stream_;
  std::vector<char> plain_ = std::vector<char>(std::size_t{256} << 10);
  std::uint64_t plain_left_;
  std::string pending_;  // compressed, not yet served from pending_pos_
  std::size_t pending_pos_ = 0;
  bool finished_ = false;
  RawState* state_;
};

Body decoding_body(std::string encoded, std::string_view content_coding, RawState* state,
                   std::size_t max_read = SIZE_MAX, DecodeLimits limits = {}) {
  std::unique_ptr<Decoder> decoder = make_decoder(content_coding, limits);
  EXPECT_NE(decoder, nullptr);
  return Body(std::make_unique<DecodingBody>(
      Body(std::make_unique<FakeRawBody>(std::move(encoded), max_read, state)), std::move(decoder)));
}

/// Feeds `encoded` to a decoder `in_split` bytes at a time, decoding into
/// `out_size`-byte buffers; checks the Decoder contract on every call.
Result<std::string> decode_split(Decoder& decoder, std::string_view encoded, std::size_t in_split,
                                 std::size_t out_size) {
  std::string plain;
  std::vector<char> out(out_size);
  std::size_t pos = 0;
  for (;;) {
    const std::string_view in = encoded.substr(pos, in_split);
    Result<DecodeStep> step = decoder.decode(in, out);
    if (!step) return std::move(step).error();
    EXPECT_LE(step->consumed, in.size());
    EXPECT_LE(step->produced, out.size());
    EXPECT_TRUE(step->consumed == in.size() || step->produced == out.size());
    plain.append(out.data(), step->produced);
    pos += step->consumed;
    if (pos == encoded.size() && step->produced < out.size()) return plain;
  }
}

// ---------------------------------------------------------------------------
// make_decoder

TEST(MakeDecoder, KnowsTheFourCodingsInAnyCase) {
  for (const std::string_view coding : {"gzip", "x-gzip", "GZIP", "deflate", "Deflate", "br", "BR", "zstd"}) {
    SCOPED_TRACE(coding);
    EXPECT_NE(make_decoder(coding), nullptr);
  }
  EXPECT_EQ(make_decoder("x-gzip")->coding(), "gzip");
}

TEST(MakeDecoder, ReturnsNullForACodingItDoesNotKnowSoTheBodyStaysAsItIs) {
  for (const std::string_view coding :
       {"identity", "compress", "x-compress", "", "gzip, br", " gzip", "brotli"}) {
    SCOPED_TRACE(coding);
    EXPECT_EQ(make_decoder(coding), nullptr);
  }
}

// ---------------------------------------------------------------------------
// Each coding

class EachCoding : public ::testing::TestWithParam<CodingCase> {};

INSTANTIATE_TEST_SUITE_P(Decode, EachCoding, ::testing::ValuesIn(kCodings),
                         [](const ::testing::TestParamInfo<CodingCase>& param) {
                           return std::string(param.param.name);
                         });

TEST_P(EachCoding, RoundTripsAtEverySplitOfTheInputAndTheOutput) {
  const std::string plain = plain_text(5000);
  const std::string encoded = compress(GetParam().coding, plain);
  std::vector<std::size_t> splits;
  for (std::size_t n = 1; n <= 64; ++n) splits.push_back(n);
  for (const std::size_t n : {97, 251, 1001, 4099}) splits.push_back(n);
  splits.push_back(encoded.size());
  for (const std::size_t in_split : splits) {
    for (const std::size_t out_size : {1, 7, 16384}) {
      SCOPED_TRACE(::testing::Message() << "in_split " << in_split << " out_size " << out_size);
      std::unique_ptr<Decoder> decoder = make_decoder(GetParam().content_coding);
      Result<std::string> decoded = decode_split(*decoder, encoded, in_split, out_size);
      ASSERT_TRUE(decoded.ok()) << decoded.error().message();
      EXPECT_EQ(*decoded, plain);
      EXPECT_TRUE(decoder->is_complete());
    }
  }
}

TEST_P(EachCoding, RoundTripsASmallBodyThroughDecodingBodyAtEveryRawReadSize) {
  const std::string plain = plain_text(3000);
  const std::string encoded = compress(GetParam().coding, plain);
  for (const std::size_t max_read : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5},
                                     std::size_t{17}, std::size_t{333}, SIZE_MAX}) {
    SCOPED_TRACE(max_read);
    RawState raw;
    raw.trailers.add("X-Checksum", "42");
    Body body = decoding_body(encoded, GetParam().content_coding, &raw, max_read);
    Result<std::string> decoded = body.read_all();
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, plain);
    EXPECT_TRUE(body.at_end());
    EXPECT_EQ(raw.bytes_served, encoded.size());
    EXPECT_EQ(body.trailers().get("X-Checksum"), "42");
  }
}

TEST_P(EachCoding, RoundTripsAnEmptyStream) {
  RawState raw;
  Body body = decoding_body(compress(GetParam().coding, ""), GetParam().content_coding, &raw);
  Result<std::string> decoded = body.read_all();
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, "");
  EXPECT_TRUE(body.at_end());
}

TEST_P(EachCoding, TakesAnEmptyRawBodyAsAnEmptyBody) {
  RawState raw;
  Body body = decoding_body("", GetParam().content_coding, &raw);
  Result<std::string> decoded = body.read_all();
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, "");
  EXPECT_TRUE(body.at_end());
}

TEST_P(EachCoding, Streams64MiBInConstantMemory) {
  constexpr std::uint64_t kPlainBytes = std::uint64_t{64} << 20;
  RawState raw;
  Body body(std::make_unique<DecodingBody>(
      Body(std::make_unique<GeneratedRawBody>(GetParam().coding, kPlainBytes, &raw)),
      make_decoder(GetParam().content_coding)));
  PlainStream expected_stream;
  std::vector<char> buf(40000);  // not a multiple of the raw chunk size
  std::vector<char> expected(buf.size());
  std::uint64_t total = 0;
  std::size_t mismatches = 0;
  g_allocations = 0;
  for (;;) {
    g_count_allocations = true;
    Result<std::size_t> n = body.read(buf);
    g_count_allocations = false;
    ASSERT_TRUE(n.ok()) << n.error().message();
    if (*n == 0) break;
    expected_stream.fill(std::span(expected).first(*n));
    if (!std::equal(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n), expected.begin()))
      ++mismatches;
    total += *n;
  }
  EXPECT_EQ(total, kPlainBytes);
  EXPECT_EQ(mismatches, 0U);
  EXPECT_TRUE(body.at_end());
  // No buffer grows with the body: decoding allocated nothing at all.
  EXPECT_EQ(g_allocations, 0U);
  EXPECT_GT(raw.bytes_served, 0U);
}

TEST_P(EachCoding, FailsCorruptDataWithABodyErrorNamingTheCoding) {
  const std::string plain = plain_text(20000);
  std::string encoded = compress(GetParam().coding, plain);
  // Scribble over the middle and the header: a checksum or the format breaks.
  for (std::size_t i = 0; i < 64; ++i) encoded[encoded.size() / 2 + i] = static_cast<char>(0xA5 ^ i);
  for (std::size_t i = 0; i < 4; ++i) encoded[i] = static_cast<char>(0xFF);
  RawState raw;
  Body body = decoding_body(encoded, GetParam().content_coding, &raw);
  Result<std::string> decoded = body.read_all();
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind(), ErrorKind::body);
  EXPECT_NE(decoded.error().message().find(GetParam().content_coding), std::string::npos)
      << decoded.error().message();
  EXPECT_TRUE(raw.closed) << "a failed body closes its raw body";
  // The error is sticky.
  std::array<char, 16> buf{};
  Result<std::size_t> again = body.read(buf);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::body);
}

TEST_P(EachCoding, FailsAStreamCutShortAtTheRawEnd) {
  const std::string encoded = compress(GetParam().coding, plain_text(20000));
  for (const std::size_t cut : {std::size_t{1}, std::size_t{4}, encoded.size() / 2, encoded.size() - 1}) {
    SCOPED_TRACE(cut);
    RawState raw;
    Body body = decoding_body(encoded.substr(0, encoded.size() - cut), GetParam().content_coding, &raw, 100);
    Result<std::string> decoded = body.read_all();
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().kind(), ErrorKind::body);
    EXPECT_EQ(decoded.error().message(), "truncated " + std::string(GetParam().content_coding) + " stream");
    EXPECT_FALSE(body.at_end());
  }
}

TEST_P(EachCoding, FailsTrailingGarbageAfterTheEndOfTheStream) {
  const std::string plain = plain_text(2000);
  using namespace std::string_view_literals;
  for (const std::string_view garbage : {"x"sv, "garbage after the end"sv, "\0\0\0\0"sv}) {
    SCOPED_TRACE(garbage);
    RawState raw;
    Body body = decoding_body(compress(GetParam().coding, plain) + std::string(garbage),
                              GetParam().content_coding, &raw, 7);
    Result<std::string> decoded = body.read_all();
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().kind(), ErrorKind::body);
    EXPECT_NE(decoded.error().message().find("trailing data after the end of the"), std::string::npos)
        << decoded.error().message();
  }
}

TEST_P(EachCoding, StopsABombAtTheDecodedByteLimit) {
  const std::string encoded = compress(GetParam().coding, std::string(std::size_t{10} << 20, '\0'));
  DecodeLimits limits;
  limits.max_decoded_bytes = std::uint64_t{1} << 20;
  RawState raw;
  Body body = decoding_body(encoded, GetParam().content_coding, &raw, SIZE_MAX, limits);
  std::uint64_t total = 0;
  std::vector<char> buf(65536);
  for (;;) {
    Result<std::size_t> n = body.read(buf);
    if (!n) {
      EXPECT_EQ(n.error().kind(), ErrorKind::body);
      EXPECT_TRUE(n.error().message().starts_with("decompression bomb guard: ")) << n.error().message();
      break;
    }
    ASSERT_NE(*n, 0U) << "the bomb decoded to its end";
    total += *n;
  }
  EXPECT_LE(total, limits.max_decoded_bytes);
  EXPECT_TRUE(raw.closed);
}

TEST_P(EachCoding, PassesABodyOfExactlyTheDecodedByteLimit) {
  const std::string plain = plain_text(100000);
  DecodeLimits limits;
  limits.max_decoded_bytes = plain.size();
  RawState raw;
  Body body =
      decoding_body(compress(GetParam().coding, plain), GetParam().content_coding, &raw, SIZE_MAX, limits);
  Result<std::string> decoded = body.read_all();
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, plain);
}

TEST_P(EachCoding, PassesASmallHighlyCompressibleBodyWithTheDefaultLimits) {
  const std::string plain(std::size_t{1} << 20, ' ');  // within the ratio's 1 MiB grace
  RawState raw;
  Body body = decoding_body(compress(GetParam().coding, plain), GetParam().content_coding, &raw);
  Result<std::string> decoded = body.read_all();
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(decoded->size(), plain.size());
}

TEST_P(EachCoding, ClosingBeforeTheEndClosesTheRawBody) {
  RawState raw;
  Body body =
      decoding_body(compress(GetParam().coding, plain_text(100000)), GetParam().content_coding, &raw, 1000);
  std::array<char, 100> buf{};
  Result<std::size_t> n = body.read(buf);
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_GT(*n, 0U);
  EXPECT_FALSE(raw.closed);
  body.close();
  EXPECT_TRUE(raw.closed);
  EXPECT_FALSE(body.at_end());
  Result<std::size_t> after = body.read(buf);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().kind(), ErrorKind::io);
}

// ---------------------------------------------------------------------------
// Coding specifics

TEST(DecodeGzip, DecodesConcatenatedMembersAsOneBody) {
  const std::string encoded =
      compress(Coding::gzip, "first member, ") + compress(Coding::gzip, "") + compress(Coding::gzip, "third");
  for (const std::size_t split : {std::size_t{1}, std::size_t{5}, encoded.size()}) {
    SCOPED_TRACE(split);
    std::unique_ptr<Decoder> decoder = make_decoder("gzip");
    Result<std::string> decoded = decode_split(*decoder, encoded, split, 3);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, "first member, third");
    EXPECT_TRUE(decoder->is_complete());
  }
}

TEST(DecodeGzip, FailsAMemberCutShortAfterAWholeOne) {
  const std::string second = compress(Coding::gzip, "second");
  RawState raw;
  Body body = decoding_body(compress(Coding::gzip, "first") + second.substr(0, 12), "gzip", &raw);
  Result<std::string> decoded = body.read_all();
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message(), "truncated gzip stream");
}

TEST(DecodeDeflate, TellsTheZlibFormatFromRawDeflateByTheFirstTwoBytes) {
  struct Case {
    std::string_view name;
    Coding coding;
  };
  const std::string plain = plain_text(777);
  for (const Case c : {Case{"zlib-wrapped", Coding::zlib_deflate}, Case{"raw", Coding::raw_deflate}}) {
    SCOPED_TRACE(c.name);
    const std::string encoded = compress(c.coding, plain);
    // One byte at a time: the format is decided only once both bytes came.
    std::unique_ptr<Decoder> decoder = make_decoder("deflate");
    Result<std::string> decoded = decode_split(*decoder, encoded, 1, 1);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(DecodeDeflate, FailsAOneByteBodyAsTruncated) {
  RawState raw;
  Body body = decoding_body(compress(Coding::raw_deflate, "x").substr(0, 1), "deflate", &raw);
  Result<std::string> decoded = body.read_all();
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message(), "truncated deflate stream");
}

TEST(DecodeZstd, DecodesConcatenatedFrames) {
  const std::string encoded = compress(Coding::zstd, "one ") + compress(Coding::zstd, "two");
  std::unique_ptr<Decoder> decoder = make_decoder("zstd");
  Result<std::string> decoded = decode_split(*decoder, encoded, 3, 2);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, "one two");
}

TEST(DecodeBombGuard, StopsAHighRatioBodyAfterTheGraceWithTheDefaultLimits) {
  for (const auto& [coding, name] : {std::pair{Coding::br, "br"}, std::pair{Coding::zstd, "zstd"}}) {
    SCOPED_TRACE(name);
    const std::string encoded = compress(coding, std::string(std::size_t{64} << 20, '\0'));
    RawState raw;
    Body body = decoding_body(encoded, name, &raw);
    Result<std::string> decoded = body.read_all();
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().kind(), ErrorKind::body);
    EXPECT_TRUE(decoded.error().message().starts_with("decompression bomb guard: the " + std::string(name) +
                                                      " body expands more than 1000 times"))
        << decoded.error().message();
  }
}

TEST(DecodeBombGuard, StaysFailedOnceTripped) {
  DecodeLimits limits;
  limits.max_decoded_bytes = 10;
  std::unique_ptr<Decoder> decoder = make_decoder("gzip", limits);
  const std::string encoded = compress(Coding::gzip, std::string(100, 'a'));
  std::array<char, 64> out{};
  Result<DecodeStep> step = decoder->decode(encoded, out);
  ASSERT_FALSE(step.ok());
  Result<DecodeStep> again = decoder->decode("", out);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().message().starts_with("decompression bomb guard: "));
  EXPECT_FALSE(decoder->is_complete());
}

}  // namespace
}  // namespace nethttp::client
