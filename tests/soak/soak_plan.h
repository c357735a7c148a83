// What the soak's fault server does to each request, and what the client
// must then see. Both sides derive every choice from the run's seed and the
// request id, so the client knows the fault planned for each request without
// being told, and a run is reproducible from its seed (up to the
// interleaving of its threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nethttp::soak {

/// One fault the server can apply to a request (or to the connection after
/// answering it).
enum class Fault : std::uint8_t {
  none,               ///< a normal 200 with the request's own body
  close_before_head,  ///< FIN instead of a response
  reset_before_head,  ///< RST instead of a response
  close_mid_head,     ///< part of the response head, then FIN
  short_body,         ///< Content-Length larger than the bytes sent, then FIN
  short_chunked,      ///< a chunked body cut before its last chunk, then FIN
  reset_mid_body,     ///< the head and part of the body, then RST
  stall_head,         ///< no answer at all: the client's deadline must fire
  stall_body,         ///< the head and part of the body, then nothing
  slow_body,          ///< the body trickled in pieces, well within the deadline
  stray_response,     ///< a second, unasked-for response right behind the first, in the same write
  idle_close,         ///< the response, then the connection closed while idle (at once, or later)
  idle_408,           ///< the response, then (a separate write) a 408 and FIN on the idle connection
};
/// How many Fault values there are, none included.
inline constexpr int kFaultCount = 13;

/// The fault's name, e.g. "stall_head".
[[nodiscard]] std::string_view to_string(Fault fault) noexcept;

/// What one request ended as, seen by the client.
enum class Outcome : std::uint8_t {
  pending,    ///< not finished
  success,    ///< a 200 with its own, complete body
  io,         ///< failed with ErrorKind::io
  body,       ///< failed with ErrorKind::body
  timeout,    ///< failed with ErrorKind::timeout
  raced_408,  ///< got the 408 of an idle_408 fault, which it raced on that connection
  failed,     ///< anything else: a defect of the library (reported when it happened)
};
/// How many Outcome values there are.
inline constexpr int kOutcomeCount = 7;

/// The outcome's name, e.g. "timeout".
[[nodiscard]] std::string_view to_string(Outcome outcome) noexcept;

/// The outcome a request must have when the server applied `fault` to it
/// on a connection the transport counted as `reused`: one that had carried
/// a request before, or had sat idle in the pool (a parked dial). Faults
/// before any response byte fail a fresh connection with io; on a reused
/// one the transport retries on a new connection (Go's rule), where the
/// server answers normally: a success.
[[nodiscard]] Outcome expected_outcome(Fault fault, bool reused) noexcept;

/// The random choices of one run: which requests get which fault.
class Plan {
 public:
  /// About `fault_rate` of the requests get a fault, each kind equally often.
  Plan(std::uint64_t seed, double fault_rate) : seed_(seed), fault_rate_(fault_rate) {}

  /// The fault planned for request `id`.
  [[nodiscard]] Fault fault_for(std::uint64_t id) const noexcept;
  /// A number behind the server's other choices about request `id` (where
  /// a cut falls, how the body is chunked, how long an idle close waits).
  [[nodiscard]] std::uint64_t detail_for(std::uint64_t id) const noexcept;

  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  [[nodiscard]] double fault_rate() const noexcept { return fault_rate_; }

 private:
  std::uint64_t seed_;
  double fault_rate_;
};

/// The response body of request `id`: "id <id>\n", then a few hundred bytes
/// that depend on the id, so a response that went to the wrong request, or
/// lost or garbled bytes, cannot pass for the right one.
[[nodiscard]] std::string body_for(std::uint64_t id);
/// Whether the response to `id` is chunked (else it has a Content-Length).
[[nodiscard]] bool chunked_for(std::uint64_t id) noexcept;

/// The request path of `id` ("/r/<id>"), and the id of such a path (false
/// for anything else).
[[nodiscard]] std::string path_for(std::uint64_t id);
[[nodiscard]] bool parse_path(std::string_view path, std::uint64_t* id) noexcept;

/// The path of the server's report (fault_server.h).
inline constexpr std::string_view kReportPath = "/report";
/// A field of the 408 an idle_408 fault sends, so that the client can tell it
/// from any other 408.
inline constexpr std::string_view kFaultField = "X-Soak-Fault";

}  // namespace nethttp::soak
