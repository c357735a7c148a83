// A persistent connection and the buffers it uses while carrying a request.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "codec/response_parser.h"
#include "net/stream.h"
#include "pool/intrusive_list.h"

namespace nethttp::pool {

using Clock = std::chrono::steady_clock;

/// Bytes read from a connection and not yet consumed: one contiguous
/// region, so a response head can be parsed in place (zero copy). Grows when
/// a head does not fit (the parser's header limit bounds it).
class ReadBuffer {
 public:
  explicit ReadBuffer(std::size_t capacity);

  /// The unconsumed bytes.
  [[nodiscard]] std::span<char> data() noexcept { return {buf_.get() + begin_, end_ - begin_}; }
  [[nodiscard]] bool empty() const noexcept { return begin_ == end_; }
  void consume(std::size_t n) noexcept;
  /// Free space after the unconsumed bytes, made by moving them to the
  /// front or, when the buffer is full of them, by doubling it. Invalidates
  /// views into data().
  [[nodiscard]] std::span<char> space();
  /// `n` bytes were written into space().
  void commit(std::size_t n) noexcept { end_ += n; }
  /// Drops everything and gives back growth beyond the initial capacity.
  void reset();

 private:
  std::unique_ptr<char[]> buf_;
  std::size_t initial_capacity_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

/// What a connection needs only while it carries a request; pooled by the
/// transport, so an idle connection holds no buffers.
struct ExchangeBuffers {
  ExchangeBuffers(std::size_t read_size, std::size_t write_size, const codec::ParserLimits& limits);
  ReadBuffer read;
  std::string write;
  codec::ResponseParser parser;
};

struct HostEntry;

/// One connection to one origin. Owned by the pool while idle (linked into
/// its lists) and by one request (a ConnLease, then its body) while in use.
struct PersistConn {
  std::uint64_t id = 0;
  net::Stream stream;         ///< the socket, with TLS over it for https
  HostEntry* host = nullptr;  ///< the pool's entry for its key; guarded by the pool's lock
  Clock::time_point created;
  Clock::time_point idle_since;  ///< while idle
  /// How long the server keeps it idle (its Keep-Alive: timeout= hint, minus a margin).
  std::optional<Clock::duration> server_idle_timeout;
  std::uint64_t requests = 0;                ///< exchanges started on it
  std::unique_ptr<ExchangeBuffers> buffers;  ///< while in use
  ListLink host_link;                        ///< in host->idle while idle
  ListLink lru_link;                         ///< in the pool's LRU list while idle
};

}  // namespace nethttp::pool
