// br (RFC 7932) through libbrotlidec's streaming API. The window is at most
// 16 MiB (large windows are not enabled), so memory stays bounded.
#include <brotli/decode.h>

#include <cstdint>

#include "client/decode_codings.h"

namespace nethttp::client::detail {

namespace {

class BrotliDecoder final : public Decoder {
 public:
  BrotliDecoder() noexcept : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
  BrotliDecoder(const BrotliDecoder&) = delete;
  BrotliDecoder& operator=(const BrotliDecoder&) = delete;
  ~BrotliDecoder() override {
    if (state_ != nullptr) BrotliDecoderDestroyInstance(state_);
  }

  Result<DecodeStep> decode(std::span<const char> in, std::span<char> out) override {
    if (state_ == nullptr) return Error(ErrorKind::body, "br decoder: out of memory");
    std::size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    std::size_t avail_out = out.size();
    auto* next_out = reinterpret_cast<std::uint8_t*>(out.data());
    for (;;) {
      if (complete_) {
        if (avail_in > 0) return trailing_error("br");
        break;
      }
      if (avail_out == 0) break;
      const BrotliDecoderResult rc =
          BrotliDecoderDecompressStream(state_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
        complete_ = true;
      } else if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
        break;  // all of `in` is used
      } else if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
        if (avail_out > 0) return corrupt_error("br", "the decoder made no progress");
      } else {
        return corrupt_error("br", BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state_)));
      }
    }
    return DecodeStep{in.size() - avail_in, out.size() - avail_out};
  }
  bool is_complete() const noexcept override { return complete_; }
  std::string_view coding() const noexcept override { return "br"; }

 private:
  BrotliDecoderState* state_;  // owned; null if it could not be allocated
  bool complete_ = false;
};

}  // namespace

std::unique_ptr<Decoder> make_brotli_decoder() {
  return std::make_unique<BrotliDecoder>();
}

}  // namespace nethttp::client::detail
