// gzip (RFC 1952): zlib's inflate with gzip header and trailer checks; a
// body may hold several members, decoded one after another as gunzip does.
#include "client/decode_codings.h"
#include "client/decode_inflate.h"

namespace nethttp::client::detail {

namespace {

/// windowBits for inflateInit2: the largest window (15) with a gzip wrapper (+16).
constexpr int kGzipWindowBits = 15 + 16;

class GzipDecoder final : public Decoder {
 public:
  Result<DecodeStep> decode(std::span<const char> in, std::span<char> out) override {
    return inflater_.inflate(in, out);
  }
  bool is_complete() const noexcept override { return inflater_.at_stream_end(); }
  std::string_view coding() const noexcept override { return "gzip"; }

 private:
  Inflater inflater_{"gzip", kGzipWindowBits, /*multi_member=*/true};
};

}  // namespace

std::unique_ptr<Decoder> make_gzip_decoder() {
  return std::make_unique<GzipDecoder>();
}

}  // namespace nethttp::client::detail
