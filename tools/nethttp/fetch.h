// `nethttp fetch`: fetch URLs through one shared Client (cli.md).
#pragma once

#include <span>

namespace nethttp::cli {

/// Runs `nethttp fetch` with the arguments after "fetch". Returns the exit
/// status: 0 when every request got a response, 1 when one failed, 2 for
/// bad usage. Prints --help when asked.
[[nodiscard]] int run_fetch(std::span<const char* const> args);

}  // namespace nethttp::cli
