#include "pool/persist_conn.h"

#include <cassert>
#include <cstring>

namespace nethttp::pool {

ReadBuffer::ReadBuffer(std::size_t capacity)
    : buf_(new char[capacity]), initial_capacity_(capacity), capacity_(capacity) {}

void ReadBuffer::consume(std::size_t n) noexcept {
  assert(n <= end_ - begin_);
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

std::span<char> ReadBuffer::space() {
  if (end_ == capacity_) {
    if (begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    } else {
      std::unique_ptr<char[]> bigger(new char[capacity_ * 2]);
      std::memcpy(bigger.get(), buf_.get(), end_);
      buf_ = std::move(bigger);
      capacity_ *= 2;
    }
  }
  return {buf_.get() + end_, capacity_ - end_};
}

void ReadBuffer::reset() {
  begin_ = end_ = 0;
  if (capacity_ != initial_capacity_) {
    buf_.reset(new char[initial_capacity_]);
    capacity_ = initial_capacity_;
  }
}

ExchangeBuffers::ExchangeBuffers(std::size_t read_size, std::size_t write_size,
                                 const codec::ParserLimits& limits)
    : read(read_size), parser(limits) {
  write.reserve(write_size);
}

}  // namespace nethttp::pool
