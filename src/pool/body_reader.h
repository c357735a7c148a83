// The body of a response read straight from its pooled connection.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/io_watch.h"
#include "nethttp/request.h"
#include "pool/body_impl.h"
#include "pool/conn_pool.h"
#include "pool/reuse.h"

namespace nethttp::pool {

/// Reads a response body from the connection's buffer and socket through
/// the response parser, and gives the connection back the moment the body
/// ends: to the pool when why_not_reusable() allows, else closed. close()
/// before the end drains a small remainder (drain_max_bytes within
/// drain_timeout) to keep the connection; destruction is close().
class BodyReader final : public detail::BodyImpl {
 public:
  BodyReader(ConnLease lease, std::shared_ptr<const Request> request, ExchangeFacts facts,
             std::unique_ptr<net::IoWatch> watch);
  ~BodyReader() override;
  BodyReader(const BodyReader&) = delete;
  BodyReader& operator=(const BodyReader&) = delete;

  Result<std::size_t> read(std::span<char> buf) override;
  void close() noexcept override;
  [[nodiscard]] bool at_end() const noexcept override { return at_end_; }
  [[nodiscard]] const Header& trailers() const noexcept override { return trailers_; }

 private:
  /// Parses buffered bytes into pending_ or reaches the end; reads more
  /// from the socket (blocking) when `may_block` and nothing is buffered.
  /// Returns false when it needs more bytes and may not block.
  [[nodiscard]] Result<bool> advance(bool may_block);
  /// Receives raw body bytes straight into `buf` when that is possible
  /// (nullopt when it is not: the caller goes through the read buffer).
  [[nodiscard]] Result<std::optional<std::size_t>> read_direct(std::span<char> buf);
  /// The end was reached: keep the trailers, hand the connection back.
  void finish();
  /// Reads and drops the rest within the drain limits; true if it ended.
  bool drain() noexcept;
  /// Closes the connection for `why` (an error, or too much left to drain).
  void abandon(CloseReason why) noexcept;
  [[nodiscard]] Error failure(Error error) const;

  ConnLease lease_;
  std::shared_ptr<const Request> request_;
  ExchangeFacts facts_;
  std::unique_ptr<net::IoWatch> watch_;  ///< the request's deadline and cancellation
  std::string_view pending_;             ///< parsed body bytes not yet handed out (in the read buffer)
  Header trailers_;
  std::optional<Error> failed_;  ///< the error that ended it (given again to later reads)
  bool at_end_ = false;
  bool closed_ = false;
  bool read_any_ = false;
};

}  // namespace nethttp::pool
