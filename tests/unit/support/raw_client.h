// A blocking POSIX client socket for testing the test servers themselves
// (the library's Transport is what the servers exist to test). Every read
// has a receive timeout, so a server bug fails a test instead of hanging it.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "support/socket_io.h"

namespace nethttp::testing {

/// How a read of the client ended.
enum class ReadEnd { data, eof, reset, timeout, error };

class RawClient {
 public:
  /// How long any single read waits before giving up.
  static constexpr int kReadTimeoutSeconds = 5;

  /// Connects to 127.0.0.1:port; is_connected() tells whether it worked.
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const sockaddr_in addr = loopback_address(port);
    connect_to(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int yes = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  }

  /// Connects to a Unix socket.
  explicit RawClient(const std::string& unix_path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, unix_path.c_str(), sizeof addr.sun_path - 1);
    connect_to(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }

  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool is_connected() const { return fd_ >= 0; }

  bool send(std::string_view bytes) { return write_all(fd_, bytes); }

  /// Reads whatever arrives next (appending to the buffer); how it ended.
  ReadEnd read_some() {
    std::array<char, 16384> buf;
    for (;;) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n > 0) {
        in_.append(buf.data(), static_cast<std::size_t>(n));
        return ReadEnd::data;
      }
      if (n == 0) return ReadEnd::eof;
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return ReadEnd::reset;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadEnd::timeout;
      return ReadEnd::error;
    }
  }

  /// Reads until `n` bytes are buffered; false if the stream ends first.
  bool read_at_least(std::size_t n) {
    while (in_.size() < n) {
      if (read_some() != ReadEnd::data) return false;
    }
    return true;
  }

  /// Reads until the peer closes or resets; returns how it ended.
  ReadEnd read_to_end() {
    for (;;) {
      const ReadEnd end = read_some();
      if (end != ReadEnd::data) return end;
    }
  }

  /// Reads one response (head, then a Content-Length or chunked body, or to
  /// EOF when it has neither) and removes it from the buffer. Returns the raw
  /// bytes, or "" when the stream ended first. A response to HEAD needs
  /// `head_request` to know it has no body.
  std::string read_response(bool head_request = false) {
    std::size_t head_end = std::string::npos;
    while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (read_some() != ReadEnd::data) return {};
    }
    head_end += 4;
    const std::string head = lower(in_.substr(0, head_end));
    const int status = std::atoi(head.c_str() + 9);
    std::size_t end = head_end;
    if (head_request || status / 100 == 1 || status == 204 || status == 304) {
      // no body
    } else if (head.find("\r\ntransfer-encoding: chunked\r\n") != std::string::npos) {
      // Each chunk-size line, its data and CRLF; then trailer lines up to an empty one.
      bool last_chunk = false;
      for (;;) {
        std::size_t line_end = std::string::npos;
        while ((line_end = in_.find("\r\n", end)) == std::string::npos) {
          if (read_some() != ReadEnd::data) return {};
        }
        const std::string line = in_.substr(end, line_end - end);
        end = line_end + 2;
        if (last_chunk) {
          if (line.empty()) break;
          continue;
        }
        const std::size_t size = std::stoul(line, nullptr, 16);
        if (size == 0) {
          last_chunk = true;
          continue;
        }
        if (!read_at_least(end + size + 2)) return {};
        end += size + 2;
      }
    } else if (const std::size_t cl = head.find("\r\ncontent-length: "); cl != std::string::npos) {
      end += std::stoul(head.substr(cl + 18));
      if (!read_at_least(end)) return {};
    } else {
      read_to_end();
      end = in_.size();
    }
    std::string response = in_.substr(0, end);
    in_.erase(0, end);
    return response;
  }

  /// Everything received and not yet returned by read_response().
  [[nodiscard]] const std::string& buffered() const { return in_; }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void connect_to(const sockaddr* addr, socklen_t len) {
    if (fd_ < 0) return;
    timeval timeout{kReadTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd_, addr, len) != 0) close();
  }

  static std::string lower(std::string s) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
  }

  int fd_;
  std::string in_;
};

}  // namespace nethttp::testing
