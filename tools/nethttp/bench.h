// `nethttp bench`: a load generator in the spirit of hey (cli.md).
#pragma once

#include <span>

namespace nethttp::cli {

/// Runs `nethttp bench` with the arguments after "bench". Returns the exit
/// status: 0 when every request got its response and body, 1 when any
/// failed, 2 for bad usage. Prints --help when asked.
[[nodiscard]] int run_bench(std::span<const char* const> args);

}  // namespace nethttp::cli
