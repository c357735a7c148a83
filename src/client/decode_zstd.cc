// zstd (RFC 8878) through ZSTD_decompressStream. A body may hold several
// frames (RFC 8878 §3.1). The window is capped at 8 MiB, the limit RFC 8878
// §3.1.1.1.2 sets for the "zstd" content coding, so memory stays bounded.
#include <zstd.h>

#include "client/decode_codings.h"

namespace nethttp::client::detail {

namespace {

/// 2^23 = 8 MiB, RFC 8878's window limit for HTTP.
constexpr int kMaxWindowLog = 23;

class ZstdDecoder final : public Decoder {
 public:
  ZstdDecoder() noexcept : stream_(ZSTD_createDStream()) {
    if (stream_ != nullptr &&
        ZSTD_isError(ZSTD_DCtx_setParameter(stream_, ZSTD_d_windowLogMax, kMaxWindowLog))) {
      ZSTD_freeDStream(stream_);
      stream_ = nullptr;
    }
  }
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;
  ~ZstdDecoder() override { ZSTD_freeDStream(stream_); }

  Result<DecodeStep> decode(std::span<const char> in, std::span<char> out) override {
    if (stream_ == nullptr) return Error(ErrorKind::body, "zstd decoder: out of memory");
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    ZSTD_outBuffer output{out.data(), out.size(), 0};
    for (;;) {
      if (output.pos == output.size) break;
      if (complete_ && input.pos == input.size) break;
      const bool was_complete = complete_;
      const std::size_t in_before = input.pos;
      const std::size_t out_before = output.pos;
      const std::size_t rc = ZSTD_decompressStream(stream_, &output, &input);
      if (ZSTD_isError(rc)) {
        // After a whole frame, bytes that do not start another are trailing garbage.
        if (was_complete) return trailing_error("zstd");
        return corrupt_error("zstd", ZSTD_getErrorName(rc));
      }
      // 0: a frame ended and everything of it was written out; more input
      // would start another frame.
      complete_ = rc == 0;
      // With room left for output, zstd stops only when the input is used up
      // (or at the end of a frame, handled above).
      if (!complete_ && input.pos == input.size && output.pos < output.size) break;
      // Never spin on a peer's bytes.
      if (rc != 0 && input.pos == in_before && output.pos == out_before) {
        return corrupt_error("zstd", "the decoder made no progress");
      }
    }
    return DecodeStep{input.pos, output.pos};
  }
  bool is_complete() const noexcept override { return complete_; }
  std::string_view coding() const noexcept override { return "zstd"; }

 private:
  ZSTD_DStream* stream_;  // owned; null if it could not be allocated
  bool complete_ = false;
};

}  // namespace

std::unique_ptr<Decoder> make_zstd_decoder() {
  return std::make_unique<ZstdDecoder>();
}

}  // namespace nethttp::client::detail
