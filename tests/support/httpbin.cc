#include "support/httpbin.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <utility>

#include "support/nginx.h"  // RawSocket

namespace nethttp::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kDirStem = "/tmp/nethttp-httpbin-";
/// gunicorn imports Flask and httpbin before it answers: about a second on
/// an idle machine, many more on a loaded one.
constexpr std::chrono::seconds kStartTimeout{20};
/// Longer than gunicorn's --graceful-timeout (1 s) plus its own exit.
constexpr std::chrono::seconds kStopTimeout{5};
/// A readiness probe waits this long for its answer before the next one
/// checks that gunicorn is still alive.
constexpr std::chrono::milliseconds kProbeTimeout{1000};
constexpr std::chrono::milliseconds kProbeInterval{20};
/// Threads of the one worker: each request in progress holds one, and the
/// slow endpoints (/delay, /drip) hold theirs for seconds.
constexpr int kThreads = 16;

/// What gunicorn's output says about a missing Python module, if anything.
std::optional<std::string> missing_module(const std::string& output) {
  constexpr std::string_view kMarker = "No module named ";
  const std::size_t at = output.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t end = output.find('\n', at);
  return output.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace

HttpbinServer::~HttpbinServer() {
  stop();
}

std::string HttpbinServer::binary_path() {
  return program_path("NETHTTP_GUNICORN", "/usr/bin/gunicorn");
}

std::string HttpbinServer::authority() const {
  return host() + ":" + std::to_string(port_);
}

std::string HttpbinServer::url(std::string_view path) const {
  std::string url = "http://" + authority();
  url.append(path);
  return url;
}

::testing::AssertionResult HttpbinServer::start() {
  if (!dir_.empty()) return ::testing::AssertionFailure() << "HttpbinServer::start() called twice";
  const std::string binary = binary_path();
  if (::access(binary.c_str(), X_OK) != 0) {
    return ::testing::AssertionFailure()
           << "gunicorn is not installed (" << errno_text(binary)
           << "). Run scripts/test.sh, which installs the test packages (Debian's `gunicorn` and "
              "`python3-httpbin`), or set NETHTTP_GUNICORN to a gunicorn that can import httpbin.";
  }
  std::string error;
  dir_ = make_scratch_dir(kDirStem, "gunicorn.pid", &error);
  if (dir_.empty()) return ::testing::AssertionFailure() << error;
  ::testing::AssertionResult started = start_in_dir(binary);
  if (!started) remove_dir();  // a failed start leaves nothing behind
  return started;
}

::testing::AssertionResult HttpbinServer::start_in_dir(const std::string& binary) {
  std::string error;
  const int listener = listen_on_free_port(&port_, &error);
  if (listener < 0) return ::testing::AssertionFailure() << "no listening socket on 127.0.0.1: " << error;
  last_probe_error_.clear();

  ChildSpec spec;
  spec.name = "gunicorn";
  spec.argv = {binary,
               "--bind",
               "fd://3",
               "--worker-class",
               "gthread",
               "--workers",
               "1",
               "--threads",
               std::to_string(kThreads),
               "--keep-alive",
               "30",
               "--graceful-timeout",
               "1",
               "--chdir",
               dir_,
               "--pid",
               dir_ + "/gunicorn.pid",
               "--worker-tmp-dir",
               dir_,
               "--access-logfile",
               dir_ + "/access.log",
               "httpbin:app"};
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
              "PYTHONUNBUFFERED=1"};
  spec.output_path = dir_ + "/gunicorn.log";
  spec.pass_fd = listener;
  spec.own_process_group = true;  // the worker goes with it
  spec.stop_signal = SIGINT;      // quick shutdown; SIGTERM waits for requests in progress
  spec.stop_timeout = kStopTimeout;
  ::testing::AssertionResult spawned = gunicorn_.spawn(std::move(spec));
  // gunicorn has its own copy now. Closing this one means a gunicorn that
  // dies takes the listener with it: probes then fail at once, not by timeout.
  ::close(listener);
  if (!spawned) return spawned;

  const ChildProcess::Ready waited = gunicorn_.wait_until_ready(
      Clock::now() + kStartTimeout, kProbeInterval,
      [this](std::chrono::milliseconds left) { return probe(std::min(left, kProbeTimeout)); });
  if (waited == ChildProcess::Ready::ready) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  if (waited == ChildProcess::Ready::exited) {
    failure << "gunicorn " << gunicorn_.exit_description() << " while starting";
  } else {
    failure << "httpbin did not answer GET /get on " << authority() << " within " << kStartTimeout.count()
            << " s";
  }
  failure << " (" << binary << ", directory " << dir_ << ")\n";
  if (const std::optional<std::string> missing = missing_module(log())) {
    failure << "gunicorn's Python cannot import what httpbin needs (" << *missing
            << "). Run scripts/test.sh, which installs the test packages (Debian's `python3-httpbin` "
               "and `gunicorn`).\n";
  }
  return failure << diagnostics();
}

bool HttpbinServer::probe(std::chrono::milliseconds timeout) {
  RawSocket socket = RawSocket::connect_tcp(port_);
  if (!socket.ok() ||
      !socket.send_all("GET /get HTTP/1.1\r\nHost: " + authority() + "\r\nConnection: close\r\n\r\n")) {
    last_probe_error_ = socket.error();
    return false;
  }
  const std::optional<RawResponse> response = socket.read_response(false, timeout);
  if (!response) {
    last_probe_error_ = "GET /get: " + socket.error();
    return false;
  }
  if (response->status != 200) {
    last_probe_error_ = "GET /get answered " + response->status_line;
    return false;
  }
  return true;
}

bool HttpbinServer::running() {
  return gunicorn_.running();
}

std::string HttpbinServer::log() const {
  return dir_.empty() ? "" : file_contents(dir_ + "/gunicorn.log");
}

std::string HttpbinServer::access_log() const {
  return dir_.empty() ? "" : file_contents(dir_ + "/access.log");
}

std::string HttpbinServer::diagnostics() const {
  std::ostringstream out;
  if (!gunicorn_.exit_description().empty()) out << "gunicorn " << gunicorn_.exit_description() << "\n";
  if (!last_probe_error_.empty()) out << "last readiness probe: " << last_probe_error_ << "\n";
  const std::string output = log();
  out << "gunicorn's output (" << dir_ << "/gunicorn.log):\n"
      << (output.empty() ? "(empty)\n" : last_bytes(output, 8000));
  return out.str();
}

void HttpbinServer::remove_dir() {
  remove_scratch_dir(dir_, kDirStem);  // only ever what start() made
  dir_.clear();
}

void HttpbinServer::stop() {
  gunicorn_.stop();
  remove_dir();
}

}  // namespace nethttp::testing
