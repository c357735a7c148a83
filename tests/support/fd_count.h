// Leak checks for fixture teardown: open file descriptors and threads of
// this process, read from /proc (Linux).
#pragma once

namespace nethttp::testing {

/// Open file descriptors of this process (entries of /proc/self/fd, not
/// counting the one used to list them); -1 when /proc is unavailable.
/// Compare with a count taken in SetUp().
[[nodiscard]] int count_open_fds();

/// Threads of this process (entries of /proc/self/task); -1 when /proc is
/// unavailable. TSan starts a helper thread when the first thread is
/// created: take the baseline after some thread has run.
[[nodiscard]] int count_threads();

}  // namespace nethttp::testing
