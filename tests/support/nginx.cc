#include "support/nginx.h"

#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>

#include "support/socket_io.h"

namespace nethttp::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kPrefixStem = "/tmp/nethttp-nginx-";
constexpr int kPortAttempts = 5;
constexpr std::chrono::seconds kStartTimeout{10};
constexpr std::chrono::seconds kStopTimeout{5};
constexpr std::chrono::milliseconds kProbeInterval{10};
constexpr std::array<int, 5> kRedirectStatuses = {301, 302, 303, 307, 308};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<StubStatus> parse_stub_status(const std::string& body) {
  unsigned long long n[7] = {};
  const int got = std::sscanf(body.c_str(),
                              "Active connections: %llu server accepts handled requests %llu %llu %llu "
                              "Reading: %llu Writing: %llu Waiting: %llu",
                              &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6]);
  if (got != 7) return std::nullopt;
  return StubStatus{n[0], n[1], n[2], n[3], n[4], n[5], n[6]};
}

/// A relative path without "..": stays inside the document root.
bool safe_relative(const fs::path& path) {
  if (path.empty() || path.is_absolute()) return false;
  return std::none_of(path.begin(), path.end(), [](const fs::path& part) { return part == ".."; });
}

/// The server block's directives for the TLS listener on `port`.
std::string tls_config(const NginxTlsOptions& tls, std::uint16_t port) {
  std::string c = "    listen 127.0.0.1:" + std::to_string(port) + " ssl;\n";
  c += "    ssl_certificate " + tls.cert + ";\n";
  c += "    ssl_certificate_key " + tls.key + ";\n";
  c += "    ssl_protocols " + tls.protocols + ";\n";
  if (!tls.ciphers.empty()) c += "    ssl_ciphers " + tls.ciphers + ";\n";
  if (tls.session_resumption) {
    c += "    ssl_session_cache shared:nethttp_tls:1m;\n    ssl_session_timeout 10m;\n"
         "    ssl_session_tickets on;\n";
  } else {
    c += "    ssl_session_cache off;\n    ssl_session_tickets off;\n";
  }
  if (!tls.client_ca.empty()) {
    c += "    ssl_client_certificate " + tls.client_ca + ";\n";
    c += std::string("    ssl_verify_client ") + (tls.require_client_cert ? "on" : "optional") + ";\n";
    c += "    ssl_verify_depth 2;\n";
  }
  return c;
}

}  // namespace

NginxTlsOptions NginxTlsOptions::tls10_only(std::string cert, std::string key) {
  NginxTlsOptions tls;
  tls.cert = std::move(cert);
  tls.key = std::move(key);
  tls.protocols = "TLSv1";
  tls.ciphers = "DEFAULT@SECLEVEL=0";
  return tls;
}

std::string pattern_bytes(std::size_t size) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes(size, '\n');
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t line = i / 64;
    const std::size_t column = i % 64;
    if (column != 63) bytes[i] = kAlphabet[(line + column) % kAlphabet.size()];
  }
  return bytes;
}

std::optional<std::string> RawResponse::field(std::string_view name) const {
  for (const auto& [field_name, value] : fields) {
    if (iequals(field_name, name)) return value;
  }
  return std::nullopt;
}

// --- RawSocket ---------------------------------------------------------------

RawSocket::~RawSocket() {
  close();
}

RawSocket::RawSocket(RawSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)), error_(std::move(other.error_)) {}

RawSocket& RawSocket::operator=(RawSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    error_ = std::move(other.error_);
  }
  return *this;
}

RawSocket RawSocket::connect_tcp(std::uint16_t port) {
  RawSocket socket;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    socket.error_ = errno_text("socket");
    return socket;
  }
  socket.fd_ = fd;
  const sockaddr_in address = loopback_address(port);
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    socket.error_ = errno_text("connect 127.0.0.1:" + std::to_string(port));
    socket.close();
  }
  return socket;
}

RawSocket RawSocket::connect_unix(const std::string& path) {
  RawSocket socket;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    socket.error_ = "Unix socket path too long: " + path;
    return socket;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    socket.error_ = errno_text("socket");
    return socket;
  }
  socket.fd_ = fd;
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    socket.error_ = errno_text("connect unix:" + path);
    socket.close();
  }
  return socket;
}

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawSocket::send_all(std::string_view bytes) {
  if (fd_ < 0) {
    error_ = "send on a closed socket";
    return false;
  }
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = errno_text("send");
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

RawSocket::Fill RawSocket::fill(Clock::time_point deadline) {
  if (fd_ < 0) {
    error_ = "read on a closed socket";
    return Fill::failed;
  }
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      error_ = "timed out waiting for the peer";
      return Fill::failed;
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      error_ = errno_text("poll");
      return Fill::failed;
    }
    if (ready == 0) continue;  // the deadline check above reports it
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return Fill::data;
    }
    if (n == 0) return Fill::eof;
    if (errno == EINTR || errno == EAGAIN) continue;
    if (errno == ECONNRESET) return Fill::eof;
    error_ = errno_text("recv");
    return Fill::failed;
  }
}

std::optional<RawResponse> RawSocket::read_response(bool head_request, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  // Makes buffer_ hold at least `size` bytes.
  const auto need = [&](std::size_t size) {
    while (buffer_.size() < size) {
      const Fill f = fill(deadline);
      if (f == Fill::failed) return false;
      if (f == Fill::eof) {
        error_ = buffer_.empty() ? "connection closed before a response"
                                 : "connection closed in the middle of a response (" +
                                       std::to_string(buffer_.size()) + " bytes received)";
        return false;
      }
    }
    return true;
  };
  // The position of the next CRLF at or after `from`, reading as needed.
  const auto line_end = [&](std::size_t from) -> std::optional<std::size_t> {
    for (;;) {
      const std::size_t at = buffer_.find("\r\n", from);
      if (at != std::string::npos) return at;
      if (!need(buffer_.size() + 1)) return std::nullopt;
    }
  };

  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!need(buffer_.size() + 1)) return std::nullopt;
  }
  RawResponse response;
  {
    std::string_view head(buffer_.data(), head_end);
    std::size_t eol = head.find("\r\n");
    response.status_line = std::string(head.substr(0, eol));
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    const std::string_view line = response.status_line;
    if (line.size() < 12 || line.substr(0, 5) != "HTTP/" ||
        std::from_chars(line.data() + 9, line.data() + 12, response.status).ec != std::errc{}) {
      error_ = "not an HTTP status line: " + response.status_line;
      return std::nullopt;
    }
    while (!head.empty()) {
      eol = head.find("\r\n");
      const std::string_view field = head.substr(0, eol);
      head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
      const std::size_t colon = field.find(':');
      if (colon == std::string_view::npos) {
        error_ = "field line without a colon: " + std::string(field);
        return std::nullopt;
      }
      response.fields.emplace_back(std::string(field.substr(0, colon)),
                                   std::string(trim(field.substr(colon + 1))));
    }
  }
  std::size_t end = head_end + 4;

  const std::optional<std::string> transfer_encoding = response.field("Transfer-Encoding");
  const std::optional<std::string> content_length = response.field("Content-Length");
  if (head_request || response.status / 100 == 1 || response.status == 204 || response.status == 304) {
    // No body.
  } else if (transfer_encoding && transfer_encoding->find("chunked") != std::string::npos) {
    response.chunked = true;
    for (;;) {
      const std::optional<std::size_t> size_end = line_end(end);
      if (!size_end) return std::nullopt;
      std::size_t size = 0;
      const char* first = buffer_.data() + end;
      const auto [stop, ec] = std::from_chars(first, buffer_.data() + *size_end, size, 16);
      if (ec != std::errc{} || stop == first) {
        error_ = "bad chunk size line: " + buffer_.substr(end, *size_end - end);
        return std::nullopt;
      }
      end = *size_end + 2;
      if (size == 0) break;
      if (!need(end + size + 2)) return std::nullopt;
      response.body.append(buffer_, end, size);
      if (buffer_.compare(end + size, 2, "\r\n") != 0) {
        error_ = "chunk data not followed by CRLF";
        return std::nullopt;
      }
      end += size + 2;
    }
    for (;;) {  // trailer fields up to the empty line
      const std::optional<std::size_t> trailer_end = line_end(end);
      if (!trailer_end) return std::nullopt;
      const bool empty = *trailer_end == end;
      end = *trailer_end + 2;
      if (empty) break;
    }
  } else if (content_length) {
    std::size_t length = 0;
    const auto [stop, ec] =
        std::from_chars(content_length->data(), content_length->data() + content_length->size(), length);
    if (ec != std::errc{} || stop != content_length->data() + content_length->size()) {
      error_ = "bad Content-Length: " + *content_length;
      return std::nullopt;
    }
    if (!need(end + length)) return std::nullopt;
    response.body = buffer_.substr(end, length);
    end += length;
  } else {
    for (;;) {  // delimited by the close
      const Fill f = fill(deadline);
      if (f == Fill::failed) return std::nullopt;
      if (f == Fill::eof) break;
    }
    response.body = buffer_.substr(end);
    end = buffer_.size();
  }
  response.raw = buffer_.substr(0, end);
  buffer_.erase(0, end);
  return response;
}

std::optional<std::string> RawSocket::read_until_close(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    const Fill f = fill(deadline);
    if (f == Fill::failed) return std::nullopt;
    if (f == Fill::eof) return std::exchange(buffer_, {});
  }
}

bool RawSocket::wait_for_close(std::chrono::milliseconds timeout) {
  if (buffer_.empty()) {
    const Fill f = fill(Clock::now() + timeout);
    if (f == Fill::eof) return true;
    if (f == Fill::failed) return false;
  }
  error_ = "expected the peer to close, got " + std::to_string(buffer_.size()) +
           " more bytes: " + buffer_.substr(0, 200);
  return false;
}

std::string get_request(std::string_view path, std::string_view fields) {
  std::string request = "GET ";
  request.append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n").append(fields).append("\r\n");
  return request;
}

std::string line_value(std::string_view body, std::string_view name) {
  const std::string lines = "\n" + std::string(body);
  const std::size_t at = lines.find("\n" + std::string(name) + ": ");
  if (at == std::string::npos) return "<none>";
  const std::size_t begin = at + name.size() + 3;
  return lines.substr(begin, lines.find('\n', begin) - begin);
}

// --- NginxServer -------------------------------------------------------------

NginxServer::NginxServer(Options options) : options_(std::move(options)) {}

NginxServer::~NginxServer() {
  stop();
}

std::string NginxServer::binary_path() {
  return program_path("NETHTTP_NGINX", "/usr/sbin/nginx");
}

std::string NginxServer::authority() const {
  return host() + ":" + std::to_string(port_);
}

std::string NginxServer::url(std::string_view path) const {
  std::string url = "http://" + authority();
  url.append(path);
  return url;
}

std::string NginxServer::tls_authority() const {
  return host() + ":" + std::to_string(tls_port_);
}

std::string NginxServer::https_url(std::string_view path) const {
  std::string url = "https://" + tls_authority();
  url.append(path);
  return url;
}

::testing::AssertionResult NginxServer::start() {
  if (!prefix_.empty()) return ::testing::AssertionFailure() << "NginxServer::start() called twice";
  const std::string binary = binary_path();
  if (::access(binary.c_str(), X_OK) != 0) {
    return ::testing::AssertionFailure()
           << "nginx is not installed (" << errno_text(binary)
           << "). Run scripts/test.sh, which installs the test packages (Debian's `nginx`), "
              "or set NETHTTP_NGINX to an nginx binary.";
  }
  std::string error;
  prefix_ = make_scratch_dir(kPrefixStem, "nginx.pid", &error);
  if (prefix_.empty()) return ::testing::AssertionFailure() << error;
  if (options_.unix_socket) unix_socket_path_ = prefix_ + "/nginx.sock";
  ::testing::AssertionResult started = write_prefix();
  if (started) started = start_in_prefix(binary);
  if (!started) remove_prefix();  // a failed start leaves nothing behind
  return started;
}

::testing::AssertionResult NginxServer::start_in_prefix(const std::string& binary) {
  for (int attempt = 1;; ++attempt) {
    std::string error;
    const std::optional<std::uint16_t> port = pick_free_port(&error);
    if (!port) return ::testing::AssertionFailure() << "no free port on 127.0.0.1: " << error;
    port_ = *port;
    tls_port_ = 0;
    while (options_.tls && (tls_port_ == 0 || tls_port_ == port_)) {
      const std::optional<std::uint16_t> tls_port = pick_free_port(&error);
      if (!tls_port) return ::testing::AssertionFailure() << "no free port on 127.0.0.1: " << error;
      tls_port_ = *tls_port;
    }
    own_connections_ = 0;
    own_requests_ = 0;
    last_probe_error_.clear();
    std::error_code ignored;
    for (const char* stale : {"/error.log", "/nginx.stderr", "/nginx.sock", "/nginx.pid"}) {
      fs::remove(prefix_ + stale, ignored);
    }
    if (!write_file(prefix_ + "/nginx.conf", config(), &error)) return ::testing::AssertionFailure() << error;
    if (::testing::AssertionResult spawned = spawn(binary); !spawned) return spawned;
    const ChildProcess::Ready waited = nginx_.wait_until_ready(
        Clock::now() + kStartTimeout, kProbeInterval, [this](std::chrono::milliseconds left) {
          return query_stub_status(left, &last_probe_error_).has_value();
        });
    if (waited == ChildProcess::Ready::ready) return ::testing::AssertionSuccess();

    const std::string why = diagnostics();
    if (waited == ChildProcess::Ready::exited && attempt < kPortAttempts &&
        why.find("Address already in use") != std::string::npos) {
      continue;  // a port was taken between pick_free_port() and nginx's bind()
    }
    ::testing::AssertionResult failure = ::testing::AssertionFailure();
    if (waited == ChildProcess::Ready::exited) {
      failure << "nginx " << nginx_.exit_description() << " while starting";
    } else {
      failure << "nginx did not answer GET /stub_status on " << authority() << " within "
              << kStartTimeout.count() << " s";
    }
    return failure << " (" << binary << ", prefix " << prefix_ << ", attempt " << attempt << ")\n"
                   << why << "nginx.conf:\n"
                   << file_contents(prefix_ + "/nginx.conf");
  }
}

::testing::AssertionResult NginxServer::write_prefix() {
  const fs::path root = fs::path(prefix_) / "html";
  std::error_code ec;
  fs::create_directories(root / "bytes", ec);
  if (!ec) fs::create_directories(fs::path(prefix_) / "tmp", ec);
  if (ec) {
    return ::testing::AssertionFailure()
           << "cannot create directories in " << prefix_ << ": " << ec.message();
  }
  std::string error;
  if (!write_file(root / "small", kSmallBody, &error)) return ::testing::AssertionFailure() << error;
  for (const std::size_t size : options_.file_sizes) {
    if (!write_file(root / "bytes" / std::to_string(size), pattern_bytes(size), &error)) {
      return ::testing::AssertionFailure() << error;
    }
  }
  for (const auto& [relative, content] : options_.files) {
    const fs::path path(relative);
    if (!safe_relative(path)) {
      return ::testing::AssertionFailure()
             << "NginxOptions::files: not a relative path inside the root: " << relative;
    }
    fs::create_directories((root / path).parent_path(), ec);
    if (ec) return ::testing::AssertionFailure() << "cannot create the directory of " << relative;
    if (!write_file(root / path, content, &error)) return ::testing::AssertionFailure() << error;
  }
  return ::testing::AssertionSuccess();
}

std::string NginxServer::config() const {
  const std::string& p = prefix_;
  std::string c = "# Written by nethttp::testing::NginxServer (tests/support/nginx.cc).\n";
  c += "daemon off;\nmaster_process off;\nworker_processes 1;\n";
  if (::geteuid() == 0) {
    // Without it nginx run by root chowns its temp paths to "nobody"; with
    // master_process off it never switches user, so name the real one.
    const passwd* user = ::getpwuid(0);
    c += "user " + std::string(user != nullptr ? user->pw_name : "root") + ";\n";
  }
  c += "pid " + p + "/nginx.pid;\n";
  c += "lock_file " + p + "/nginx.lock;\n";
  c += "error_log " + p + "/error.log info;\n";
  c += "events {\n  worker_connections 1024;\n}\n";
  c += "http {\n";
  c += "  types {\n    text/plain txt;\n    text/html html;\n  }\n";
  c += "  default_type application/octet-stream;\n";
  c += "  log_format nethttp '$connection $connection_requests \"$request\" $status $body_bytes_sent';\n";
  c += "  access_log " + p + "/access.log nethttp;\n";
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    c += "  " + std::string(temp) + "_temp_path " + p + "/tmp/" + temp + ";\n";
  }
  c += "  keepalive_requests " + std::to_string(options_.keepalive_requests) + ";\n";
  c += "  keepalive_timeout " + std::to_string(options_.keepalive_timeout.count()) + "ms;\n";
  c += "  server {\n";
  c += "    listen 127.0.0.1:" + std::to_string(port_) + ";\n";
  if (!unix_socket_path_.empty()) c += "    listen unix:" + unix_socket_path_ + ";\n";
  if (options_.tls) c += tls_config(*options_.tls, tls_port_);
  c += "    server_name localhost;\n";
  c += "    root " + p + "/html;\n";
  c += "    location = /stub_status {\n      stub_status;\n    }\n";
  c += "    location = /small {\n      default_type text/plain;\n    }\n";
  c += "    location /chunked/ {\n      alias " + p +
       "/html/bytes/;\n      ssi on;\n      ssi_types *;\n    }\n";
  c += "    location /gzip/ {\n      alias " + p +
       "/html/bytes/;\n      gzip on;\n      gzip_types *;\n      gzip_min_length 0;\n    }\n";
  for (const int status : kReturnStatuses) {
    c += "    location = /status/" + std::to_string(status) + " {\n      return " + std::to_string(status) +
         ";\n    }\n";
  }
  c += "    location = /redirect {\n      return 302 /small;\n    }\n";
  for (const int status : kRedirectStatuses) {
    c += "    location = /redirect/" + std::to_string(status) + " {\n      return " + std::to_string(status) +
         " /small;\n    }\n";
  }
  c += "    location = /request {\n      default_type text/plain;\n";
  c += "      return 200 \"method: $request_method\\nuri: $request_uri\\nprotocol: $server_protocol\\n"
       "host: $http_host\\ncontent-length: $http_content_length\\n"
       "transfer-encoding: $http_transfer_encoding\\ncontent-type: $http_content_type\\n"
       "connection-header: $http_connection\\nconnection: $connection\\n"
       "connection-requests: $connection_requests\\n";
  if (options_.tls) {
    // Only with TLS: tests match the whole body of the plain one.
    c += "tls-protocol: $ssl_protocol\\ntls-cipher: $ssl_cipher\\ntls-session-reused: $ssl_session_reused\\n"
         "tls-server-name: $ssl_server_name\\ntls-alpn: $ssl_alpn_protocol\\n"
         "tls-client-verify: $ssl_client_verify\\ntls-client-subject: $ssl_client_s_dn\\n";
  }
  c += "\";\n    }\n";
  c += "    location = /close {\n      return 444;\n    }\n";
  if (!options_.extra_locations.empty()) c += options_.extra_locations + "\n";
  c += "  }\n}\n";
  return c;
}

::testing::AssertionResult NginxServer::spawn(const std::string& binary) {
  ChildSpec spec;
  spec.name = "nginx";
  spec.argv = {binary, "-p", prefix_ + "/", "-c", prefix_ + "/nginx.conf", "-e", prefix_ + "/error.log"};
  spec.output_path = prefix_ + "/nginx.stderr";
  spec.stop_signal = SIGTERM;  // fast shutdown; SIGQUIT would wait for open connections
  spec.stop_timeout = kStopTimeout;
  return nginx_.spawn(std::move(spec));
}

std::optional<StubStatus> NginxServer::query_stub_status(std::chrono::milliseconds timeout,
                                                         std::string* error) {
  RawSocket socket = RawSocket::connect_tcp(port_);
  if (!socket.ok()) {
    *error = socket.error();
    return std::nullopt;
  }
  ++own_connections_;
  if (!socket.send_all("GET /stub_status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")) {
    *error = socket.error();
    return std::nullopt;
  }
  ++own_requests_;
  const std::optional<RawResponse> response = socket.read_response(false, timeout);
  if (!response) {
    *error = "GET /stub_status: " + socket.error();
    return std::nullopt;
  }
  if (response->status != 200) {
    *error = "GET /stub_status answered " + response->status_line;
    return std::nullopt;
  }
  std::optional<StubStatus> status = parse_stub_status(response->body);
  if (!status) *error = "cannot read the stub_status body: " + response->body;
  return status;
}

bool NginxServer::running() {
  return nginx_.running();
}

std::optional<StubStatus> NginxServer::stub_status() {
  if (!running()) {
    ADD_FAILURE() << "nginx is not running" << (prefix_.empty() ? "" : "\n" + diagnostics());
    return std::nullopt;
  }
  std::string error;
  std::optional<StubStatus> status = query_stub_status(kRawTimeout, &error);
  if (!status) ADD_FAILURE() << "reading nginx's stub_status on " << authority() << " failed: " << error;
  return status;
}

std::optional<std::uint64_t> NginxServer::accepted_connections() {
  const std::optional<StubStatus> status = stub_status();
  if (!status) return std::nullopt;
  if (status->accepts < own_connections_) {
    ADD_FAILURE() << "stub_status accepts " << status->accepts << " < the harness's own " << own_connections_;
    return std::nullopt;
  }
  return status->accepts - own_connections_;
}

std::optional<std::uint64_t> NginxServer::handled_requests() {
  const std::optional<StubStatus> status = stub_status();
  if (!status) return std::nullopt;
  if (status->requests < own_requests_) {
    ADD_FAILURE() << "stub_status requests " << status->requests << " < the harness's own " << own_requests_;
    return std::nullopt;
  }
  return status->requests - own_requests_;
}

std::string NginxServer::error_log() const {
  return prefix_.empty() ? "" : file_contents(prefix_ + "/error.log");
}

std::string NginxServer::access_log() const {
  return prefix_.empty() ? "" : file_contents(prefix_ + "/access.log");
}

std::string NginxServer::diagnostics() const {
  std::ostringstream out;
  if (!nginx_.exit_description().empty()) out << "nginx " << nginx_.exit_description() << "\n";
  if (!last_probe_error_.empty()) out << "last readiness probe: " << last_probe_error_ << "\n";
  const std::string output = file_contents(prefix_ + "/nginx.stderr");
  if (!output.empty()) out << "nginx's stderr:\n" << last_bytes(output, 4000) << "\n";
  const std::string log = error_log();
  out << "error log (" << prefix_ << "/error.log):\n" << (log.empty() ? "(empty)\n" : last_bytes(log, 8000));
  return out.str();
}

void NginxServer::remove_prefix() {
  remove_scratch_dir(prefix_, kPrefixStem);  // only ever what start() made
  prefix_.clear();
  unix_socket_path_.clear();
}

void NginxServer::stop() {
  nginx_.stop();
  remove_prefix();
}

}  // namespace nethttp::testing
