// deflate: RFC 9110 §8.4.1.2 means the zlib format (RFC 1950), but servers
// have long sent raw deflate (RFC 1951); like browsers, decide from the first
// two bytes whether a zlib header is there.
#include <array>
#include <optional>

#include "client/decode_codings.h"
#include "client/decode_inflate.h"

namespace nethttp::client::detail {

namespace {

constexpr int kZlibWindowBits = 15;
constexpr int kRawWindowBits = -15;

/// RFC 1950 §2.2: CM = 8 (deflate), CINFO <= 7, and CMF*256 + FLG a multiple of 31.
bool is_zlib_header(unsigned char cmf, unsigned char flg) {
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

class DeflateDecoder final : public Decoder {
 public:
  Result<DecodeStep> decode(std::span<const char> in, std::span<char> out) override {
    DecodeStep step;
    if (!inflater_) {
      while (head_size_ < head_.size() && step.consumed < in.size())
        head_[head_size_++] = in[step.consumed++];
      if (head_size_ < head_.size()) return step;
      const bool zlib =
          is_zlib_header(static_cast<unsigned char>(head_[0]), static_cast<unsigned char>(head_[1]));
      inflater_.emplace("deflate", zlib ? kZlibWindowBits : kRawWindowBits, /*multi_member=*/false);
    }
    if (head_fed_ < head_.size()) {
      Result<DecodeStep> head = inflater_->inflate(std::span(head_).subspan(head_fed_), out);
      if (!head) return std::move(head).error();
      head_fed_ += head->consumed;
      step.produced += head->produced;
      if (head_fed_ < head_.size()) return step;  // out is full
    }
    Result<DecodeStep> rest = inflater_->inflate(in.subspan(step.consumed), out.subspan(step.produced));
    if (!rest) return std::move(rest).error();
    step.consumed += rest->consumed;
    step.produced += rest->produced;
    return step;
  }
  bool is_complete() const noexcept override { return inflater_ && inflater_->at_stream_end(); }
  std::string_view coding() const noexcept override { return "deflate"; }

 private:
  std::array<char, 2> head_{};        // the first two bytes, which choose the format
  std::size_t head_size_ = 0;         // how many of them arrived
  std::size_t head_fed_ = 0;          // how many of them the inflater took
  std::optional<Inflater> inflater_;  // made once the format is known
};

}  // namespace

std::unique_ptr<Decoder> make_deflate_decoder() {
  return std::make_unique<DeflateDecoder>();
}

}  // namespace nethttp::client::detail
