#include "client/decoding_body.h"

#include <cassert>
#include <string>
#include <utility>

namespace nethttp::client {

DecodingBody::DecodingBody(Body raw, std::unique_ptr<Decoder> decoder) noexcept
    : raw_(std::move(raw)), decoder_(std::move(decoder)) {
  assert(decoder_ != nullptr);
}

Result<std::size_t> DecodingBody::read(std::span<char> buf) {
  if (failed_) return *failed_;
  if (closed_) return Error(ErrorKind::io, "read on a closed response body");
  if (at_end_ || buf.empty()) return std::size_t{0};
  for (;;) {
    // Decode first, even without new input: the decoder may hold output.
    Result<DecodeStep> step = decoder_->decode(
        std::span<const char>(raw_chunk_).subspan(chunk_begin_, chunk_end_ - chunk_begin_), buf);
    if (!step) return fail(std::move(step).error());
    chunk_begin_ += step->consumed;
    if (step->produced > 0) return step->produced;
    // The decoder used all the input without output: it needs more.
    assert(chunk_begin_ == chunk_end_);
    chunk_begin_ = chunk_end_ = 0;
    Result<std::size_t> n = raw_.read(std::span<char>(raw_chunk_));
    if (!n) return fail(std::move(n).error());
    if (*n == 0) {
      if (decoder_->is_complete() || !read_any_raw_) {
        at_end_ = true;
        return std::size_t{0};
      }
      return fail(Error(ErrorKind::body, "truncated " + std::string(decoder_->coding()) + " stream"));
    }
    read_any_raw_ = true;
    chunk_end_ = *n;
  }
}

void DecodingBody::close() noexcept {
  closed_ = true;
  raw_.close();
}

Error DecodingBody::fail(Error error) {
  failed_ = error;
  // The raw rest is of no use: let the pool drain a little of it or close.
  raw_.close();
  return error;
}

}  // namespace nethttp::client
