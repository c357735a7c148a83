#include "pool/exchange.h"

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
  const Clock::duration margin = std::min<Clock::duration>(std::chrono::seconds(1), timeout / 2);
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

/// Sends `data`, and while the socket's buffer is full watches for a
/// response: a server may answer (413, 401...) before reading the body.
Result<Sent> send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    Result<std::size_t> n = net::send_now(fd, data);
    if (!n) return std::move(n).error();
    data.remove_prefix(*n);
    if (*n == 0) {
      Result<net::Readiness> ready = net::wait_ready(fd, /*want_write=*/true, std::nullopt);
      if (!ready) return std::move(ready).error();
      if (ready->readable) return Sent::early_response;
    }
  }
  return Sent::all;
}

/// One request and response head on one connection (see exchange()).
class Exchange {
 public:
  Exchange(ConnLease lease, const std::shared_ptr<const Request>& request, AttemptFacts& attempt)
      : lease_(std::move(lease)),
        request_(request),
        req_(*request),
        conn_(lease_.conn()),
        buffers_(*conn_.buffers),
        options_(lease_.pool().options()),
        attempt_(attempt) {}

  Result<Response> run();

 private:
  /// The head event ended a read: an interim 100 (when asked to stop at
  /// one) or the final head.
  enum class HeadEvent : std::uint8_t { continue_100, final };

  [[nodiscard]] Result<void> write_head();
  [[nodiscard]] Result<Sent> send_body();
  [[nodiscard]] Result<HeadEvent> read_head(bool stop_at_continue);
  [[nodiscard]] bool expects_continue() const;
  [[nodiscard]] Error fail(Error error, std::string_view step);
  [[nodiscard]] Response make_response();

  ConnLease lease_;
  const std::shared_ptr<const Request>& request_;
  const Request& req_;
  PersistConn& conn_;
  ExchangeBuffers& buffers_;
  const TransportOptions& options_;
  AttemptFacts& attempt_;
  std::unique_ptr<net::IoWatch> watch_;     ///< the request's deadline and cancellation
  std::optional<net::IoWatch> head_watch_;  ///< the response header timeout
  bool request_written_ = false;
  std::size_t head_bytes_ = 0;  ///< the final head's size in the read buffer
  ExchangeFacts facts_;         ///< what the reuse decision will need
};

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

Result<void> Exchange::write_head() {
  codec::RequestHead head;
  head.method = req_.method;
  head.url = &req_.url;
  head.header = &req_.header;
  head.host = req_.host;
  head.close = req_.close || options_.disable_keep_alives;
  if (!req_.header.has("user-agent")) head.user_agent = options_.user_agent;
  if (req_.body.is_none()) {
    // Go sends "Content-Length: 0" for methods that normally carry a body.
    if (req_.method == "POST" || req_.method == "PUT" || req_.method == "PATCH") {
      head.body = codec::RequestBodyFraming::content_length;
    }
  } else if (req_.body.length() >= 0) {
    head.body = codec::RequestBodyFraming::content_length;
    head.content_length = static_cast<std::uint64_t>(req_.body.length());
  } else {
    head.body = codec::RequestBodyFraming::chunked;
  }
  buffers_.write.clear();
  return codec::write_request_head(head, buffers_.write);
}

Result<Sent> Exchange::send_body() {
  const int fd = conn_.fd.get();
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
      return send_all(fd, out);
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
    Result<Sent> result = send_all(fd, data);
    if (!result || *result == Sent::early_response) return result;
  }
}

Result<Exchange::HeadEvent> Exchange::read_head(bool stop_at_continue) {
  codec::ResponseParser& parser = buffers_.parser;
  for (;;) {
    Result<codec::ParseStep> step = parser.parse(buffers_.read.data());
    if (!step) return std::move(step).error();
    switch (step->event) {
      case codec::ParseEvent::need_more: {
        Result<std::size_t> n = net::recv_some(conn_.fd.get(), buffers_.read.space());
        if (!n) return std::move(n).error();
        if (*n == 0) {
          Result<codec::ParseStep> end = parser.finish();
          if (!end) return std::move(end).error();
          continue;
        }
        if (!attempt_.got_response_bytes) {
          attempt_.got_response_bytes = true;
          if (options_.trace.got_first_response_byte) options_.trace.got_first_response_byte(conn_.id);
        }
        buffers_.read.commit(*n);
        continue;
      }
      case codec::ParseEvent::interim: {
        const int status = parser.head().status;
        buffers_.read.consume(step->consumed);
        if (options_.trace.got_interim_response) options_.trace.got_interim_response(conn_.id, status);
        if (stop_at_continue && status == 100) return HeadEvent::continue_100;
        continue;
      }
      case codec::ParseEvent::head: head_bytes_ = step->consumed; return HeadEvent::final;
      case codec::ParseEvent::body:
      case codec::ParseEvent::done: break;
    }
    return Error(ErrorKind::protocol, "response parser skipped the head");
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
  if (const std::optional<std::chrono::seconds> timeout = keep_alive_timeout(response.header)) {
    conn_.server_idle_timeout = before_server_timeout(*timeout);
  }
  response.request = request_;
  response.conn = lease_.info();

  facts_.request_written = request_written_;
  facts_.response_persistent = head.persistent();
  facts_.client_asked_close = req_.close || options_.disable_keep_alives;
  facts_.framing_clean = !head.framing.ambiguous && head.framing.kind != codec::BodyFraming::until_close;
  facts_.switched_protocols = head.status == 101 || head.framing.kind == codec::BodyFraming::tunnel;
  return response;
}

Result<Response> Exchange::run() {
  const int fd = conn_.fd.get();
  if (Result<void> ok = write_head(); !ok) {
    // Nothing was sent: the connection is as good as it was.
    lease_.release(std::nullopt);
    return std::move(ok).error();
  }
  ++conn_.requests;
  buffers_.parser.begin(req_.method);
  if (req_.deadline || req_.cancel.stop_possible()) {
    watch_ = std::make_unique<net::IoWatch>(fd, req_.deadline, req_.cancel);
  }

  const bool wait_for_continue = expects_continue();
  const bool inline_body =
      !wait_for_continue && req_.body.bytes() != nullptr && req_.body.bytes()->size() <= kInlineBodyBytes;
  if (inline_body) buffers_.write += *req_.body.bytes();
  Result<Sent> sent = send_all(fd, buffers_.write);
  if (!sent) return fail(std::move(sent).error(), "writing request to");
  if (options_.trace.wrote_headers) options_.trace.wrote_headers(conn_.id);

  bool final_head_read = false;
  if (*sent == Sent::all && !req_.body.is_none() && !inline_body) {
    bool send_it = true;
    if (wait_for_continue) {
      // RFC 9110 §10.1.1: wait for 100 (or a final status) before the body,
      // but not forever: servers that ignore Expect never send 100.
      const auto until = Clock::now() + options_.expect_continue_timeout;
      Result<net::Readiness> ready = net::wait_ready(fd, /*want_write=*/false, until);
      if (!ready) return fail(std::move(ready).error(), "waiting for 100 Continue from");
      if (ready->readable) {
        Result<HeadEvent> event = read_head(/*stop_at_continue=*/true);
        if (!event) return fail(std::move(event).error(), "reading response headers from");
        // A final status instead of 100: the body is not sent at all.
        send_it = *event == HeadEvent::continue_100;
        final_head_read = !send_it;
      }
    }
    if (send_it) {
      sent = send_body();
      if (!sent) {
        if (options_.trace.wrote_request) options_.trace.wrote_request(conn_.id, &sent.error());
        return fail(std::move(sent).error(), "writing request body to");
      }
    }
  }
  request_written_ = *sent == Sent::all && (req_.body.is_none() || inline_body || !final_head_read);
  if (request_written_ && options_.trace.wrote_request) options_.trace.wrote_request(conn_.id, nullptr);

  if (!final_head_read) {
    if (options_.response_header_timeout > std::chrono::milliseconds::zero()) {
      head_watch_.emplace(fd, Clock::now() + options_.response_header_timeout, std::stop_token());
    }
    Result<HeadEvent> event = read_head(/*stop_at_continue=*/false);
    if (!event) return fail(std::move(event).error(), "reading response headers from");
    if (head_watch_ && head_watch_->fired() != net::IoWatch::Fired::none) {
      return fail(Error(ErrorKind::timeout, "timeout"), "reading response headers from");
    }
    head_watch_.reset();
  }

  Response response = make_response();
  // The head's views were copied: its bytes can go.
  buffers_.read.consume(head_bytes_);
  response.body = Body(std::make_unique<BodyReader>(std::move(lease_), request_, facts_, std::move(watch_)));
  return response;
}

}  // namespace

Result<Response> exchange(ConnLease lease, const std::shared_ptr<const Request>& request,
                          AttemptFacts& attempt) {
  return Exchange(std::move(lease), request, attempt).run();
}

}  // namespace nethttp::pool
