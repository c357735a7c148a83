// Child processes for the servers the integration tests run (nginx,
// tinyproxy, gunicorn) and for openssl: started and ended by the test
// itself, never outliving it, plus the scratch directories they run in and
// the few helpers their harnesses share (where the program is, writing their
// configuration, reading their output).
//
// ChildProcess::spawn() forks and execs one program with a fixed environment,
// stdin from /dev/null and stdout+stderr to a file, every other descriptor
// closed (one listening socket may be handed over as fd 3). The child gets
// PR_SET_PDEATHSIG(SIGKILL): when the thread that called spawn() dies (a
// crashed test), the kernel kills it. stop() (and the destructor) sends the
// stop signal, waits a bounded time, then SIGKILL, and reaps it.
//
// Not thread-safe: use one ChildProcess from one thread.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace nethttp::testing {

/// How ChildProcess::spawn() starts a program.
struct ChildSpec {
  /// Names the child in messages ("nginx").
  std::string name = "child";
  /// The program (an absolute path: no PATH search) and its arguments.
  std::vector<std::string> argv;
  /// The whole environment, "NAME=value" each.
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  /// Where stdout and stderr go (created or truncated, mode 0600).
  std::string output_path;
  /// A descriptor of this process the child gets as its fd 3 (e.g. a
  /// listening socket), or -1. It stays open here: the caller closes it.
  int pass_fd = -1;
  /// The child leads a process group of its own, and stop() ends whatever is
  /// left in it once the child is reaped (servers that fork workers).
  bool own_process_group = false;
  /// What stop() sends first, and how long it waits before SIGKILL.
  int stop_signal = SIGTERM;
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(5);
};

/// One child process; see the top of this file.
class ChildProcess {
 public:
  ChildProcess() = default;
  /// stop().
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&&) = delete;
  ChildProcess& operator=(ChildProcess&&) = delete;

  /// Starts `spec`. A failing execve shows as exit status 127 and a line in
  /// the output file. Fails (and nothing runs) when a child is running
  /// already, or the output file, /dev/null or fork fail.
  [[nodiscard]] ::testing::AssertionResult spawn(ChildSpec spec);

  /// The child is alive: spawned, not stopped, and not exited on its own (if
  /// it has, this reaps it and exit_description() says how it ended).
  [[nodiscard]] bool running();
  /// The child's process id while running, else -1.
  [[nodiscard]] pid_t pid() const { return pid_; }

  /// What wait_until_ready() saw.
  enum class Ready { ready, exited, timed_out };
  /// A server child starting: calls `probe(time left)` every `interval`
  /// until it holds (ready), the child exits, or `deadline` passes (then
  /// it stops the child: timed_out leaves nothing running).
  [[nodiscard]] Ready wait_until_ready(std::chrono::steady_clock::time_point deadline,
                                       std::chrono::milliseconds interval,
                                       const std::function<bool(std::chrono::milliseconds left)>& probe);
  /// How the child ended ("exited with status 1") once running() found it
  /// gone; "" until then (stop() leaves it alone, spawn() clears it).
  [[nodiscard]] const std::string& exit_description() const { return exit_description_; }

  /// The stop signal, up to the stop timeout for the child to exit, then
  /// SIGKILL; reaps it (and with own_process_group, SIGKILLs what is left of
  /// its group). Safe to call again; a no-op when nothing runs.
  void stop();

 private:
  ChildSpec spec_;
  pid_t pid_ = -1;
  std::string exit_description_;
};

/// A port that was free on 127.0.0.1 a moment ago (bound to port 0 and
/// released): another program may take it before the caller binds it.
/// nullopt and *error when that fails.
[[nodiscard]] std::optional<std::uint16_t> pick_free_port(std::string* error);

/// A listening TCP socket on 127.0.0.1 on a port the kernel chose
/// (close-on-exec), and that port in *port: no window in which another
/// program could take it. -1 and *error when that fails; the caller closes it.
[[nodiscard]] int listen_on_free_port(std::uint16_t* port, std::string* error);

/// A fresh directory `stem` + 6 random characters (mkdtemp), e.g.
/// "/tmp/nethttp-nginx-" → "/tmp/nethttp-nginx-Ab3dEf". First removes those of
/// test programs that died before cleaning up: same stem, older than ten
/// minutes (a starting server's is fresh), and whose `pid_file` inside names
/// no live process. "" and *error when mkdtemp fails.
[[nodiscard]] std::string make_scratch_dir(std::string_view stem, std::string_view pid_file,
                                           std::string* error);
/// Removes `dir` with everything in it, only if make_scratch_dir(stem) could
/// have made it (so a cleared or foreign path is never removed).
void remove_scratch_dir(const std::string& dir, std::string_view stem);

/// Where a program the tests run is: $`variable` when set and not empty,
/// else `fallback`.
[[nodiscard]] std::string program_path(const char* variable, const char* fallback);

/// "what: strerror(error)".
[[nodiscard]] std::string errno_text(std::string_view what, int error = errno);
/// Creates or truncates the file at `path` and writes `content`; false and
/// *error ("cannot write PATH") when that fails.
[[nodiscard]] bool write_file(const std::filesystem::path& path, std::string_view content,
                              std::string* error);
/// The contents of the file at `path`, "" when it cannot be read.
[[nodiscard]] std::string file_contents(const std::string& path);
/// The last `max` bytes of `s`, marked when cut.
[[nodiscard]] std::string last_bytes(const std::string& s, std::size_t max);

}  // namespace nethttp::testing
