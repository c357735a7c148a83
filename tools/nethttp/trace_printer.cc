#include "trace_printer.h"

#include <chrono>
#include <string>
#include <string_view>

namespace nethttp::cli {

struct TracePrinter::State {
  std::FILE* out;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  /// Writes `line` and a newline in one call (stdio locks the stream per call).
  void write(std::string line) const {
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out);
  }

  /// "* 12.345ms " then `conn_id` as "#N " when there is one, then `text`.
  void event(std::uint64_t conn_id, std::string_view text) const {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "* %.3fms ", ms);
    std::string line = stamp;
    if (conn_id != 0) line += "#" + std::to_string(conn_id) + " ";
    line += text;
    write(std::move(line));
  }
};

namespace {

/// `s` with bytes that could drive a terminal shown as \xNN.
std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string outcome(const Error* error) {
  return error == nullptr ? std::string("ok") : "failed: " + printable(error->message());
}

std::string millis(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fms", std::chrono::duration<double, std::milli>(d).count());
  return buf;
}

}  // namespace

TracePrinter::TracePrinter(std::FILE* out) : state_(std::make_shared<State>(State{out})) {}

Trace TracePrinter::hooks() const {
  // Each hook holds the state, not the printer: see the class comment.
  std::shared_ptr<const State> s = state_;
  Trace t;
  t.get_conn = [s](std::string_view key) { s->event(0, "get-conn " + printable(key)); };
  t.dns_start = [s](std::string_view host) { s->event(0, "dns " + printable(host)); };
  t.dns_done = [s](std::string_view host, const Error* error) {
    s->event(0, "dns " + printable(host) + " " + outcome(error));
  };
  t.connect_start = [s](std::string_view address) { s->event(0, "connect " + printable(address)); };
  t.connect_done = [s](std::string_view address, const Error* error) {
    s->event(0, "connect " + printable(address) + " " + outcome(error));
  };
  t.tls_handshake_start = [s](std::string_view name) { s->event(0, "tls " + printable(name)); };
  t.tls_handshake_done = [s](const TlsState* state, const Error* error) {
    if (state == nullptr) {
      s->event(0, "tls " + outcome(error));
      return;
    }
    s->event(0, "tls " + state->version + " " + state->cipher +
                    (state->alpn.empty() ? "" : " alpn " + state->alpn) + (state->resumed ? " resumed" : "") +
                    " " + printable(state->peer_subject));
  };
  t.got_conn = [s](std::uint64_t id, bool reused, bool was_idle, std::chrono::nanoseconds idle_time) {
    std::string text = reused ? "got-conn reused" : "got-conn new";
    if (was_idle) text += " (idle " + millis(idle_time) + ")";
    s->event(id, text);
  };
  t.wrote_request = [s](std::uint64_t id, const Error* error) {
    s->event(id, error == nullptr ? std::string("wrote-request") : "wrote-request " + outcome(error));
  };
  t.got_interim_response = [s](std::uint64_t id, int status) {
    s->event(id, "interim-response " + std::to_string(status));
  };
  t.got_first_response_byte = [s](std::uint64_t id) { s->event(id, "first-byte"); };
  t.put_idle = [s](std::uint64_t id) { s->event(id, "put-idle"); };
  t.conn_closed = [s](std::uint64_t id, CloseReason reason) {
    s->event(id, "closed " + std::string(to_string(reason)));
  };
  return t;
}

void TracePrinter::request(const Request& request) const {
  state_->write("> " + printable(request.method) + " " + printable(request.url.redacted()));
  if (!request.host.empty()) state_->write("> host: " + printable(request.host));
  for (const HeaderField& f : request.header)
    state_->write("> " + printable(f.name) + ": " + printable(f.value));
}

void TracePrinter::response(const Response& response) const {
  const std::string prefix = "< #" + std::to_string(response.conn.id) + " ";
  state_->write(prefix + printable(response.proto) + " " + std::to_string(response.status) + " " +
                printable(response.reason));
  for (const HeaderField& f : response.header) {
    state_->write(prefix + printable(f.name) + ": " + printable(f.value));
  }
}

}  // namespace nethttp::cli
