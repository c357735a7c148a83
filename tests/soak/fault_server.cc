#include "fault_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "support/child_process.h"

namespace nethttp::soak {
namespace {

using Clock = std::chrono::steady_clock;

/// A request head larger than this closes the connection (the client's are
/// a few hundred bytes).
constexpr std::size_t kMaxHeadBytes = std::size_t{64} << 10;
constexpr std::size_t kReadChunkBytes = std::size_t{16} << 10;
constexpr int kMaxEvents = 256;
/// epoll user data of the listening socket; connections carry their serial
/// (from 1), so an event for a connection closed earlier in the same batch
/// finds nothing, even when a new connection got its descriptor number.
constexpr std::uint64_t kListenerTag = 0;
/// A slow body arrives in this many pieces, kSlowPieceDelay apart: 200 ms in
/// all, a tenth of the client's default deadline, so it must succeed.
constexpr int kSlowPieces = 8;
constexpr std::chrono::milliseconds kSlowPieceDelay{25};
/// An idle_close waits 0 to this many milliseconds before closing. At 0 the
/// FIN follows the response at once (the client's idle probe should see it);
/// a later close usually meets the client's next request on the connection,
/// which the server then closes unanswered (the client must retry it).
constexpr std::uint64_t kIdleCloseMaxDelayMs = 3;

/// A whole, well-formed second response: if the pool ever reused a
/// connection with it queued, the next request would read it as its own
/// (and fail its body check).
constexpr std::string_view kStrayResponse = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nstray answer";
constexpr std::string_view kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string length_head(std::size_t length) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}

std::string response_408() {
  return "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n" +
         std::string(kFaultField) + ": idle_408\r\n\r\n";
}

/// `body` in chunked coding, in 1 to 4 chunks as `choice` says.
std::string chunk(std::string_view body, std::uint64_t choice) {
  const std::size_t pieces = 1 + choice % 4;
  const std::size_t piece = (body.size() + pieces - 1) / pieces;
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::string_view data = body.substr(at, piece);
    std::array<char, 16> hex{};
    const auto [end, error] = std::to_chars(hex.data(), hex.data() + hex.size(), data.size(), 16);
    out.append(hex.data(), end);
    out += "\r\n";
    out += data;
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

/// What a connection does next, once the bytes before it are written.
struct Step {
  enum class Kind : std::uint8_t {
    send,        ///< write `bytes`
    wait,        ///< let `delay` pass
    keep_alive,  ///< the exchange is over: read the next request
    close,       ///< FIN
    reset,       ///< RST (SO_LINGER 0)
    stall,       ///< answer nothing more; discard what arrives until the client closes
    idle_close,  ///< close after `delay`, or as soon as a request arrives
    shut_408,    ///< shut our side after a 408, and record a request that raced it
  };
  Kind kind;
  std::string bytes;
  std::chrono::milliseconds delay{0};
};

Step send_step(std::string bytes) {
  return Step{Step::Kind::send, std::move(bytes)};
}
Step act(Step::Kind kind, std::chrono::milliseconds delay = {}) {
  return Step{kind, {}, delay};
}

/// The steps that answer request `id` with `fault`.
std::deque<Step> steps_for(std::uint64_t id, Fault fault, std::uint64_t detail) {
  using K = Step::Kind;
  const std::string body = body_for(id);
  const std::string head = chunked_for(id) ? std::string(kChunkedHead) : length_head(body.size());
  const std::string framed = chunked_for(id) ? chunk(body, detail >> 8) : body;
  switch (fault) {
    case Fault::none: return {send_step(head + framed), act(K::keep_alive)};
    case Fault::close_before_head: return {act(K::close)};
    case Fault::reset_before_head: return {act(K::reset)};
    case Fault::close_mid_head:
      return {send_step(head.substr(0, 1 + detail % (head.size() - 1))), act(K::close)};
    case Fault::short_body:
      return {send_step(length_head(body.size()) + body.substr(0, detail % body.size())), act(K::close)};
    case Fault::short_chunked: {
      const std::string coded = chunk(body, detail >> 8);
      return {send_step(std::string(kChunkedHead) + coded.substr(0, detail % coded.size())), act(K::close)};
    }
    case Fault::reset_mid_body:
      return {send_step(length_head(body.size()) + body.substr(0, detail % body.size())), act(K::reset)};
    case Fault::stall_head: return {act(K::stall)};
    case Fault::stall_body:
      return {send_step(head + framed.substr(0, detail % framed.size())), act(K::stall)};
    case Fault::slow_body: {
      std::deque<Step> steps{send_step(head)};
      const std::size_t piece = (framed.size() + kSlowPieces - 1) / kSlowPieces;
      for (std::size_t at = 0; at < framed.size(); at += piece) {
        steps.push_back(act(K::wait, kSlowPieceDelay));
        steps.push_back(send_step(framed.substr(at, piece)));
      }
      steps.push_back(act(K::keep_alive));
      return steps;
    }
    case Fault::stray_response:
      return {send_step(head + framed + std::string(kStrayResponse)), act(K::keep_alive)};
    case Fault::idle_close:
      return {send_step(head + framed),
              act(K::idle_close, std::chrono::milliseconds(detail % (kIdleCloseMaxDelayMs + 1)))};
    // Two writes: the 408 may reach the client with the response, after it
    // (the pool's idle probe must see it), or after the next request was
    // sent on the connection (that request gets the 408: the race every
    // HTTP/1.1 client has).
    case Fault::idle_408: return {send_step(head + framed), send_step(response_408()), act(K::shut_408)};
  }
  return {act(K::close)};
}

/// The request target of a request head ("GET /r/1 HTTP/1.1\r\n..."); empty
/// when the line is not method, target, version.
std::string_view target_of(std::string_view head) {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const std::size_t first = line.find(' ');
  if (first == std::string_view::npos) return {};
  const std::size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos) return {};
  return line.substr(first + 1, second - first - 1);
}

/// The loop of the child process.
class FaultServer {
 public:
  FaultServer(int listener, const Plan& plan);
  [[noreturn]] void serve_forever();

 private:
  /// What a connection is doing.
  enum class Mode : std::uint8_t {
    reading,       ///< waiting for a request head
    responding,    ///< running its steps
    stalled,       ///< discards what arrives until the client closes
    closing_idle,  ///< an idle_close waits for its timer, or a request, to close
    after_408,     ///< our side shut after a 408: records a request that raced it
  };
  struct Conn {
    std::uint64_t serial = 0;
    int fd = -1;
    Mode mode = Mode::reading;
    std::string in;  ///< received, not yet handled
    std::deque<Step> steps;
    std::string out;  ///< being written
    std::size_t out_off = 0;
    std::uint64_t exchanges = 0;  ///< requests handled on it
    std::uint64_t timer = 0;      ///< the armed timer's id; 0: none
    bool watching_write = false;
    bool raced = false;  ///< after_408: a raced request was recorded
  };
  struct Timer {
    Clock::time_point when;
    std::uint64_t id;
    std::uint64_t conn;
    bool operator>(const Timer& other) const { return when > other.when; }
  };

  void accept_all();
  void on_event(Conn& c, std::uint32_t events);
  /// Each returns false once it closed `c` (which is then gone).
  bool on_readable(Conn& c);
  bool handle_input(Conn& c);
  bool advance(Conn& c);
  void start_response(Conn& c, std::string_view head);
  void record_race(Conn& c);
  void close_conn(Conn& c, bool reset);
  void arm(Conn& c, std::chrono::milliseconds delay);
  void run_timers();
  [[nodiscard]] int epoll_timeout_ms() const;
  void watch(Conn& c, bool for_write);

  Plan plan_;
  int listener_;
  int epoll_;
  std::uint64_t next_serial_ = 1;
  std::uint64_t next_timer_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;  ///< by serial
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::unordered_set<std::uint64_t> faulted_;  ///< ids a fault was applied to
  ServerReport report_;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "soak fault server: %s: %s\n", what, std::strerror(errno));
  std::_Exit(1);
}

FaultServer::FaultServer(int listener, const Plan& plan)
    : plan_(plan), listener_(listener), epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_ < 0) die("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &ev) != 0) die("epoll_ctl");
}

void FaultServer::serve_forever() {
  std::array<epoll_event, kMaxEvents> events{};
  for (;;) {
    const int n = epoll_wait(epoll_, events.data(), kMaxEvents, epoll_timeout_ms());
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      // Copies: epoll_event is packed, its members misaligned for references.
      const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
      const std::uint32_t flags = events[static_cast<std::size_t>(i)].events;
      if (tag == kListenerTag) {
        accept_all();
      } else if (const auto it = conns_.find(tag); it != conns_.end()) {
        on_event(*it->second, flags);
      }
    }
    run_timers();
  }
}

void FaultServer::accept_all() {
  for (;;) {
    const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: all taken; anything else: try again on the next wake-up
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_unique<Conn>();
    conn->serial = next_serial_++;
    conn->fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = conn->serial;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    conns_.emplace(conn->serial, std::move(conn));
    ++report_.connections;
  }
}

void FaultServer::on_event(Conn& c, std::uint32_t events) {
  if ((events & EPOLLOUT) != 0 && c.watching_write && !advance(c)) return;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) on_readable(c);
}

bool FaultServer::on_readable(Conn& c) {
  std::array<char, kReadChunkBytes> buf;  // not zeroed: recv fills what is used
  const ssize_t n = recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  if (n <= 0) {
    // The client closed (its deadline, a connection it would not reuse) or
    // reset: nothing more to do on this one.
    close_conn(c, false);
    return false;
  }
  const std::string_view got(buf.data(), static_cast<std::size_t>(n));
  switch (c.mode) {
    case Mode::reading: c.in += got; return handle_input(c);
    case Mode::responding: c.in += got; return true;  // the client never pipelines; kept all the same
    case Mode::stalled: return true;
    case Mode::closing_idle:
      // The server closes the connection as the request arrives, unread:
      // to the client, a reused connection that fails before any response byte.
      ++report_.idle_close_kills;
      close_conn(c, false);
      return false;
    case Mode::after_408:
      c.in += got;
      record_race(c);
      return true;
  }
  return true;
}

bool FaultServer::handle_input(Conn& c) {
  const std::size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.in.size() <= kMaxHeadBytes) return true;
    close_conn(c, false);
    return false;
  }
  const std::string head = c.in.substr(0, end + 4);
  c.in.erase(0, end + 4);
  start_response(c, head);
  return advance(c);
}

void FaultServer::start_response(Conn& c, std::string_view head) {
  c.mode = Mode::responding;
  const bool reused = c.exchanges++ > 0;
  const std::string_view target = target_of(head);
  std::uint64_t id = 0;
  if (target == kReportPath) {
    const std::string text = report_.to_text();
    c.steps = {send_step(length_head(text.size()) + text), act(Step::Kind::keep_alive)};
    return;
  }
  if (!parse_path(target, &id)) {
    c.steps = {send_step("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
               act(Step::Kind::close)};
    return;
  }
  ++report_.requests;
  Fault fault = plan_.fault_for(id);
  if (fault != Fault::none) {
    if (faulted_.insert(id).second) {
      report_.faults.push_back(FaultRecord{id, fault, reused});
      if (fault == Fault::idle_408) ++report_.sent_408;
    } else {
      ++report_.repeats;
      fault = Fault::none;
    }
  }
  c.steps = steps_for(id, fault, plan_.detail_for(id));
}

bool FaultServer::advance(Conn& c) {
  for (;;) {
    while (c.out_off < c.out.size()) {
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        c.out_off += static_cast<std::size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        watch(c, true);
        return true;
      } else if (errno != EINTR) {
        close_conn(c, false);
        return false;
      }
    }
    watch(c, false);
    if (c.steps.empty()) {  // every list of steps ends in one that ends the exchange
      close_conn(c, false);
      return false;
    }
    Step step = std::move(c.steps.front());
    c.steps.pop_front();
    switch (step.kind) {
      case Step::Kind::send:
        c.out = std::move(step.bytes);
        c.out_off = 0;
        break;
      case Step::Kind::wait: arm(c, step.delay); return true;
      case Step::Kind::keep_alive: c.mode = Mode::reading; return handle_input(c);
      case Step::Kind::close: close_conn(c, false); return false;
      case Step::Kind::reset: close_conn(c, true); return false;
      case Step::Kind::stall: c.mode = Mode::stalled; return true;
      case Step::Kind::idle_close:
        if (step.delay.count() == 0) {
          close_conn(c, false);
          return false;
        }
        c.mode = Mode::closing_idle;
        arm(c, step.delay);
        return true;
      case Step::Kind::shut_408:
        shutdown(c.fd, SHUT_WR);
        c.mode = Mode::after_408;
        record_race(c);
        return true;
    }
  }
}

void FaultServer::record_race(Conn& c) {
  const std::size_t end = c.in.find("\r\n\r\n");
  if (c.raced || end == std::string::npos) return;
  c.raced = true;
  std::uint64_t id = 0;
  if (parse_path(target_of(std::string_view(c.in).substr(0, end)), &id)) report_.raced_408s.push_back(id);
}

void FaultServer::close_conn(Conn& c, bool reset) {
  if (reset) {
    const linger abort_on_close{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  }
  epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  conns_.erase(c.serial);  // destroys c
}

void FaultServer::arm(Conn& c, std::chrono::milliseconds delay) {
  c.timer = next_timer_++;
  timers_.push(Timer{Clock::now() + delay, c.timer, c.serial});
}

void FaultServer::run_timers() {
  const Clock::time_point now = Clock::now();
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    const auto it = conns_.find(timer.conn);
    if (it == conns_.end() || it->second->timer != timer.id) continue;  // closed, or re-armed since
    Conn& c = *it->second;
    c.timer = 0;
    if (c.mode == Mode::closing_idle) {
      close_conn(c, false);
    } else {
      advance(c);
    }
  }
}

int FaultServer::epoll_timeout_ms() const {
  if (timers_.empty()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(timers_.top().when - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

void FaultServer::watch(Conn& c, bool for_write) {
  if (c.watching_write == for_write) return;
  // Readable stays watched while writing: a client that closes mid-response
  // (its deadline) is noticed.
  epoll_event ev{};
  ev.events = for_write ? EPOLLIN | EPOLLOUT : EPOLLIN;
  ev.data.u64 = c.serial;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
  c.watching_write = for_write;
}

/// `text` as a number; false when it is not one.
bool parse_number(std::string_view text, std::uint64_t* value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

/// The Fault named `name`; nullopt for an unknown name.
std::optional<Fault> fault_named(std::string_view name) {
  for (int i = 0; i < kFaultCount; ++i) {
    if (to_string(static_cast<Fault>(i)) == name) return static_cast<Fault>(i);
  }
  return std::nullopt;
}

/// The space-separated words of `line`.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const std::size_t space = line.find(' ');
    if (space != 0) out.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return out;
}

}  // namespace

std::string ServerReport::to_text() const {
  std::string out = "connections " + std::to_string(connections) + "\nrequests " + std::to_string(requests) +
                    "\nrepeats " + std::to_string(repeats) + "\nidle_close_kills " +
                    std::to_string(idle_close_kills) + "\nsent_408 " + std::to_string(sent_408) + "\n";
  for (const FaultRecord& f : faults) {
    out += "fault " + std::to_string(f.id) + " " + std::string(to_string(f.fault)) +
           (f.reused ? " 1\n" : " 0\n");
  }
  for (const std::uint64_t id : raced_408s) out += "raced_408 " + std::to_string(id) + "\n";
  return out;
}

std::optional<ServerReport> ServerReport::parse(std::string_view text) {
  ServerReport report;
  const std::unordered_map<std::string_view, std::uint64_t*> counters = {
      {"connections", &report.connections}, {"requests", &report.requests},
      {"repeats", &report.repeats},         {"idle_close_kills", &report.idle_close_kills},
      {"sent_408", &report.sent_408},
  };
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    if (newline == std::string_view::npos) return std::nullopt;  // every line ends in one
    const std::vector<std::string_view> w = words(text.substr(0, newline));
    text.remove_prefix(newline + 1);
    if (w.size() == 2 && counters.contains(w[0])) {
      if (!parse_number(w[1], counters.at(w[0]))) return std::nullopt;
    } else if (w.size() == 4 && w[0] == "fault") {
      FaultRecord record;
      const std::optional<Fault> fault = fault_named(w[2]);
      if (!parse_number(w[1], &record.id) || !fault || (w[3] != "0" && w[3] != "1")) return std::nullopt;
      record.fault = *fault;
      record.reused = w[3] == "1";
      report.faults.push_back(record);
    } else if (w.size() == 2 && w[0] == "raced_408") {
      std::uint64_t id = 0;
      if (!parse_number(w[1], &id)) return std::nullopt;
      report.raced_408s.push_back(id);
    } else {
      return std::nullopt;
    }
  }
  return report;
}

FaultServerProcess::FaultServerProcess(const Plan& plan) {
  std::string error;
  const int listener = testing::listen_on_free_port(&port_, &error);
  if (listener < 0) throw std::runtime_error(error);
  if (fcntl(listener, F_SETFL, O_NONBLOCK) != 0) {
    close(listener);
    throw std::runtime_error(testing::errno_text("fcntl O_NONBLOCK"));
  }
  const pid_t parent = getpid();
  std::fflush(nullptr);  // the child must not write the parent's buffered output again
  pid_ = fork();
  if (pid_ < 0) {
    close(listener);
    throw std::runtime_error(testing::errno_text("fork"));
  }
  if (pid_ == 0) {
    // A client that dies without running destructors (a failed check, the
    // watchdog's abort) must not leave the server behind; the getppid check
    // covers a parent gone before the prctl.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) std::_Exit(0);
    FaultServer(listener, plan).serve_forever();
  }
  close(listener);  // the child listens; this process only connects
}

FaultServerProcess::~FaultServerProcess() {
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

}  // namespace nethttp::soak
