// Fuzzes a real Transport against a server played by the input, end to end:
// dial hook, request writing, response heads, bodies, draining, the pool's
// reuse decision, and closing. Every dial is a socketpair whose other end the
// fuzzer holds.
//
// The input is a byte of transport options, then segments separated by
// kSeparator. Segment k drives request k with its first byte and is, after
// that byte, what the server sends for the k-th request written (a retry
// writes one more, and takes the next segment). The server sends a segment
// only once the request is written (its head, for Expect: 100-continue),
// since bytes waiting on a fresh connection are an error to the transport;
// then it keeps its end open, shuts its writing side, or closes it. The
// server keeps its end open only after a response the reference checker
// below calls clean, so nothing ever waits for bytes that will not come.
//
// Oracles (each breach traps):
// - a connection is reused only when every response sent on it was not
//   unclean by the reference checker: complete, exactly framed, nothing after
//   it, persistent (HTTP/1.1 or keep-alive, no "close", no Keep-Alive
//   timeout=0), and its server end is still open;
// - a response the checker calls clean, sent on a connection left open or
//   shut for writing, arrives with its status and, read to the end, its body;
// - once the responses and the Transport are gone, nothing is in use and
//   the process has the file descriptors it had before the input;
// - and the sanitizers' own (leaks included).
#include "nethttp/transport.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/body_sources.h"
#include "support/fd_count.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr std::string_view kSeparator = "\n---\n";
/// Requests per input, at most.
constexpr std::size_t kMaxRequests = 8;
/// The header limit of the transport option that makes it small.
constexpr std::size_t kSmallHeaderLimit = 256;

// ---------------------------------------------------------------------------
// The reference checker: a small strict parser of one segment, independent
// of the library's (down to its character helpers, so that a bug shared
// with base/ascii.h cannot hide). Syntax outside its strict subset (bare LF, obs-fold,
// chunk extensions, Content-Length lists...) gets no verdict; framing and
// persistence get a definite one.

enum class Verdict : std::uint8_t {
  clean,    ///< one complete persistent response, exactly framed, nothing after it
  unclean,  ///< truncated, followed by more bytes, not persistent, or not length-delimited
  unknown,  ///< syntax the checker does not judge
};

struct Reference {
  Verdict verdict = Verdict::unknown;
  int status = 0;
  std::string body;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_tchar(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// HTAB, SP, visible ASCII and obs-text: what a field value or reason may hold.
bool is_text(std::string_view s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b != '\t' && (b < 0x20 || b == 0x7f)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Non-empty members of a comma-separated list, trimmed.
std::vector<std::string_view> members(std::string_view list) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t comma = list.find(',');
    const std::string_view member = trim(list.substr(0, comma));
    if (!member.empty()) out.push_back(member);
    if (comma == std::string_view::npos) return out;
    list.remove_prefix(comma + 1);
  }
}

/// Reads a segment; the first thing that decides the verdict before the end
/// (a cut, a syntax it does not judge) stops it and is kept.
class Reader {
 public:
  explicit Reader(std::string_view text) : rest_(text) {}

  /// Stops reading with `verdict`; false, for returning at once.
  bool stop(Verdict verdict) {
    if (!stopped_) stopped_ = verdict;
    return false;
  }
  [[nodiscard]] std::optional<Verdict> stopped() const { return stopped_; }

  /// The next line without its CRLF into `out`. No LF left: the message is cut short.
  bool line(std::string_view& out) {
    const std::size_t lf = rest_.find('\n');
    if (lf == std::string_view::npos) return stop(Verdict::unclean);
    if (lf == 0 || rest_[lf - 1] != '\r') return stop(Verdict::unknown);  // bare LF
    out = rest_.substr(0, lf - 1);
    if (out.find('\r') != std::string_view::npos) return stop(Verdict::unknown);
    rest_.remove_prefix(lf + 1);
    consumed_ += lf + 1;
    return true;
  }

  bool take(std::size_t n, std::string_view& out) {
    if (rest_.size() < n) return stop(Verdict::unclean);
    out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    consumed_ += n;
    return true;
  }

  [[nodiscard]] std::size_t consumed() const { return consumed_; }
  [[nodiscard]] bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
  std::size_t consumed_ = 0;
  std::optional<Verdict> stopped_;
};

using Fields = std::vector<std::pair<std::string_view, std::string_view>>;

/// Field lines up to the empty line (RFC 9112 §5), strictly.
bool read_fields(Reader& in, Fields& fields) {
  fields.clear();
  for (;;) {
    std::string_view line;
    if (!in.line(line)) return false;
    if (line.empty()) return true;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return in.stop(Verdict::unknown);
    const std::string_view name = line.substr(0, colon);
    for (const char c : name) {
      if (!is_tchar(c)) return in.stop(Verdict::unknown);
    }
    const std::string_view value = trim(line.substr(colon + 1));
    if (!is_text(value)) return in.stop(Verdict::unknown);
    fields.emplace_back(name, value);
  }
}

std::vector<std::string_view> values(const Fields& fields, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : fields) {
    if (iequals(n, name)) out.push_back(v);
  }
  return out;
}

/// "timeout=0" is the last timeout the Keep-Alive fields give: the server
/// closes the connection as soon as it is idle.
bool keep_alive_timeout_zero(const Fields& fields) {
  std::optional<std::string_view> last;
  for (const std::string_view value : values(fields, "keep-alive")) {
    for (const std::string_view member : members(value)) {
      if (member.size() <= 8 || !iequals(member.substr(0, 8), "timeout=")) continue;
      const std::string_view digits = member.substr(8);
      bool all_digits = true;
      for (const char c : digits) all_digits = all_digits && is_digit(c);
      if (all_digits) last = digits;
    }
  }
  return last && last->find_first_not_of('0') == std::string_view::npos;
}

/// A status line "HTTP/1.x NNN reason": its code and x.
bool read_status_line(Reader& in, int& status, int& minor) {
  std::string_view line;
  if (!in.line(line)) return false;
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || line[9] < '1' || line[9] > '9' || !is_digit(line[10]) || !is_digit(line[11]) ||
      (line.size() > 12 && line[12] != ' ') || !is_text(line.substr(12))) {
    return in.stop(Verdict::unknown);
  }
  minor = line[7] - '0';
  status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  return true;
}

/// A chunk-size line without extensions. No leading zeros and at most 15
/// digits: the line stays in proportion to the data, within every limit of
/// the library.
bool read_chunk_size(Reader& in, std::uint64_t& size) {
  std::string_view digits;
  if (!in.line(digits)) return false;
  if (digits.empty() || digits.size() > 15 || (digits.size() > 1 && digits.front() == '0')) {
    return in.stop(Verdict::unknown);
  }
  size = 0;
  for (const char c : digits) {
    int d = -1;
    if (is_digit(c)) d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) return in.stop(Verdict::unknown);
    size = size * 16 + static_cast<std::uint64_t>(d);
  }
  return true;
}

bool read_chunked(Reader& in, std::string& body) {
  for (;;) {
    std::uint64_t size = 0;
    if (!read_chunk_size(in, size)) return false;
    if (size == 0) break;
    std::string_view data;
    std::string_view crlf;
    if (!in.take(size, data) || !in.take(2, crlf)) return false;
    if (crlf != "\r\n") return in.stop(Verdict::unclean);
    body.append(data);
  }
  Fields trailers;
  return read_fields(in, trailers);
}

/// Reads the body the head announces into `body`.
bool read_body(Reader& in, const Fields& fields, int minor, std::string& body) {
  const std::vector<std::string_view> te = values(fields, "transfer-encoding");
  const std::vector<std::string_view> cl = values(fields, "content-length");
  if (!te.empty()) {
    // With Content-Length (or in HTTP/1.0) it may hide a smuggled response.
    if (!cl.empty() || minor == 0) return in.stop(Verdict::unclean);
    if (te.size() != 1 || !iequals(te.front(), "chunked")) return in.stop(Verdict::unknown);
    return read_chunked(in, body);
  }
  if (cl.empty()) return in.stop(Verdict::unclean);  // until the server closes
  const std::string_view digits = cl.front();
  if (cl.size() != 1 || digits.empty() || digits.size() > 15) return in.stop(Verdict::unknown);
  std::uint64_t length = 0;
  for (const char c : digits) {
    if (!is_digit(c)) return in.stop(Verdict::unknown);
    length = length * 10 + static_cast<std::uint64_t>(c - '0');
  }
  std::string_view data;
  if (!in.take(length, data)) return false;
  body = data;
  return true;
}

/// Whether a response with these fields leaves the connection open.
bool persistent(const Fields& fields, int minor) {
  bool keep_alive = false;
  for (const std::string_view value : values(fields, "connection")) {
    for (const std::string_view member : members(value)) {
      if (iequals(member, "close")) return false;
      if (iequals(member, "keep-alive")) keep_alive = true;
    }
  }
  return (minor == 1 || keep_alive) && !keep_alive_timeout_zero(fields);
}

/// Reads one response to a request (HEAD or not), interim ones first, with
/// the response head limited to `header_limit` bytes.
bool read_response(Reader& in, bool head_request, std::size_t header_limit, Reference& ref) {
  int minor = 1;
  Fields fields;
  do {
    if (!read_status_line(in, ref.status, minor) || !read_fields(in, fields)) return false;
  } while (ref.status < 200 && ref.status != 101);
  if (in.consumed() > header_limit) return in.stop(Verdict::unknown);
  if (ref.status == 101 || !persistent(fields, minor)) return in.stop(Verdict::unclean);
  // RFC 9112 §6.3: these have no body, whatever the fields say.
  if (head_request || ref.status == 204 || ref.status == 304) return true;
  return read_body(in, fields, minor, ref.body);
}

Reference judge(std::string_view segment, bool head_request, std::size_t header_limit) {
  Reference ref;
  Reader in(segment);
  if (read_response(in, head_request, header_limit, ref) && !in.empty()) in.stop(Verdict::unclean);
  ref.verdict = in.stopped().value_or(Verdict::clean);
  if (ref.verdict != Verdict::clean) ref.body.clear();
  return ref;
}

// ---------------------------------------------------------------------------
// The harness: the transport under test and the server ends of its
// connections.

/// What the first byte of a segment asks for.
struct Control {
  explicit Control(std::uint8_t byte) : bits(byte) {}
  std::uint8_t bits;
  /// 0 GET, 1 HEAD, 2 POST with a body in memory, 3 POST streamed (chunked).
  [[nodiscard]] unsigned request() const { return bits & 3u; }
  [[nodiscard]] bool expect_continue() const { return (bits & 4u) != 0 && request() >= 2; }
  /// After sending: 0 keep the end open (if the response is clean), 1 shut
  /// its writing side, 2 close it after reading the request, 3 close it
  /// without (a reset).
  [[nodiscard]] unsigned server_end() const { return (bits >> 3) & 3u; }
  /// 0 read the body whole, 1 read one byte and close it, 2 drop it unread,
  /// 3 read it whole in small reads.
  [[nodiscard]] unsigned body_use() const { return (bits >> 5) & 3u; }
  [[nodiscard]] bool close() const { return (bits & 128u) != 0; }
};

struct Segment {
  Control control;
  std::string_view bytes;
};

/// The fuzzer's end of one connection.
struct Peer {
  int fd = -1;        ///< -1 once closed
  bool shut = false;  ///< its writing side is shut, or it is closed
  std::vector<Verdict> sent;
};

class Harness {
 public:
  Harness(std::uint8_t options, std::vector<Segment> segments)
      : segments_(std::move(segments)), header_limit_((options & 4u) != 0 ? kSmallHeaderLimit : 1u << 20) {
    nethttp::TransportOptions o;
    if ((options & 1u) != 0) o.read_buffer_size = 16;
    if ((options & 2u) != 0) o.drain_max_bytes = 0;
    o.max_response_header_bytes = header_limit_;
    o.dial = [this](const nethttp::DialRequest&) { return dial(); };
    o.trace.got_conn = [this](std::uint64_t id, bool reused, bool, std::chrono::nanoseconds) {
      got_conn(id, reused);
    };
    o.trace.wrote_headers = [this](std::uint64_t id) {
      if (current_.expect_continue()) serve(id);
    };
    o.trace.wrote_request = [this](std::uint64_t id, const nethttp::Error* error) {
      if (error == nullptr) serve(id);
    };
    transport_.emplace(std::move(o));
  }

  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  ~Harness() {
    transport_.reset();
    for (const auto& [id, peer] : peers_) {
      if (peer.fd >= 0) ::close(peer.fd);
    }
    const std::lock_guard lock(mu_);
    for (const int fd : undelivered_) ::close(fd);
  }

  void run() {
    const std::size_t count = std::min(segments_.size(), kMaxRequests);
    for (std::size_t k = 0; k < count; ++k) send(k);
    const nethttp::TransportStats stats = transport_->stats();
    check(stats.in_use == 0 && stats.dialing == 0 && stats.waiting == 0);
    check(stats.reuses == reuses_);
  }

 private:
  nethttp::Result<int> dial() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return nethttp::Error(nethttp::ErrorKind::connect, "socketpair");
    }
    ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
    const std::lock_guard lock(mu_);
    undelivered_.push_back(fds[1]);
    return fds[0];
  }

  void got_conn(std::uint64_t id, bool reused) {
    sent_for_attempt_ = false;
    if (reused) {
      ++reuses_;
      const auto it = peers_.find(id);
      check(it != peers_.end());
      const Peer& peer = it->second;
      check(!peer.shut && !peer.sent.empty());
      for (const Verdict v : peer.sent) check(v != Verdict::unclean);
      return;
    }
    if (peers_.contains(id)) return;  // dialed earlier, first used now
    // Requests go one at a time: a new connection is the last one dialed.
    const std::lock_guard lock(mu_);
    check(!undelivered_.empty());
    peers_[id].fd = undelivered_.front();
    undelivered_.pop_front();
  }

  /// The server's turn on connection `id`: the next segment, then what the
  /// request's control byte says to do with the server end.
  void serve(std::uint64_t id) {
    if (sent_for_attempt_) return;
    sent_for_attempt_ = true;
    Peer& peer = peers_.at(id);
    check(!peer.shut);
    if (next_segment_ >= segments_.size()) {
      ::shutdown(peer.fd, SHUT_WR);
      peer.shut = true;
      return;
    }
    const std::size_t index = next_segment_++;
    const std::string_view bytes = segments_[index].bytes;
    const Reference ref = judge(bytes, current_method_ == "HEAD", header_limit_);
    peer.sent.push_back(ref.verdict);
    unsigned end = current_.server_end();
    if (end == 0 && ref.verdict != Verdict::clean) end = 1;
    if (end == 2) drain_request(peer.fd);
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(peer.fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;  // a full socket buffer: the response is cut there
      off += static_cast<std::size_t>(n);
    }
    if (off < bytes.size() && end == 0) end = 1;
    if (end == 1) ::shutdown(peer.fd, SHUT_WR);
    if (end >= 2) {
      ::close(peer.fd);
      peer.fd = -1;
    }
    peer.shut = end != 0;
    answer_ = end <= 1 ? ref : Reference{};
  }

  static void drain_request(int fd) {
    std::array<char, 4096> buf{};
    while (::recv(fd, buf.data(), buf.size(), 0) > 0) {
    }
  }

  void send(std::size_t k) {
    current_ = segments_[k].control;
    answer_ = Reference{};
    static constexpr std::array<std::string_view, 4> kMethods = {"GET", "HEAD", "POST", "POST"};
    current_method_ = kMethods[current_.request()];
    auto request = std::make_shared<nethttp::Request>();
    request->method = std::string(current_method_);
    request->url = *nethttp::Url::parse("http://fuzz.test/r" + std::to_string(k));
    if (current_.request() == 2) request->body = nethttp::RequestBody::from_string("hello");
    if (current_.request() == 3) {
      request->body = nethttp::RequestBody::from_factory(
          [] { return std::make_unique<nethttp::testing::PatternSource>(300, 100); });
    }
    if (current_.expect_continue()) request->header.set("Expect", "100-continue");
    request->close = current_.close();
    request->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);

    nethttp::Result<nethttp::Response> response = transport_->round_trip(request);
    // What the last segment sent for this request must give, when clean.
    const Reference expected = answer_;
    if (expected.verdict == Verdict::clean) {
      check(response.ok());
      check(response->status == expected.status);
    }
    if (!response) return;
    switch (current_.body_use()) {
      case 0: {
        nethttp::Result<std::string> all = response->body.read_all();
        if (expected.verdict == Verdict::clean) check(all.ok() && *all == expected.body);
        break;
      }
      case 1: {
        std::array<char, 1> byte{};
        (void)response->body.read(byte);
        response->body.close();
        break;
      }
      case 2: break;
      case 3: {
        std::string body;
        std::array<char, 7> piece{};
        for (;;) {
          nethttp::Result<std::size_t> n = response->body.read(piece);
          if (!n) {
            check(expected.verdict != Verdict::clean);
            break;
          }
          if (*n == 0) break;
          body.append(piece.data(), *n);
        }
        if (expected.verdict == Verdict::clean) check(body == expected.body && response->body.at_end());
        break;
      }
    }
  }

  std::vector<Segment> segments_;
  std::size_t header_limit_;
  std::optional<nethttp::Transport> transport_;
  std::mutex mu_;                // guards undelivered_ (dials run on threads of their own)
  std::deque<int> undelivered_;  // server ends of dials not yet seen by got_conn
  std::map<std::uint64_t, Peer> peers_;
  std::size_t next_segment_ = 0;
  std::uint64_t reuses_ = 0;
  Control current_{0};
  std::string_view current_method_;
  bool sent_for_attempt_ = false;
  Reference answer_;  // the verdict on the segment sent for the current request
};

std::vector<Segment> split(std::string_view input) {
  std::vector<Segment> segments;
  while (!input.empty()) {
    const std::size_t end = input.find(kSeparator);
    const std::string_view segment = input.substr(0, end);
    if (!segment.empty()) {
      segments.push_back(Segment{Control(static_cast<std::uint8_t>(segment.front())), segment.substr(1)});
    }
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + kSeparator.size());
  }
  return segments;
}

/// Closes may finish on another thread (a dial thread holding the pool, the
/// upkeep timer): the count may take a moment to come back.
void check_fds_back_to(int before) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (nethttp::testing::count_open_fds() != before && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  check(nethttp::testing::count_open_fds() == before);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int fds_before = nethttp::testing::count_open_fds();
  {
    Harness harness(data[0], split(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1)));
    harness.run();
  }
  check_fds_back_to(fds_before);
  return 0;
}
