#include "pool/exchange.h"

#include <cerrno>
#include <optional>
#include <string>
#include <utility>

#include "base/ascii.h"
#include "codec/field_list.h"
#include "codec/framing.h"
#include "codec/request_writer.h"
#include "net/io_watch.h"
#include "net/socket_io.h"
#include "pool/body_reader.h"
#include "pool/proxy_hop.h"

namespace nethttp::pool {
namespace {

/// Bodies up to this size held in memory go out in the same send() as the head.
constexpr std::size_t kInlineBodyBytes = std::size_t{64} << 10;

/// The server's Keep-Alive: timeout=N hint (RFC 2068 §19.7.1.1, still sent
/// by nginx and Apache), if any.
std::optional<std::chrono::seconds> keep_alive_timeout(const Header& header) {
  std::optional<std::chrono::seconds> timeout;
  for (const std::string_view value : header.values("keep-alive")) {
    codec::for_each_list_member(value, [&](std::string_view member) {
      constexpr std::string_view kKey = "timeout=";
      if (member.size() <= kKey.size() || !ascii::iequals(member.substr(0, kKey.size()), kKey)) return;
      std::int64_t seconds = 0;
      for (const char c : member.substr(kKey.size())) {
        if (!ascii::is_digit(c) || seconds > 1'000'000) return;
        seconds = seconds * 10 + (c - '0');
      }
      timeout = std::chrono::seconds(seconds);
    });
  }
  return timeout;
}

/// The server closes an idle connection when its timeout ends; a request
/// sent at that moment fails. Stop reusing it a margin before: a second, or
/// half the timeout when it is short.
Clock::duration before_server_timeout(std::chrono::seconds timeout) {
  const Clock::duration margin =
      std::min<Clock::duration>(std::chrono::seconds(1), Clock::duration(timeout) / 2);
  return timeout - margin;
}

/// The Content-Length a HEAD response announces, or -1 when it has none
/// (or an invalid one).
std::int64_t head_content_length(const codec::ResponseHead& head) {
  std::vector<std::string_view> values;
  for (const codec::FieldView& f : head.fields) {
    if (ascii::iequals(f.name, "content-length")) values.push_back(f.value);
  }
  if (values.empty()) return -1;
  const Result<std::uint64_t> length = codec::parse_content_length(values);
  return length ? static_cast<std::int64_t>(*length) : -1;
}

/// How a send ended: everything went out, or the server answered first.
enum class Sent : std::uint8_t { all, early_response };

/// One request and response head on one connection (see exchange()).
class Exchange {
 public:
  Exchange(ConnLease lease, const std::shared_ptr<const Request>& request, std::string_view head,
           AttemptFacts& attempt)
      : lease_(std::move(lease)),
        request_(request),
        req_(*request),
        head_(head),
        conn_(lease_.conn()),
        buffers_(*conn_.buffers),
        options_(lease_.pool().options()),
        attempt_(attempt) {}

  Result<Response> run();

 private:
  /// Where reading the response stands.
  enum class Progress : std::uint8_t {
    need_more,     ///< no final head yet
    continue_100,  ///< a 100 Continue arrived (when asked to stop at one)
    final_head,    ///< the final head is parsed (head_bytes_ long)
  };

  [[nodiscard]] Result<Sent> send_all(std::string_view data);
  [[nodiscard]] Result<Sent> send_body();
  /// Parses what is buffered, skipping interim responses.
  [[nodiscard]] Result<Progress> parse_buffered(bool stop_at_continue);
  /// What one read into the read buffer got.
  enum class Got : std::uint8_t { bytes, eof, nothing_yet };
  /// One read into the read buffer; waits for bytes unless `wait` is false
  /// (then nothing_yet when none are there, e.g. half a TLS record).
  [[nodiscard]] Result<Got> receive(bool wait);
  /// Reads until a 100 (when asked) or the final head.
  [[nodiscard]] Result<Progress> read_head(bool stop_at_continue);
  /// While sending: whether what arrived is a final answer (stop sending)
  /// rather than interim responses (keep sending).
  [[nodiscard]] Result<bool> answered_early();
  /// After a failed write, the server's answer if it sent one before
  /// resetting (a 413 for an upload it refused), else the write error.
  [[nodiscard]] Result<Response> after_write_error(Error error, std::string_view step);
  [[nodiscard]] Result<Response> respond();
  [[nodiscard]] bool expects_continue() const;
  [[nodiscard]] Error fail(Error error, std::string_view step);
  [[nodiscard]] Response make_response();

  ConnLease lease_;
  const std::shared_ptr<const Request>& request_;
  const Request& req_;
  std::string_view head_;  ///< the request head, written (and checked) before the connection was taken
  PersistConn& conn_;
  ExchangeBuffers& buffers_;
  const TransportOptions& options_;
  AttemptFacts& attempt_;
  std::unique_ptr<net::IoWatch> watch_;     ///< the request's deadline and cancellation
  std::optional<net::IoWatch> head_watch_;  ///< the response header timeout
  bool request_written_ = false;
  bool final_head_seen_ = false;
  bool eof_ = false;            ///< the peer closed its side
  std::size_t head_bytes_ = 0;  ///< the final head's size in the read buffer
  ExchangeFacts facts_;         ///< what the reuse decision will need
};

Result<Sent> Exchange::send_all(std::string_view data) {
  net::Stream& stream = conn_.stream;
  while (!data.empty()) {
    Result<std::size_t> n = stream.send_now(data);
    if (!n) return std::move(n).error();
    data.remove_prefix(*n);
    if (*n > 0) continue;
    // The socket's buffer is full: wait until it drains, watching for an
    // answer, since a server may reply (413, 401...) before reading it all.
    Result<net::Readiness> ready = stream.wait_ready(/*want_write=*/true, std::nullopt);
    if (!ready) return std::move(ready).error();
    // Our own shutdown (deadline, cancel) also wakes it: fail() names it.
    if (watch_ && watch_->fired() != net::IoWatch::Fired::none) return Error(ErrorKind::io, "interrupted");
    if (ready->readable) {
      Result<bool> answered = answered_early();
      if (!answered) return std::move(answered).error();
      if (*answered) return Sent::early_response;
    }
  }
  return Sent::all;
}

Result<bool> Exchange::answered_early() {
  Result<Got> got = receive(/*wait=*/false);
  if (!got) return std::move(got).error();
  if (*got == Got::nothing_yet) return false;
  if (*got == Got::eof) return true;  // nothing more will be read of the request
  Result<Progress> progress = parse_buffered(/*stop_at_continue=*/false);
  if (!progress) return std::move(progress).error();
  return *progress == Progress::final_head;
}

bool Exchange::expects_continue() const {
  if (req_.body.is_none() || req_.body.length() == 0) return false;
  for (const std::string_view value : req_.header.values("expect")) {
    if (codec::list_has_token(value, "100-continue")) return true;
  }
  return false;
}

Error Exchange::fail(Error error, std::string_view step) {
  const std::string where = std::string(step) + " " + conn_.host->origin.peer;
  if (head_watch_ && head_watch_->fired() == net::IoWatch::Fired::deadline) {
    return Error(ErrorKind::timeout, where + ": no response head within the response header timeout (" +
                                         std::to_string(options_.response_header_timeout.count()) + " ms)");
  }
  if (watch_ && watch_->fired() == net::IoWatch::Fired::deadline) {
    return Error(ErrorKind::timeout, where + ": request deadline exceeded");
  }
  if (watch_ && watch_->fired() == net::IoWatch::Fired::canceled) {
    return Error(ErrorKind::canceled, where + ": request canceled");
  }
  return std::move(error).with_context(where);
}

Result<Sent> Exchange::send_body() {
  Result<std::unique_ptr<BodySource>> source = req_.body.open();
  if (!source) return std::move(source).error();
  const bool chunked = req_.body.length() < 0;
  std::string& out = buffers_.write;
  const std::size_t block = std::max<std::size_t>(options_.write_buffer_size, 512);
  std::uint64_t sent = 0;
  for (;;) {
    // Room for a chunk header in front of the data.
    constexpr std::size_t kChunkHeaderRoom = 18;
    out.resize(kChunkHeaderRoom + block);
    Result<std::size_t> n = (*source)->read(std::span<char>(out.data() + kChunkHeaderRoom, block));
    if (!n) return std::move(n).error().with_context("reading the request body");
    sent += *n;
    std::string_view data(out.data() + kChunkHeaderRoom, *n);
    if (*n == 0) {
      if (!chunked) {
        if (sent != static_cast<std::uint64_t>(req_.body.length())) {
          return Error(ErrorKind::invalid_request, "request body ended after " + std::to_string(sent) +
                                                       " of " + std::to_string(req_.body.length()) +
                                                       " bytes");
        }
        return Sent::all;
      }
      out.clear();
      if (Result<void> ok = codec::write_last_chunk(nullptr, out); !ok) return std::move(ok).error();
      return send_all(out);
    }
    if (!chunked && sent > static_cast<std::uint64_t>(req_.body.length())) {
      return Error(ErrorKind::invalid_request,
                   "request body longer than its length " + std::to_string(req_.body.length()));
    }
    if (chunked) {
      // Frame in place: the header goes right before the data, CRLF after it.
      std::string header;
      codec::write_chunk_header(*n, header);
      const std::size_t start = kChunkHeaderRoom - header.size();
      out.replace(start, header.size(), header);
      out.resize(kChunkHeaderRoom + *n);
      out += codec::kChunkEnd;
      data = std::string_view(out).substr(start);
    }
    Result<Sent> result = send_all(data);
    if (!result || *result == Sent::early_response) return result;
  }
}

Result<Exchange::Got> Exchange::receive(bool wait) {
  if (eof_) return Got::eof;
  std::size_t n = 0;
  if (wait) {
    Result<std::size_t> got = conn_.stream.recv_some(buffers_.read.space());
    if (!got) return std::move(got).error();
    n = *got;
  } else {
    Result<std::optional<std::size_t>> got = conn_.stream.try_recv(buffers_.read.space());
    if (!got) return std::move(got).error();
    if (!*got) return Got::nothing_yet;
    n = **got;
  }
  if (n == 0) {
    eof_ = true;
    return Got::eof;
  }
  if (!attempt_.got_response_bytes) {
    attempt_.got_response_bytes = true;
    if (options_.trace.got_first_response_byte) options_.trace.got_first_response_byte(conn_.id);
  }
  buffers_.read.commit(n);
  return Got::bytes;
}

Result<Exchange::Progress> Exchange::parse_buffered(bool stop_at_continue) {
  if (final_head_seen_) return Progress::final_head;
  codec::ResponseParser& parser = buffers_.parser;
  for (;;) {
    Result<codec::ParseStep> step = parser.parse(buffers_.read.data());
    if (!step) return std::move(step).error();
    switch (step->event) {
      case codec::ParseEvent::need_more: return Progress::need_more;
      case codec::ParseEvent::interim: {
        const int status = parser.head().status;
        buffers_.read.consume(step->consumed);
        if (options_.trace.got_interim_response) options_.trace.got_interim_response(conn_.id, status);
        if (stop_at_continue && status == 100) return Progress::continue_100;
        continue;
      }
      case codec::ParseEvent::head:
        final_head_seen_ = true;
        head_bytes_ = step->consumed;
        return Progress::final_head;
      case codec::ParseEvent::body:
      case codec::ParseEvent::done: break;
    }
    return Error(ErrorKind::protocol, "response parser skipped the head");
  }
}

Result<Exchange::Progress> Exchange::read_head(bool stop_at_continue) {
  for (;;) {
    Result<Progress> progress = parse_buffered(stop_at_continue);
    if (!progress || *progress != Progress::need_more) return progress;
    if (eof_) {
      // The stream ended inside (or before) a head: the parser says how.
      Result<codec::ParseStep> end = buffers_.parser.finish();
      if (!end) return std::move(end).error();
      return Error(ErrorKind::io, "connection closed by peer before the response head");
    }
    if (Result<Got> got = receive(/*wait=*/true); !got) return std::move(got).error();
  }
}

Response Exchange::make_response() {
  const codec::ResponseHead& head = buffers_.parser.head();
  Response response;
  response.status = head.status;
  response.reason = std::string(head.reason);
  response.proto = head.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  response.header = head.to_header();
  switch (head.framing.kind) {
    case codec::BodyFraming::content_length:
      response.content_length = static_cast<std::int64_t>(head.framing.content_length);
      break;
    case codec::BodyFraming::none:
      // As Go: a HEAD response reports the length a GET would have had.
      response.content_length = req_.method == "HEAD" ? head_content_length(head) : 0;
      break;
    case codec::BodyFraming::tunnel: response.content_length = 0; break;
    case codec::BodyFraming::chunked:
    case codec::BodyFraming::until_close: response.content_length = -1; break;
  }
  const std::optional<std::chrono::seconds> timeout = keep_alive_timeout(response.header);
  conn_.server_idle_timeout = timeout ? std::optional(before_server_timeout(*timeout)) : std::nullopt;
  response.request = request_;
  response.conn = lease_.info();

  facts_.request_written = request_written_;
  facts_.response_persistent = head.persistent();
  facts_.client_asked_close = req_.close || options_.disable_keep_alives;
  facts_.framing_clean = !head.framing.ambiguous && head.framing.kind != codec::BodyFraming::until_close;
  facts_.switched_protocols = head.status == 101 || head.framing.kind == codec::BodyFraming::tunnel;
  return response;
}

Result<Response> Exchange::after_write_error(Error error, std::string_view step) {
  request_written_ = false;
  if (options_.trace.wrote_request) options_.trace.wrote_request(conn_.id, &error);
  const int err = error.sys_errno();
  if (err == EPIPE || err == ECONNRESET) {
    // The peer may have answered and then reset the connection while we were
    // still sending: its answer, if complete, is already in the socket.
    if (Result<Progress> progress = read_head(/*stop_at_continue=*/false);
        progress && *progress == Progress::final_head) {
      return respond();
    }
  }
  return fail(std::move(error), step);
}

Result<Response> Exchange::run() {
  const int fd = conn_.stream.fd();
  ++conn_.requests;
  buffers_.parser.begin(req_.method);
  if (req_.deadline || req_.cancel.stop_possible()) {
    watch_ = std::make_unique<net::IoWatch>(fd, req_.deadline, req_.cancel);
  }

  // A reused connection was probed when it left the pool; a fresh one is
  // probed here, so a banner or a stray response is never taken for the
  // answer to a request it preceded (Go: "unsolicited response").
  if (!attempt_.conn_was_reused && conn_.stream.probe_idle() == net::IdleProbe::unsolicited) {
    return fail(Error(ErrorKind::protocol, "the server sent data before any request was written"),
                "before writing request to");
  }

  const bool wait_for_continue = expects_continue();
  const bool inline_body =
      !wait_for_continue && req_.body.bytes() != nullptr && req_.body.bytes()->size() <= kInlineBodyBytes;
  buffers_.write.assign(head_);
  if (inline_body) buffers_.write += *req_.body.bytes();
  Result<Sent> sent = send_all(buffers_.write);
  if (!sent) return after_write_error(std::move(sent).error(), "writing request to");
  if (options_.trace.wrote_headers) options_.trace.wrote_headers(conn_.id);

  if (*sent == Sent::all && !req_.body.is_none() && !inline_body) {
    bool send_it = true;
    if (wait_for_continue) {
      // RFC 9110 §10.1.1: wait for 100 (or a final status) before the body,
      // but not forever: servers that ignore Expect never send 100.
      const auto until = Clock::now() + options_.expect_continue_timeout;
      Result<net::Readiness> ready = conn_.stream.wait_ready(/*want_write=*/false, until);
      if (!ready) return fail(std::move(ready).error(), "waiting for 100 Continue from");
      if (ready->readable) {
        Result<Progress> progress = read_head(/*stop_at_continue=*/true);
        if (!progress) return fail(std::move(progress).error(), "reading response headers from");
        // A final status instead of 100: the body is not sent at all.
        send_it = *progress == Progress::continue_100;
      }
    }
    if (send_it) {
      sent = send_body();
      if (!sent) return after_write_error(std::move(sent).error(), "writing request body to");
    } else {
      sent = Sent::early_response;
    }
  }
  request_written_ = *sent == Sent::all;
  if (request_written_ && options_.trace.wrote_request) options_.trace.wrote_request(conn_.id, nullptr);

  if (options_.response_header_timeout > std::chrono::milliseconds::zero()) {
    head_watch_.emplace(fd, Clock::now() + options_.response_header_timeout, std::stop_token());
  }
  Result<Progress> progress = read_head(/*stop_at_continue=*/false);
  if (!progress) return fail(std::move(progress).error(), "reading response headers from");
  // Disarmed before asking: a timeout that fires after the question would
  // shut the socket under a response taken for a success.
  if (head_watch_) head_watch_->disarm();
  if (head_watch_ && head_watch_->fired() != net::IoWatch::Fired::none) {
    return fail(Error(ErrorKind::timeout, "timeout"), "reading response headers from");
  }
  head_watch_.reset();
  return respond();
}

Result<Response> Exchange::respond() {
  head_watch_.reset();
  Response response = make_response();
  // The head's views were copied: its bytes can go.
  buffers_.read.consume(head_bytes_);
  response.body = Body(std::make_unique<BodyReader>(std::move(lease_), request_, facts_, std::move(watch_)));
  return response;
}

}  // namespace

Result<void> write_head(const Request& request, const TransportOptions& options,
                        const std::optional<Url>& proxy, std::string& out) {
  codec::RequestHead head;
  head.method = request.method;
  head.url = &request.url;
  head.header = &request.header;
  head.host = request.host;
  head.close = request.close || options.disable_keep_alives;
  if (!request.header.has("user-agent")) head.user_agent = options.user_agent;
  // An HTTP proxy forwarding an http request gets it in absolute-form,
  // with the proxy's own credentials.
  std::string proxy_authorization;
  if (proxy && forwards(*proxy, request.url.scheme())) {
    head.form = codec::TargetForm::absolute;
    proxy_authorization = pool::proxy_authorization(*proxy);
    head.proxy_authorization = proxy_authorization;
  }
  if (request.body.is_none()) {
    // Go sends "Content-Length: 0" for methods that normally carry a body.
    if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
      head.body = codec::RequestBodyFraming::content_length;
    }
  } else if (request.body.length() >= 0) {
    head.body = codec::RequestBodyFraming::content_length;
    head.content_length = static_cast<std::uint64_t>(request.body.length());
  } else {
    head.body = codec::RequestBodyFraming::chunked;
  }
  return codec::write_request_head(head, out);
}

Result<Response> exchange(ConnLease lease, const std::shared_ptr<const Request>& request,
                          std::string_view head, AttemptFacts& attempt) {
  return Exchange(std::move(lease), request, head, attempt).run();
}

}  // namespace nethttp::pool
