#include "client/decoder.h"

#include <algorithm>
#include <optional>
#include <string>

#include "client/decode_codings.h"

namespace nethttp::client {

namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

/// "1000" for 1000.0, "2.5" for 2.5.
std::string ratio_text(double ratio) {
  std::string text = std::to_string(ratio);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.ends_with('.')) text.pop_back();
  return text;
}

/// Enforces DecodeLimits around a coding's decoder: the bomb guard.
class GuardedDecoder final : public Decoder {
 public:
  GuardedDecoder(std::unique_ptr<Decoder> inner, DecodeLimits limits)
      : inner_(std::move(inner)), limits_(limits) {}

  Result<DecodeStep> decode(std::span<const char> in, std::span<char> out) override {
    if (failed_) return *failed_;
    // Never let the inner decoder write more than one byte beyond the cap:
    // enough to tell "exactly at the cap" from "beyond it".
    const std::uint64_t room = limits_.max_decoded_bytes - decoded_bytes_;
    if (room < out.size()) out = out.first(static_cast<std::size_t>(room) + 1);
    Result<DecodeStep> step = inner_->decode(in, out);
    if (!step) return fail(std::move(step).error());
    encoded_bytes_ += step->consumed;
    decoded_bytes_ += step->produced;
    if (decoded_bytes_ > limits_.max_decoded_bytes) {
      return fail(Error(ErrorKind::body, "decompression bomb guard: the " + std::string(inner_->coding()) +
                                             " body decodes to more than " +
                                             std::to_string(limits_.max_decoded_bytes) + " bytes"));
    }
    if (decoded_bytes_ > limits_.ratio_after_bytes &&
        static_cast<double>(decoded_bytes_) > limits_.max_ratio * static_cast<double>(encoded_bytes_)) {
      return fail(Error(ErrorKind::body, "decompression bomb guard: the " + std::string(inner_->coding()) +
                                             " body expands more than " + ratio_text(limits_.max_ratio) +
                                             " times (" + std::to_string(decoded_bytes_) + " bytes from " +
                                             std::to_string(encoded_bytes_) + ")"));
    }
    return step;
  }
  bool is_complete() const noexcept override { return !failed_ && inner_->is_complete(); }
  std::string_view coding() const noexcept override { return inner_->coding(); }

 private:
  Error fail(Error error) {
    failed_ = error;
    return error;
  }

  std::unique_ptr<Decoder> inner_;
  DecodeLimits limits_;
  std::uint64_t encoded_bytes_ = 0;  // consumed so far
  std::uint64_t decoded_bytes_ = 0;  // produced so far
  std::optional<Error> failed_;      // sticky: the first error
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(std::string_view content_coding, DecodeLimits limits) {
  std::unique_ptr<Decoder> inner;
  if (equals_ignore_case(content_coding, "gzip") || equals_ignore_case(content_coding, "x-gzip")) {
    inner = detail::make_gzip_decoder();
  } else if (equals_ignore_case(content_coding, "deflate")) {
    inner = detail::make_deflate_decoder();
  } else if (equals_ignore_case(content_coding, "br")) {
    inner = detail::make_brotli_decoder();
  } else if (equals_ignore_case(content_coding, "zstd")) {
    inner = detail::make_zstd_decoder();
  } else {
    return nullptr;
  }
  return std::make_unique<GuardedDecoder>(std::move(inner), limits);
}

}  // namespace nethttp::client
