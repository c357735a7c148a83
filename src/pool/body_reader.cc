#include "pool/body_reader.h"

#include <algorithm>
#include <cstring>

#include "net/socket_io.h"

namespace nethttp::pool {
namespace {

/// Reads at least this large bypass the connection's read buffer.
constexpr std::size_t kDirectReadBytes = std::size_t{8} << 10;

}  // namespace

BodyReader::BodyReader(ConnLease lease, std::shared_ptr<const Request> request, ExchangeFacts facts,
                       std::unique_ptr<net::IoWatch> watch)
    : lease_(std::move(lease)), request_(std::move(request)), facts_(facts), watch_(std::move(watch)) {
  // A response without a body (HEAD, 204, 304, ...) ends with its head.
  if (lease_.conn().buffers->parser.is_done()) finish();
}

BodyReader::~BodyReader() {
  close();
}

Error BodyReader::failure(Error error) const {
  const std::string where = "reading response body from " + lease_.conn().host->origin.peer;
  if (watch_ && watch_->fired() == net::IoWatch::Fired::deadline) {
    return Error(ErrorKind::timeout, where + ": request deadline exceeded");
  }
  if (watch_ && watch_->fired() == net::IoWatch::Fired::canceled) {
    return Error(ErrorKind::canceled, where + ": request canceled");
  }
  return std::move(error).with_context(where);
}

Result<bool> BodyReader::advance(bool may_block) {
  ExchangeBuffers& b = *lease_.conn().buffers;
  for (;;) {
    Result<codec::ParseStep> step = b.parser.parse(b.read.data());
    if (!step) return failure(std::move(step).error());
    switch (step->event) {
      case codec::ParseEvent::body:
        // The bytes stay in the buffer until handed out: nothing reads into
        // it while pending_ is not empty.
        pending_ = step->body;
        b.read.consume(step->consumed);
        return true;
      case codec::ParseEvent::done:
        b.read.consume(step->consumed);
        finish();
        return true;
      case codec::ParseEvent::need_more: {
        b.read.consume(step->consumed);
        if (!may_block) return false;
        Result<std::size_t> n = lease_.conn().stream.recv_some(b.read.space());
        if (!n) return failure(std::move(n).error());
        if (*n == 0) {
          Result<codec::ParseStep> end = b.parser.finish();
          if (!end) return failure(std::move(end).error());
          finish();
          return true;
        }
        b.read.commit(*n);
        continue;
      }
      case codec::ParseEvent::interim:
      case codec::ParseEvent::head: break;  // not after the head
    }
    return failure(Error(ErrorKind::protocol, "unexpected response head inside a body"));
  }
}

Result<std::size_t> BodyReader::read(std::span<char> buf) {
  if (failed_) return *failed_;
  if (closed_) return Error(ErrorKind::io, "read on a closed response body");
  read_any_ = true;
  if (Result<std::optional<std::size_t>> direct = read_direct(buf); !direct || *direct) {
    if (!direct) {
      failed_ = direct.error();
      abandon(CloseReason::error);
      return std::move(direct).error();
    }
    return **direct;
  }
  while (!at_end_ && pending_.empty()) {
    if (Result<bool> ok = advance(/*may_block=*/true); !ok) {
      failed_ = ok.error();
      abandon(CloseReason::error);
      return std::move(ok).error();
    }
  }
  const std::size_t n = std::min(buf.size(), pending_.size());
  if (n > 0) std::memcpy(buf.data(), pending_.data(), n);
  pending_.remove_prefix(n);
  // Reaching the end returns the connection at once, even if the caller
  // never reads the final 0 (Go's bodyEOFSignal): try without blocking.
  if (pending_.empty() && !at_end_ && lease_.conn().buffers->parser.is_done()) {
    if (Result<bool> ok = advance(/*may_block=*/false); !ok) {
      failed_ = std::move(ok).error();
      abandon(CloseReason::error);
    }
  }
  return n;
}

Result<std::optional<std::size_t>> BodyReader::read_direct(std::span<char> buf) {
  if (at_end_ || !pending_.empty() || buf.size() < kDirectReadBytes) return std::optional<std::size_t>();
  ExchangeBuffers& b = *lease_.conn().buffers;
  if (!b.read.empty()) return std::optional<std::size_t>();
  const std::optional<std::uint64_t> remaining = b.parser.raw_body_remaining();
  if (!remaining || *remaining == 0) return std::optional<std::size_t>();
  // A large read of raw body bytes goes from the socket straight into the
  // caller's buffer: no copy, and one recv() per buffer, not per 4 KiB.
  const std::span<char> into =
      buf.first(static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), *remaining)));
  Result<std::size_t> n = lease_.conn().stream.recv_some(into);
  if (!n) return failure(std::move(n).error());
  if (*n == 0) {
    Result<codec::ParseStep> end = b.parser.finish();
    if (!end) return failure(std::move(end).error());
    finish();
    return std::optional<std::size_t>(0);
  }
  // The parser accounts for the bytes where they are: all of them are body.
  Result<codec::ParseStep> step = b.parser.parse(into.first(*n));
  if (!step) return failure(std::move(step).error());
  if (b.parser.is_done()) {
    if (Result<bool> ok = advance(/*may_block=*/false); !ok) return std::move(ok).error();
  }
  return std::optional<std::size_t>(*n);
}

void BodyReader::finish() {
  at_end_ = true;
  ExchangeBuffers& b = *lease_.conn().buffers;
  for (const codec::FieldView& f : b.parser.trailers()) trailers_.add(f.name, f.value);
  facts_.body_complete = true;
  facts_.bytes_after_response = !b.read.empty();
  // The watch is disarmed first: no deadline may interrupt a pooled socket,
  // and one that fired before that is seen.
  if (watch_) watch_->disarm();
  facts_.interrupted = watch_ && watch_->fired() != net::IoWatch::Fired::none;
  watch_.reset();
  lease_.release(why_not_reusable(facts_));
}

void BodyReader::abandon(CloseReason why) noexcept {
  watch_.reset();
  lease_.release(why);
}

bool BodyReader::drain() noexcept {
  const TransportOptions& options = lease_.pool().options();
  if (options.drain_max_bytes == 0) return false;
  const codec::Framing& framing = lease_.conn().buffers->parser.head().framing;
  if (framing.kind == codec::BodyFraming::until_close || framing.kind == codec::BodyFraming::tunnel)
    return false;
  if (framing.kind == codec::BodyFraming::content_length &&
      framing.content_length - lease_.conn().buffers->parser.body_bytes() + pending_.size() >
          options.drain_max_bytes) {
    return false;
  }
  const auto deadline = net::Clock::now() + options.drain_timeout;
  std::size_t budget = options.drain_max_bytes;
  while (!at_end_) {
    if (pending_.size() > budget) return false;
    budget -= pending_.size();
    pending_ = {};
    Result<bool> progressed = advance(/*may_block=*/false);
    if (!progressed) return false;
    if (*progressed) continue;
    net::Stream& stream = lease_.conn().stream;
    Result<net::Readiness> ready = stream.wait_ready(/*want_write=*/false, deadline);
    if (!ready || !ready->readable) return false;
    // Never waits: what made the socket readable may be part of a TLS record.
    ExchangeBuffers& b = *lease_.conn().buffers;
    Result<std::optional<std::size_t>> n = stream.try_recv(b.read.space());
    if (!n || *n == 0) return false;
    if (*n) b.read.commit(**n);
  }
  return true;
}

void BodyReader::close() noexcept {
  if (closed_) return;
  closed_ = true;
  if (at_end_ || failed_) return;
  if (!read_any_) {
    const TransportOptions& options = lease_.pool().options();
    if (options.on_unread_body) options.on_unread_body(request_->url.redacted());
  }
  // Go closes the connection here; a small rest is cheaper to read than a
  // new connection is to open.
  if (!drain() && !at_end_) abandon(CloseReason::body_not_drained);
}

}  // namespace nethttp::pool
