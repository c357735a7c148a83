#include "support/tinyproxy.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <system_error>
#include <utility>

#include "support/nginx.h"  // RawSocket

namespace nethttp::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kDirStem = "/tmp/nethttp-tinyproxy-";
constexpr int kPortAttempts = 5;
constexpr std::chrono::seconds kStartTimeout{10};
constexpr std::chrono::seconds kStopTimeout{5};
constexpr std::chrono::milliseconds kProbeTimeout{1000};
constexpr std::chrono::milliseconds kProbeInterval{10};
/// The readiness probe: tinyproxy answers it itself (its StatHost).
constexpr std::string_view kProbeRequestLine = "GET http://tinyproxy.stats/ HTTP/1.0";
/// What tinyproxy says on stderr when it cannot bind its port.
constexpr std::string_view kListenFailed = "Could not create listening sockets";
/// How tinyproxy logs a request line: "CONNECT   <date> [pid]: Request (file descriptor 5): LINE".
constexpr std::string_view kRequestMarker = ": Request (file descriptor ";

std::string base64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16U) |
                       (static_cast<unsigned char>(in[i + 1]) << 8U) | static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += kAlphabet[n & 63U];
  }
  if (i + 1 == in.size()) {
    const unsigned n = static_cast<unsigned char>(in[i]) << 16U;
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned n =
        (static_cast<unsigned char>(in[i]) << 16U) | (static_cast<unsigned char>(in[i + 1]) << 8U);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += '=';
  }
  return out;
}

/// What tinyproxy 1.11's configuration parser takes as a BasicAuth user or
/// password (anything else is a "Syntax error").
bool config_word(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_';
  });
}

}  // namespace

TinyproxyServer::TinyproxyServer(Options options) : options_(std::move(options)) {}

TinyproxyServer::~TinyproxyServer() {
  stop();
}

std::string TinyproxyServer::binary_path() {
  return program_path("NETHTTP_TINYPROXY", "/usr/bin/tinyproxy");
}

std::string TinyproxyServer::authority() const {
  return host() + ":" + std::to_string(port_);
}

std::string TinyproxyServer::url() const {
  return "http://" + authority();
}

std::string TinyproxyServer::url_with_credentials() const {
  if (!options_.basic_auth) return url();
  // config_word() characters are all unreserved in a URL's userinfo.
  return "http://" + options_.basic_auth->user + ":" + options_.basic_auth->password + "@" + authority();
}

std::string TinyproxyServer::proxy_authorization() const {
  if (!options_.basic_auth) return {};
  return "Basic " + base64(options_.basic_auth->user + ":" + options_.basic_auth->password);
}

::testing::AssertionResult TinyproxyServer::start() {
  if (!dir_.empty()) return ::testing::AssertionFailure() << "TinyproxyServer::start() called twice";
  const std::string binary = binary_path();
  if (::access(binary.c_str(), X_OK) != 0) {
    return ::testing::AssertionFailure()
           << "tinyproxy is not installed (" << errno_text(binary)
           << "). Run scripts/test.sh, which installs the test packages (Debian's `tinyproxy`), "
              "or set NETHTTP_TINYPROXY to a tinyproxy binary.";
  }
  if (options_.basic_auth &&
      (!config_word(options_.basic_auth->user) || !config_word(options_.basic_auth->password))) {
    return ::testing::AssertionFailure()
           << "TinyproxyOptions::basic_auth: tinyproxy 1.11 takes only letters, digits, '-', '.' and '_' "
              "in a BasicAuth user or password (got \""
           << options_.basic_auth->user << "\", \"" << options_.basic_auth->password << "\")";
  }
  std::string error;
  dir_ = make_scratch_dir(kDirStem, "tinyproxy.pid", &error);
  if (dir_.empty()) return ::testing::AssertionFailure() << error;
  ::testing::AssertionResult started = start_in_dir(binary);
  if (!started) remove_dir();  // a failed start leaves nothing behind
  return started;
}

::testing::AssertionResult TinyproxyServer::start_in_dir(const std::string& binary) {
  for (int attempt = 1;; ++attempt) {
    std::string error;
    const std::optional<std::uint16_t> port = pick_free_port(&error);
    if (!port) return ::testing::AssertionFailure() << "no free port on 127.0.0.1: " << error;
    port_ = *port;
    last_probe_error_.clear();
    std::error_code ignored;
    for (const char* stale : {"/tinyproxy.log", "/tinyproxy.out", "/tinyproxy.pid"}) {
      fs::remove(dir_ + stale, ignored);
    }
    if (!write_file(dir_ + "/tinyproxy.conf", config(), &error)) {
      return ::testing::AssertionFailure() << error;
    }
    ChildSpec spec;
    spec.name = "tinyproxy";
    spec.argv = {binary, "-d", "-c", dir_ + "/tinyproxy.conf"};
    spec.output_path = dir_ + "/tinyproxy.out";
    spec.stop_signal = SIGTERM;
    spec.stop_timeout = kStopTimeout;
    if (::testing::AssertionResult spawned = tinyproxy_.spawn(std::move(spec)); !spawned) return spawned;
    const ChildProcess::Ready waited = tinyproxy_.wait_until_ready(
        Clock::now() + kStartTimeout, kProbeInterval,
        [this](std::chrono::milliseconds left) { return probe(std::min(left, kProbeTimeout)); });
    if (waited == ChildProcess::Ready::ready) return ::testing::AssertionSuccess();

    if (waited == ChildProcess::Ready::exited && attempt < kPortAttempts &&
        output().find(kListenFailed) != std::string::npos) {
      continue;  // the port was taken between pick_free_port() and tinyproxy's bind()
    }
    ::testing::AssertionResult failure = ::testing::AssertionFailure();
    if (waited == ChildProcess::Ready::exited) {
      failure << "tinyproxy " << tinyproxy_.exit_description() << " while starting";
    } else {
      failure << "tinyproxy did not answer on " << authority() << " within " << kStartTimeout.count() << " s";
    }
    return failure << " (" << binary << ", directory " << dir_ << ", attempt " << attempt << ")\n"
                   << diagnostics() << "tinyproxy.conf:\n"
                   << file_contents(dir_ + "/tinyproxy.conf");
  }
}

std::string TinyproxyServer::config() const {
  const std::string& d = dir_;
  std::string c = "# Written by nethttp::testing::TinyproxyServer (tests/support/tinyproxy.cc).\n";
  c += "Port " + std::to_string(port_) + "\n";
  c += "Listen 127.0.0.1\n";
  c += "Timeout " + std::to_string(options_.idle_timeout.count()) + "\n";
  c += "LogFile \"" + d + "/tinyproxy.log\"\n";
  c += "LogLevel Info\n";
  c += "PidFile \"" + d + "/tinyproxy.pid\"\n";
  c += "MaxClients 100\n";
  c += "Allow 127.0.0.1\n";
  // No ConnectPort line: CONNECT may reach any port.
  if (options_.via_header) {
    c += "ViaProxyName \"tinyproxy\"\n";
  } else {
    c += "DisableViaHeader Yes\n";
  }
  if (options_.basic_auth)
    c += "BasicAuth " + options_.basic_auth->user + " " + options_.basic_auth->password + "\n";
  if (!options_.extra_config.empty()) c += options_.extra_config + "\n";
  return c;
}

bool TinyproxyServer::probe(std::chrono::milliseconds timeout) {
  RawSocket socket = RawSocket::connect_tcp(port_);
  if (!socket.ok() ||
      !socket.send_all(std::string(kProbeRequestLine) + "\r\nHost: tinyproxy.stats\r\n\r\n")) {
    last_probe_error_ = socket.error();
    return false;
  }
  const std::optional<RawResponse> response = socket.read_response(false, timeout);
  if (!response) {
    last_probe_error_ = "GET http://tinyproxy.stats/: " + socket.error();
    return false;
  }
  return true;  // any answer (a 407 with basic_auth) shows tinyproxy serving
}

bool TinyproxyServer::running() {
  return tinyproxy_.running();
}

std::string TinyproxyServer::log() const {
  return dir_.empty() ? "" : file_contents(dir_ + "/tinyproxy.log");
}

std::string TinyproxyServer::output() const {
  return dir_.empty() ? "" : file_contents(dir_ + "/tinyproxy.out");
}

std::vector<std::string> TinyproxyServer::requests() const {
  std::vector<std::string> lines;
  std::istringstream in(log());
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t at = line.find(kRequestMarker);
    if (at == std::string::npos) continue;
    const std::size_t colon = line.find("): ", at + kRequestMarker.size());
    if (colon == std::string::npos) continue;
    std::string request = line.substr(colon + 3);
    if (request != kProbeRequestLine) lines.push_back(std::move(request));
  }
  return lines;
}

std::string TinyproxyServer::diagnostics() const {
  std::ostringstream out;
  if (!tinyproxy_.exit_description().empty()) out << "tinyproxy " << tinyproxy_.exit_description() << "\n";
  if (!last_probe_error_.empty()) out << "last readiness probe: " << last_probe_error_ << "\n";
  const std::string output_text = output();
  if (!output_text.empty()) out << "tinyproxy's output:\n" << last_bytes(output_text, 4000) << "\n";
  const std::string log_text = log();
  out << "log (" << dir_ << "/tinyproxy.log):\n"
      << (log_text.empty() ? "(empty)\n" : last_bytes(log_text, 8000));
  return out.str();
}

void TinyproxyServer::remove_dir() {
  remove_scratch_dir(dir_, kDirStem);
  dir_.clear();
}

void TinyproxyServer::stop() {
  tinyproxy_.stop();
  remove_dir();
}

}  // namespace nethttp::testing
