#include "net/dial.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace nethttp::net {
namespace {

/// Go's net.Dialer default for TCP keep-alive probes.
constexpr int kKeepAliveSeconds = 15;

struct AddrInfoFree {
  void operator()(addrinfo* ai) const noexcept { ::freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

std::string address_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    std::string text = "[" + std::string(host);
    if (in6->sin6_scope_id != 0) text += "%" + std::to_string(in6->sin6_scope_id);
    return text + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(sa);
  ::inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(in4->sin_port));
}

/// The resolver's addresses in its order (RFC 6724), duplicates dropped.
Result<std::vector<Address>> resolve(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
  if (rc != 0) {
    const int err = rc == EAI_SYSTEM ? errno : 0;
    return Error(ErrorKind::dns, "lookup " + host + ": " + ::gai_strerror(rc), err);
  }
  const AddrInfoPtr owner(list);
  std::vector<Address> addresses;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    Address address = make_address(ai->ai_addr, ai->ai_addrlen);
    const bool seen = std::any_of(addresses.begin(), addresses.end(),
                                  [&](const Address& a) { return a.text == address.text; });
    if (!seen) addresses.push_back(std::move(address));
  }
  if (addresses.empty()) return Error(ErrorKind::dns, "lookup " + host + ": no addresses");
  return addresses;
}

void set_blocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

void tune(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepAliveSeconds, sizeof kKeepAliveSeconds);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepAliveSeconds, sizeof kKeepAliveSeconds);
}

Error connect_error(const std::string& address, int err) {
  return Error(ErrorKind::connect, "connect " + address + ": " + std::strerror(err), err);
}

/// `addresses` gave no answer in time; `detail` says more, if anything.
Error no_answer(const std::string& addresses, std::string_view detail = {}) {
  return Error(ErrorKind::timeout,
               "connect " + addresses + ": no answer before the connect deadline" + std::string(detail),
               ETIMEDOUT);
}

/// One connect() in flight.
struct Attempt {
  const Address* address = nullptr;
  Fd fd;
};

/// How a connect() call ended.
struct Started {
  std::optional<Attempt> in_flight;  ///< EINPROGRESS: poll for the outcome
  std::optional<Error> error;        ///< failed at once
  std::optional<Attempt> connected;  ///< connected at once
};

Started start_attempt(const Address& address) {
  Started started;
  Fd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) {
    const int err = errno;  // before the message's allocation
    started.error = connect_error(address.text + ": socket", err);
    return started;
  }
  int rc = 0;
  do {
    rc = ::connect(fd.get(), address.sockaddr_ptr(), address.length);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    started.connected = Attempt{&address, std::move(fd)};
  } else if (errno == EINPROGRESS) {
    started.in_flight = Attempt{&address, std::move(fd)};
  } else {
    started.error = connect_error(address.text, errno);
  }
  return started;
}

/// The Happy Eyeballs race of dial_addresses(), one object per dial.
class Race {
 public:
  Race(std::span<const Address> addresses, Clock::time_point deadline, const DialEvents& events,
       std::chrono::milliseconds attempt_delay)
      : addresses_(addresses), deadline_(deadline), events_(events), attempt_delay_(attempt_delay) {
    in_flight_.reserve(addresses.size());
  }

  Result<Fd> run() {
    for (;;) {
      // Start the next address when it is due: at first, when nothing is in
      // flight (the last attempt failed), or when the attempt delay passed.
      // After the deadline nothing new starts, but the first address is
      // always tried once (a loopback connect may complete at once).
      const Clock::time_point now = Clock::now();
      if (next_ < addresses_.size() && (in_flight_.empty() || now >= next_start_) &&
          (next_ == 0 || now < deadline_)) {
        const Address& address = addresses_[next_++];
        if (events_.connect_start) events_.connect_start(address.text);
        Started started = start_attempt(address);
        if (started.connected) return win(std::move(*started.connected));
        if (started.error) {
          fail(address, std::move(*started.error));
          continue;
        }
        in_flight_.push_back(std::move(*started.in_flight));
        next_start_ = now + attempt_delay_;
        continue;
      }
      if (in_flight_.empty()) {
        if (next_ == addresses_.size()) return std::move(*last_failure_);  // every address failed
        return timed_out();  // the deadline passed between failures
      }
      if (std::optional<Result<Fd>> ended = wait(); ended) return std::move(*ended);
      if (Clock::now() >= deadline_) return timed_out();
    }
  }

 private:
  /// One poll() over the attempts in flight, until the deadline or the next
  /// attempt is due. Returns the winner's socket (or poll()'s error), or
  /// nullopt to go on.
  std::optional<Result<Fd>> wait() {
    Clock::time_point until = deadline_;
    if (next_ < addresses_.size()) until = std::min(until, next_start_);
    std::vector<pollfd> polled;
    polled.reserve(in_flight_.size());
    for (const Attempt& attempt : in_flight_) polled.push_back(pollfd{attempt.fd.get(), POLLOUT, 0});
    const int n = ::poll(polled.data(), polled.size(), poll_timeout_ms(until));
    if (n < 0 && errno != EINTR) {
      const int err = errno;
      close_in_flight("poll failed");
      return Error(ErrorKind::connect, std::string("connect: poll: ") + std::strerror(err), err);
    }
    if (n <= 0) return std::nullopt;  // timeout or EINTR: the caller looks at the clock
    // Outcomes in the order the attempts started; the earliest connected one wins.
    std::vector<Attempt> still;
    std::optional<Attempt> winner;
    for (std::size_t i = 0; i < in_flight_.size(); ++i) {
      Attempt& attempt = in_flight_[i];
      const short revents = polled[i].revents;
      if (revents == 0 || winner) {
        still.push_back(std::move(attempt));
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(attempt.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0 && (revents & POLLOUT) == 0) err = ECONNABORTED;  // hung up without a reason
      if (err == 0) {
        winner = std::move(attempt);
      } else {
        attempt.fd.reset();
        fail(*attempt.address, connect_error(attempt.address->text, err));
      }
    }
    in_flight_ = std::move(still);
    if (winner) return win(std::move(*winner));
    return std::nullopt;
  }

  void fail(const Address& address, Error error) {
    if (events_.connect_done) events_.connect_done(address.text, &error);
    last_failure_ = std::move(error);
    next_start_ = Clock::now();  // a failure starts the next attempt at once
  }

  /// Closes every attempt in flight, each reported canceled for `why`.
  void close_in_flight(const std::string& why) {
    for (Attempt& attempt : in_flight_) {
      attempt.fd.reset();
      if (events_.connect_done) {
        const Error abandoned(ErrorKind::canceled,
                              "connect " + attempt.address->text + ": abandoned, " + why);
        events_.connect_done(attempt.address->text, &abandoned);
      }
    }
    in_flight_.clear();
  }

  /// Keeps `winner`, closes every other attempt (each reported canceled).
  Fd win(Attempt winner) {
    set_blocking(winner.fd.get());
    tune(winner.fd.get());
    if (events_.connect_done) events_.connect_done(winner.address->text, nullptr);
    close_in_flight(winner.address->text + " connected first");
    return std::move(winner.fd);
  }

  Error timed_out() {
    const std::size_t untried = addresses_.size() - next_;
    const std::string not_tried =
        untried == 1 ? "1 more address" : std::to_string(untried) + " more addresses";
    if (in_flight_.empty()) {  // the deadline passed right after a failure
      return Error(
          ErrorKind::timeout,
          last_failure_->message() + "; the connect deadline passed before " + not_tried + " could be tried",
          ETIMEDOUT);
    }
    std::string names;
    for (Attempt& attempt : in_flight_) {
      names += (names.empty() ? "" : ", ") + attempt.address->text;
      attempt.fd.reset();
      if (events_.connect_done) {
        const Error error = no_answer(attempt.address->text);
        events_.connect_done(attempt.address->text, &error);
      }
    }
    in_flight_.clear();
    std::string detail;
    if (last_failure_) detail += "; " + last_failure_->message();
    if (untried > 0) detail += "; " + not_tried + " not tried";
    return no_answer(names, detail);
  }

  std::span<const Address> addresses_;
  Clock::time_point deadline_;
  const DialEvents& events_;
  std::chrono::milliseconds attempt_delay_;
  std::size_t next_ = 0;  ///< index of the next address to try
  Clock::time_point next_start_{};
  std::vector<Attempt> in_flight_;  ///< in the order they started
  std::optional<Error> last_failure_;
};

/// connect() on a blocking Unix socket: it waits only while the listener's
/// accept queue is full, and SO_SNDTIMEO bounds that wait (Linux returns
/// EAGAIN when it runs out).
Result<Fd> connect_unix(const std::string& path, const std::string& address, Clock::time_point deadline) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty()) return Error(ErrorKind::connect, "connect " + address + ": empty path", EINVAL);
  if (path.find('\0') != std::string::npos) {
    return Error(ErrorKind::connect, "connect " + address + ": path contains a NUL byte", EINVAL);
  }
  if (path.size() >= sizeof sa.sun_path) {
    return Error(ErrorKind::connect,
                 "connect " + address + ": path too long (" + std::to_string(path.size()) +
                     " bytes, a Unix socket path holds at most " + std::to_string(sizeof sa.sun_path - 1) +
                     ")",
                 ENAMETOOLONG);
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    const int err = errno;  // before the message's allocation
    return connect_error(address + ": socket", err);
  }
  const bool bounded = deadline != Clock::time_point::max();
  for (;;) {
    if (bounded) {
      const auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - Clock::now());
      if (left.count() <= 0) return no_answer(address);
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
      timeval tv{};
      tv.tv_sec = static_cast<time_t>(std::min<std::chrono::seconds::rep>(seconds.count(), 1 << 30));
      tv.tv_usec = static_cast<suseconds_t>((left - seconds).count());
      ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), length) == 0) break;
    const int err = errno;
    if (err == EINTR) continue;  // a Unix connect is all or nothing: try again
    if (err == EAGAIN && bounded) return no_answer(address, " (the listener's queue is full)");
    return connect_error(address, err);
  }
  if (bounded) {
    const timeval none{};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  }
  return fd;
}

}  // namespace

Address make_address(const sockaddr* sa, socklen_t length) {
  Address address;
  const auto size = std::min<std::size_t>(length, sizeof address.storage);
  std::memcpy(&address.storage, sa, size);
  address.length = static_cast<socklen_t>(size);
  address.text = address_text(sa);
  return address;
}

std::vector<Address> order_addresses(std::vector<Address> addresses) {
  if (addresses.empty()) return addresses;
  const int first_family = addresses.front().family();
  std::deque<Address> first;
  std::deque<Address> other;
  for (Address& address : addresses) {
    (address.family() == first_family ? first : other).push_back(std::move(address));
  }
  std::vector<Address> ordered;
  ordered.reserve(addresses.size());
  while (!first.empty() || !other.empty()) {
    for (std::deque<Address>* family : {&first, &other}) {
      if (family->empty()) continue;
      ordered.push_back(std::move(family->front()));
      family->pop_front();
    }
  }
  return ordered;
}

Result<Fd> dial_addresses(std::span<const Address> addresses, Clock::time_point deadline,
                          const DialEvents& events, std::chrono::milliseconds attempt_delay) {
  if (addresses.empty()) return Error(ErrorKind::connect, "connect: no addresses to dial");
  return Race(addresses, deadline, events, attempt_delay).run();
}

Result<Fd> dial_tcp(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                    const DialEvents& events) {
  if (events.dns_start) events.dns_start(host);
  Result<std::vector<Address>> addresses = resolve(host, port);
  if (events.dns_done) events.dns_done(host, addresses ? nullptr : &addresses.error());
  if (!addresses) return std::move(addresses).error();
  const std::vector<Address> ordered = order_addresses(std::move(*addresses));
  return dial_addresses(ordered, deadline, events);
}

Result<Fd> dial_unix(const std::string& path, Clock::time_point deadline, const DialEvents& events) {
  const std::string address = "unix:" + path;
  if (events.connect_start) events.connect_start(address);
  Result<Fd> fd = connect_unix(path, address, deadline);
  if (events.connect_done) events.connect_done(address, fd ? nullptr : &fd.error());
  return fd;
}

}  // namespace nethttp::net
