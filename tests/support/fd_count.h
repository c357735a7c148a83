// Leak checks for fixture teardown: open file descriptors and threads of
// this process, read from /proc (Linux).
#pragma once

#include <map>
#include <string>

namespace nethttp::testing {

/// Open file descriptors of this process (entries of /proc/self/fd, not
/// counting the one used to list them); -1 when /proc is unavailable.
/// Compare with a count taken in SetUp().
[[nodiscard]] int count_open_fds();

/// The open file descriptors of this process and what each refers to
/// ("socket:[123]", a path), without the one used to list them.
using FdSnapshot = std::map<int, std::string>;
[[nodiscard]] FdSnapshot open_fds();

/// The entries of `now` that `before` did not have (by number and target):
/// descriptors opened since and still open. Empty when nothing leaked.
[[nodiscard]] FdSnapshot opened_since(const FdSnapshot& before, const FdSnapshot& now);

/// "5 -> socket:[123], 7 -> pipe:[9]".
[[nodiscard]] std::string describe(const FdSnapshot& fds);

/// Threads of this process (entries of /proc/self/task); -1 when /proc is
/// unavailable. TSan starts a helper thread when the first thread is
/// created: take the baseline after some thread has run.
[[nodiscard]] int count_threads();

}  // namespace nethttp::testing
