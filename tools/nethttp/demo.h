// `nethttp demo`: the body-handling experiment against an in-process server (cli.md).
#pragma once

#include <span>

namespace nethttp::cli {

/// Runs `nethttp demo` with the arguments after "demo". Returns the exit
/// status: 0 when every request got its response and body, 1 when any
/// failed (or the server could not start), 2 for bad usage. Prints --help
/// when asked.
[[nodiscard]] int run_demo(std::span<const char* const> args);

}  // namespace nethttp::cli
