// TLS over a connected socket (OpenSSL), with the same I/O pattern as plain
// sockets: reads sleep in recv() until a record arrives (deadlines and
// cancellation interrupt them by shutting the socket down), writes never
// block (MSG_DONTWAIT; "would block" comes back as 0 bytes written).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/thread_annotations.h"
#include "nethttp/error.h"
#include "nethttp/tls.h"

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;
using SSL_SESSION = struct ssl_session_st;
using BIO = struct bio_st;
using X509 = struct x509_st;
using X509_STORE_CTX = struct x509_store_ctx_st;

namespace nethttp::net {

using Clock = std::chrono::steady_clock;

class TlsSession;

/// A Transport's TLS configuration in OpenSSL's form and its session cache
/// (one session per "host:port"). Thread-safe; shared by the connections it
/// made, which keep it alive.
class TlsContext : public std::enable_shared_from_this<TlsContext> {
 public:
  /// Loads the trust store, the client certificate and key. Errors: tls,
  /// naming the file that cannot be used and why.
  [[nodiscard]] static Result<std::shared_ptr<TlsContext>> make(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  /// The client handshake on `fd` (connected; left in blocking mode) for
  /// `server_name` (a DNS name, sent as SNI, or an IP address) at `peer`
  /// ("host:port", for messages and the session cache), before `deadline`;
  /// `timeout_name` says which limit the deadline is in a timeout's message.
  /// Verifies the chain and the name unless insecure. Blocks. Errors: tls
  /// (unknown authority, expired, name mismatch with the names the
  /// certificate has, no common version, a plain HTTP answer...), timeout,
  /// io (the peer closed or reset).
  [[nodiscard]] Result<std::unique_ptr<TlsSession>> handshake(int fd, const std::string& server_name,
                                                              const std::string& peer,
                                                              Clock::time_point deadline,
                                                              std::string_view timeout_name);

 private:
  friend class TlsSession;
  TlsContext() = default;
  static int on_verify(int preverified, X509_STORE_CTX* store);
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  void keep_session(const std::string& peer, SSL_SESSION* session);
  SSL_SESSION* take_session_copy(const std::string& peer);

  SSL_CTX* ctx_ = nullptr;
  bool verify_ = true;
  bool resume_ = true;
  Mutex mu_;
  std::map<std::string, SSL_SESSION*, std::less<>> sessions_ GUARDED_BY(mu_);
};

/// The TLS side of one connection. Used by one thread at a time (the
/// connection's owner); the socket itself is owned by the Stream.
class TlsSession {
 public:
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// What was negotiated; shared with the responses of this connection.
  [[nodiscard]] const std::shared_ptr<const TlsState>& state() const noexcept { return state_; }

  /// Encrypts and sends what the socket accepts now: the bytes of `data`
  /// taken (0 when the socket's buffer is full; call again with the same
  /// data). Errors: io with the errno, tls.
  [[nodiscard]] Result<std::size_t> write(std::span<const char> data);
  /// Decrypted bytes into `buf`: waits for a record when `wait`, else
  /// returns nullopt when none is complete. 0 at the end of the stream.
  /// Errors: io with the errno, tls (a bad record).
  [[nodiscard]] Result<std::optional<std::size_t>> read(std::span<char> buf, bool wait);
  /// Decrypted bytes are buffered: a read returns at once.
  [[nodiscard]] bool has_buffered() const noexcept;
  /// Sends close_notify if the socket takes it now (never blocks).
  void close_notify() noexcept;
  /// Frees the record buffers while the connection is idle (unless they
  /// hold unread bytes). SSL_MODE_RELEASE_BUFFERS alone leaves the write
  /// buffer allocated when the last operation was a read, about 16 KB.
  void release_buffers() noexcept;

 private:
  friend class TlsContext;
  TlsSession(std::shared_ptr<TlsContext> context, std::string peer);

  std::shared_ptr<TlsContext> context_;
  std::string peer_;  ///< "host:port": the session cache's key
  SSL* ssl_ = nullptr;
  BIO* bio_ = nullptr;    ///< owned by ssl_
  X509* leaf_ = nullptr;  ///< the server's certificate as verification saw it
  std::shared_ptr<const TlsState> state_;
};

}  // namespace nethttp::net
