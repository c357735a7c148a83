// The soak's HTTP/1.1 server. It answers "GET /r/<id>" with body_for(id),
// keeping connections alive, and applies to each id the fault the Plan gives
// it, the first time that id arrives (a retry of the same id is answered
// normally). It runs one epoll loop in a child process, so that its sockets,
// memory and CPU time are not counted in the client's, whose descriptors and
// RSS the soak measures.
//
// It records what it did: every fault applied, with whether the connection
// had carried a request before (which decides what the client must see:
// soak_plan.h), and every request that raced the 408 of an idle_408 fault.
// "GET /report" returns that record (ServerReport::to_text()).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "soak_plan.h"

namespace nethttp::soak {

/// One fault the server applied.
struct FaultRecord {
  std::uint64_t id = 0;
  Fault fault = Fault::none;
  bool reused = false;  ///< the connection had carried a request before this one
};

/// What the server did, as its report request returns it.
struct ServerReport {
  std::uint64_t connections = 0;  ///< accepted
  std::uint64_t requests = 0;     ///< request heads handled (the report's own excepted)
  std::uint64_t repeats = 0;      ///< requests for an id already faulted (retries), answered normally
  /// Requests that arrived on a connection an idle_close fault was about to
  /// close: closed at once, unanswered and unrecorded (the client retries).
  std::uint64_t idle_close_kills = 0;
  std::uint64_t sent_408 = 0;             ///< 408s of idle_408 faults sent
  std::vector<FaultRecord> faults;        ///< every fault applied, in order
  std::vector<std::uint64_t> raced_408s;  ///< ids whose request arrived after their connection's 408

  /// Lines of "name value" and "fault ID NAME 0|1", "raced_408 ID".
  [[nodiscard]] std::string to_text() const;
  /// The report to_text() wrote; nullopt when `text` is not one.
  [[nodiscard]] static std::optional<ServerReport> parse(std::string_view text);
};

/// The server in a forked child, from construction to destruction.
class FaultServerProcess {
 public:
  /// Listens on 127.0.0.1 (a port the kernel chooses), then forks the child
  /// that serves: clients may connect at once. Construct it before the
  /// process starts any thread. Throws std::runtime_error when it cannot
  /// listen or fork.
  explicit FaultServerProcess(const Plan& plan);
  /// Kills the child and reaps it.
  ~FaultServerProcess();
  FaultServerProcess(const FaultServerProcess&) = delete;
  FaultServerProcess& operator=(const FaultServerProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace nethttp::soak
