// Runs a program (the built `nethttp` CLI) as a child process with pipes on
// its stdin, stdout and stderr, for the black-box CLI tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace nethttp::testing {

/// How a run ended.
struct CliRun {
  int exit_code = -1;  ///< -1 when it did not exit normally (signal, watchdog)
  std::string out;
  std::string err;
};

/// Longest a run may take before it is killed by default: far above what
/// any test needs, so only a hang trips it.
inline constexpr std::chrono::seconds kCliRunLimit{30};

/// Runs `program` (an absolute path; argv[0] is the path too) with `args`,
/// feeding `input` on its stdin; collects stdout and stderr until it exits.
/// A run longer than `limit` is killed (SIGKILL) and reported with exit_code
/// -1. Throws std::system_error when the pipes or the spawn fail.
[[nodiscard]] CliRun run_program(const std::string& program, const std::vector<std::string>& args,
                                 const std::string& input = {},
                                 std::chrono::milliseconds limit = kCliRunLimit);

}  // namespace nethttp::testing
