// What this process uses of the machine: CPU time, resident memory and the
// limit on open descriptors. Read by `nethttp bench` and `nethttp demo`, and
// by the benchmarks in bench/, so that their figures are taken the same way.
#pragma once

#include <chrono>
#include <cstdint>

namespace nethttp::cli {

/// CPU time this process used so far, every thread (getrusage RUSAGE_SELF;
/// children, such as a forked server, are not counted).
struct CpuTime {
  std::chrono::microseconds user{};
  std::chrono::microseconds system{};

  [[nodiscard]] std::chrono::microseconds total() const { return user + system; }
};

[[nodiscard]] CpuTime cpu_time();

/// Resident set size from /proc/self/statm; 0 without /proc.
[[nodiscard]] std::uint64_t resident_bytes();

/// The soft limit on open descriptors (RLIMIT_NOFILE); LONG_MAX when unlimited.
[[nodiscard]] long open_file_limit();

/// Raises the soft limit on open descriptors to the hard limit (a process
/// forked afterwards inherits it) and returns the limit now in force.
long raise_open_file_limit();

}  // namespace nethttp::cli
