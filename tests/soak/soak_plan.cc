#include "soak_plan.h"

#include <charconv>
#include <system_error>

namespace nethttp::soak {
namespace {

/// Bodies are this long plus up to kBodyExtraBytes: a few hundred bytes, so
/// that a response fills several TCP segments' worth of parsing but never a
/// socket buffer.
constexpr std::size_t kBodyMinBytes = 200;
constexpr std::uint64_t kBodyExtraBytes = 600;

/// SplitMix64's finaliser: every input bit reaches every output bit, so
/// consecutive ids get unrelated choices.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A uniform number in [0, 1) from the top 53 bits of `x`.
constexpr double unit(std::uint64_t x) noexcept {
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

}  // namespace

std::string_view to_string(Fault fault) noexcept {
  switch (fault) {
    case Fault::none: return "none";
    case Fault::close_before_head: return "close_before_head";
    case Fault::reset_before_head: return "reset_before_head";
    case Fault::close_mid_head: return "close_mid_head";
    case Fault::short_body: return "short_body";
    case Fault::short_chunked: return "short_chunked";
    case Fault::reset_mid_body: return "reset_mid_body";
    case Fault::stall_head: return "stall_head";
    case Fault::stall_body: return "stall_body";
    case Fault::slow_body: return "slow_body";
    case Fault::stray_response: return "stray_response";
    case Fault::idle_close: return "idle_close";
    case Fault::idle_408: return "idle_408";
  }
  return "?";
}

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::pending: return "pending";
    case Outcome::success: return "success";
    case Outcome::io: return "io";
    case Outcome::body: return "body";
    case Outcome::timeout: return "timeout";
    case Outcome::raced_408: return "raced_408";
    case Outcome::failed: return "failed";
  }
  return "?";
}

Outcome expected_outcome(Fault fault, bool reused) noexcept {
  switch (fault) {
    case Fault::close_before_head:
    case Fault::reset_before_head: return reused ? Outcome::success : Outcome::io;
    // Response bytes arrived: no retry (the server may have acted on it).
    case Fault::close_mid_head:
    case Fault::reset_mid_body: return Outcome::io;
    case Fault::short_body:
    case Fault::short_chunked: return Outcome::body;
    case Fault::stall_head:
    case Fault::stall_body: return Outcome::timeout;
    // The response itself is whole; what follows it must not reach a request.
    case Fault::none:
    case Fault::slow_body:
    case Fault::stray_response:
    case Fault::idle_close:
    case Fault::idle_408: return Outcome::success;
  }
  return Outcome::failed;
}

Fault Plan::fault_for(std::uint64_t id) const noexcept {
  const std::uint64_t h = mix(seed_ ^ mix(id));
  if (unit(h) >= fault_rate_) return Fault::none;
  return static_cast<Fault>(1 + mix(h) % (kFaultCount - 1));
}

std::uint64_t Plan::detail_for(std::uint64_t id) const noexcept {
  return mix(mix(seed_ ^ mix(id)) ^ 0x5eed);
}

std::string body_for(std::uint64_t id) {
  std::string body = "id " + std::to_string(id) + "\n";
  std::uint64_t state = mix(id);
  const std::size_t size = kBodyMinBytes + state % kBodyExtraBytes;
  // Printable bytes, so a mismatch can be shown as text.
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  while (body.size() < size) {
    state = mix(state);
    for (int i = 0; i < 10 && body.size() < size; ++i) body += kAlphabet[(state >> (6 * i)) & 63];
  }
  return body;
}

bool chunked_for(std::uint64_t id) noexcept {
  return (mix(id ^ 0xc4c4) & 1) != 0;
}

std::string path_for(std::uint64_t id) {
  return "/r/" + std::to_string(id);
}

bool parse_path(std::string_view path, std::uint64_t* id) noexcept {
  if (!path.starts_with("/r/")) return false;
  const char* first = path.data() + 3;
  const char* last = path.data() + path.size();
  const auto [end, error] = std::from_chars(first, last, *id);
  return error == std::errc() && end == last && first != last;
}

}  // namespace nethttp::soak
