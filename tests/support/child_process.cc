#include "support/child_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <thread>
#include <utility>

#include "support/socket_io.h"

namespace nethttp::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// Scratch directories younger than this may belong to a server that is
/// still starting (its pid file not written yet): never removed as stale.
constexpr std::chrono::minutes kStaleAge{10};
/// How often stop() looks whether the child has exited.
constexpr std::chrono::milliseconds kReapInterval{5};
/// In the child, descriptors to hand over are first moved to this number or
/// above, clear of the targets 0-3 (see spawn()).
constexpr int kFirstSpareFd = 10;

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

/// Removes the scratch directories of `stem` left by test programs that died
/// before stop(): older than kStaleAge and without a live process named in
/// their `pid_file` (PR_SET_PDEATHSIG already killed it).
void remove_stale_scratch_dirs(std::string_view stem, std::string_view pid_file) {
  const fs::path stem_path(stem);
  const std::string name_start = stem_path.filename().string();
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(stem_path.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(name_start, 0) != 0 || !entry.is_directory(ec)) continue;
    const auto modified = entry.last_write_time(ec);
    if (ec || fs::file_time_type::clock::now() - modified < kStaleAge) continue;
    const std::string pid_text = file_contents((entry.path() / pid_file).string());
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;
    fs::remove_all(entry.path(), ec);
  }
}

}  // namespace

// --- ChildProcess ------------------------------------------------------------

ChildProcess::~ChildProcess() {
  stop();
}

::testing::AssertionResult ChildProcess::spawn(ChildSpec spec) {
  if (pid_ > 0) {
    return ::testing::AssertionFailure() << spec.name << " is already running (pid " << pid_ << ")";
  }
  if (spec.argv.empty()) return ::testing::AssertionFailure() << spec.name << ": no program to run";
  // Everything the child needs is prepared here: after fork() it may only
  // make async-signal-safe calls.
  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (std::string& arg : spec.argv) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec.env.size() + 1);
  for (std::string& variable : spec.env) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const std::string exec_failed = spec.name + ": execve " + spec.argv.front() + " failed\n";

  const int output = ::open(spec.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (output < 0) return ::testing::AssertionFailure() << errno_text("open " + spec.output_path);
  const int input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (input < 0) {
    ::close(output);
    return ::testing::AssertionFailure() << errno_text("open /dev/null");
  }

  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls from here to execve.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the test dies: the child dies too
    if (::getppid() != parent) ::_exit(127);
    if (spec.own_process_group) ::setpgid(0, 0);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Move the descriptors to hand over above 0-3 first, so that no dup2()
    // below overwrites one still needed, and none is a no-op that would
    // leave its close-on-exec flag set. The copies lack that flag; the
    // originals are closed below.
    const int spare_input = ::fcntl(input, F_DUPFD, kFirstSpareFd);
    const int spare_output = ::fcntl(output, F_DUPFD, kFirstSpareFd);
    const int spare_pass = spec.pass_fd >= 0 ? ::fcntl(spec.pass_fd, F_DUPFD, kFirstSpareFd) : -1;
    if (spare_input < 0 || spare_output < 0 || (spec.pass_fd >= 0 && spare_pass < 0)) ::_exit(127);
    if (::dup2(spare_input, STDIN_FILENO) < 0 || ::dup2(spare_output, STDOUT_FILENO) < 0 ||
        ::dup2(spare_output, STDERR_FILENO) < 0 || (spare_pass >= 0 && ::dup2(spare_pass, 3) < 0)) {
      ::_exit(127);
    }
    const int first_to_close = spare_pass >= 0 ? 4 : 3;
    if (::close_range(static_cast<unsigned>(first_to_close), ~0U, 0) != 0) {
      for (int fd = first_to_close; fd < 1024; ++fd) ::close(fd);
    }
    ::execve(argv[0], argv.data(), envp.data());
    [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  const int fork_error = errno;
  ::close(output);
  ::close(input);
  if (child < 0) return ::testing::AssertionFailure() << errno_text("fork", fork_error);
  spec_ = std::move(spec);
  pid_ = child;
  exit_description_.clear();
  return ::testing::AssertionSuccess();
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t reaped;
  do {
    reaped = ::waitpid(pid_, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return true;
  exit_description_ =
      reaped == pid_ ? describe_wait_status(status) : "cannot be waited for (" + errno_text("waitpid") + ")";
  if (spec_.own_process_group) ::kill(-pid_, SIGKILL);  // what it left behind; ESRCH when nothing
  pid_ = -1;
  return false;
}

ChildProcess::Ready ChildProcess::wait_until_ready(
    Clock::time_point deadline, std::chrono::milliseconds interval,
    const std::function<bool(std::chrono::milliseconds)>& probe) {
  for (;;) {
    if (!running()) return Ready::exited;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      stop();  // a server that never answered is of no use to its caller
      return Ready::timed_out;
    }
    if (probe(left)) return Ready::ready;
    std::this_thread::sleep_for(interval);
  }
}

void ChildProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, spec_.stop_signal);
  const Clock::time_point deadline = Clock::now() + spec_.stop_timeout;
  for (;;) {
    int status = 0;
    const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_ || (reaped < 0 && errno != EINTR)) break;
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(kReapInterval);
  }
  // The group keeps its id while it has members, so this reaches only them.
  if (spec_.own_process_group) ::kill(-pid_, SIGKILL);
  pid_ = -1;
}

// --- Ports -------------------------------------------------------------------

std::optional<std::uint16_t> pick_free_port(std::string* error) {
  std::uint16_t port = 0;
  const int fd = bind_loopback(&port);
  if (fd < 0) {
    *error = errno_text("bind 127.0.0.1:0");
    return std::nullopt;
  }
  ::close(fd);
  return port;
}

int listen_on_free_port(std::uint16_t* port, std::string* error) {
  const int fd = bind_loopback(port);
  if (fd < 0) {
    *error = errno_text("bind 127.0.0.1:0");
    return -1;
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    *error = errno_text("listen on 127.0.0.1:" + std::to_string(*port));
    ::close(fd);
    return -1;
  }
  return fd;
}

// --- Scratch directories and diagnostics -------------------------------------

std::string make_scratch_dir(std::string_view stem, std::string_view pid_file, std::string* error) {
  remove_stale_scratch_dirs(stem, pid_file);
  std::string dir(stem);
  dir += "XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    *error = errno_text("mkdtemp " + dir);
    return {};
  }
  return dir;
}

void remove_scratch_dir(const std::string& dir, std::string_view stem) {
  if (dir.size() > stem.size() && dir.starts_with(stem)) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
}

std::string errno_text(std::string_view what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

std::string program_path(const char* variable, const char* fallback) {
  const char* configured = std::getenv(variable);
  return configured != nullptr && *configured != '\0' ? configured : fallback;
}

bool write_file(const fs::path& path, std::string_view content, std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) *error = "cannot write " + path.string();
  return static_cast<bool>(out);
}

std::string file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string last_bytes(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  return "[...]\n" + s.substr(s.size() - max);
}

}  // namespace nethttp::testing
