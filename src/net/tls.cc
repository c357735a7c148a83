#include "net/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include "net/socket_io.h"

namespace nethttp::net {
namespace {

/// The first OpenSSL 3 release whose SSL_free_buffers() is safe: 3.0.14.
constexpr unsigned long kFreeBuffersFixed = 0x300000e0UL;  // NOLINT(google-runtime-int)

// ---------------------------------------------------------------- the socket BIO

/// OpenSSL's own socket BIO write()s (SIGPIPE on a closed peer) and blocks
/// as the socket does. This one reads as the plain path does (blocking
/// recv(), or MSG_DONTWAIT when asked) and never blocks on a write.
struct SocketBio {
  int fd = -1;
  bool wait_reads = false;
  int last_errno = 0;
  std::array<char, 5> first_bytes{};  ///< the peer's first bytes: "HTTP/" gives away a plain server
  std::size_t first_count = 0;
};

/// A failed socket call: its errno is kept for the TLS layer's message.
int failed(SocketBio* s, const Error& error) {
  s->last_errno = error.sys_errno();
  return -1;
}

int bio_write(BIO* bio, const char* data, int len) {
  auto* s = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  Result<std::size_t> n = send_now(s->fd, std::span<const char>(data, static_cast<std::size_t>(len)));
  if (!n) return failed(s, n.error());
  if (*n == 0 && len > 0) {
    BIO_set_retry_write(bio);
    return -1;
  }
  return static_cast<int>(*n);
}

/// `n` bytes read into `out`: the first few are kept, for the handshake's message.
int took(SocketBio* s, const char* out, std::size_t n) {
  const std::size_t keep = std::min(s->first_bytes.size() - s->first_count, n);
  std::memcpy(s->first_bytes.data() + s->first_count, out, keep);
  s->first_count += keep;
  return static_cast<int>(n);
}

int bio_read(BIO* bio, char* out, int len) {
  auto* s = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const std::span<char> buf(out, static_cast<std::size_t>(len));
  if (s->wait_reads) {
    Result<std::size_t> n = recv_some(s->fd, buf);
    return n ? took(s, out, *n) : failed(s, n.error());
  }
  Result<std::optional<std::size_t>> n = try_recv(s->fd, buf);
  if (!n) return failed(s, n.error());
  if (!*n) {
    BIO_set_retry_read(bio);
    return -1;
  }
  return took(s, out, **n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {  // NOLINT(google-runtime-int): OpenSSL's signature
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nethttp socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

// ---------------------------------------------------------------- helpers

/// The reason of the oldest queued OpenSSL error ("certificate verify
/// failed"), or `fallback`; clears the queue.
std::string openssl_reason(std::string_view fallback) {
  const unsigned long code = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  if (const char* reason = ERR_reason_error_string(code)) return reason;
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

bool is_ip_address(const std::string& host) {
  std::array<unsigned char, 16> addr{};
  return ::inet_pton(AF_INET, host.c_str(), addr.data()) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), addr.data()) == 1;
}

/// The socket's own error, when that is why a TLS call failed.
std::optional<Error> socket_failure(const SocketBio& socket) {
  if (socket.last_errno == 0) return std::nullopt;
  ERR_clear_error();
  return Error(ErrorKind::io, std::strerror(socket.last_errno), socket.last_errno);
}

/// What `print` writes into a memory BIO, as text.
template <class Print>
std::string printed(Print&& print) {
  BIO* mem = BIO_new(BIO_s_mem());
  print(mem);
  char* data = nullptr;
  const long len = BIO_get_mem_data(mem, &data);  // NOLINT(google-runtime-int)
  std::string text(data, static_cast<std::size_t>(std::max(len, 0L)));
  BIO_free(mem);
  return text;
}

std::string name_text(X509_NAME* name) {
  return printed([&](BIO* mem) { X509_NAME_print_ex(mem, name, 0, XN_FLAG_RFC2253); });
}

std::string time_text(const ASN1_TIME* time) {
  return printed([&](BIO* mem) { ASN1_TIME_print(mem, time); });
}

/// The DNS names and IP addresses a certificate is for.
std::vector<std::string> subject_alt_names(X509* cert) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                         static_cast<std::size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      std::array<char, INET6_ADDRSTRLEN> text{};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (::inet_ntop(family, ASN1_STRING_get0_data(ip), text.data(), text.size()) != nullptr) {
        names.emplace_back(text.data());
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "no names" : out;
}

/// Why verification failed, in words a user can act on (Go's where it has them).
std::string verify_failure(long result, X509* cert,
                           const std::string& server_name) {  // NOLINT(google-runtime-int)
  const std::string detail = X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate has expired" +
             (cert != nullptr ? " (valid until " + time_text(X509_get0_notAfter(cert)) + ")" : "");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate is not yet valid" +
             (cert != nullptr ? " (valid from " + time_text(X509_get0_notBefore(cert)) + ")" : "");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "certificate signed by unknown authority (" + detail + ")";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "certificate is valid for " +
             (cert != nullptr ? joined(subject_alt_names(cert)) : "other names") + ", not " + server_name;
    default: return "certificate verification failed: " + detail;
  }
}

}  // namespace

// ---------------------------------------------------------------- TlsContext

Result<std::shared_ptr<TlsContext>> TlsContext::make(const TlsOptions& options) {
  std::shared_ptr<TlsContext> context(new TlsContext());
  ERR_clear_error();
  context->ctx_ = SSL_CTX_new(TLS_client_method());
  if (context->ctx_ == nullptr)
    return Error(ErrorKind::tls, "creating the TLS context: " + openssl_reason("failed"));
  SSL_CTX* ctx = context->ctx_;
  SSL_CTX_set_min_proto_version(ctx,
                                options.min_version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  // A peer that closes without close_notify ends the stream as EOF; HTTP's
  // framing says whether anything was cut short.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(
      ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  context->verify_ = !options.insecure_skip_verify;
  SSL_CTX_set_verify(ctx, context->verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, &TlsContext::on_verify);
  if (!options.ca_file.empty() || !options.ca_dir.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.empty() ? nullptr : options.ca_file.c_str(),
                                      options.ca_dir.empty() ? nullptr : options.ca_dir.c_str()) != 1) {
      return Error(ErrorKind::tls, "loading the CA certificates " +
                                       (options.ca_file.empty() ? options.ca_dir : options.ca_file) + ": " +
                                       openssl_reason("cannot be read"));
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Error(ErrorKind::tls, "loading the system's CA certificates: " + openssl_reason("failed"));
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Error(ErrorKind::tls, "a client certificate needs both a certificate file and a key file");
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      return Error(ErrorKind::tls, "loading the client certificate " + options.cert_file + ": " +
                                       openssl_reason("cannot be read"));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Error(ErrorKind::tls,
                   "loading the client key " + options.key_file + ": " + openssl_reason("cannot be read"));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return Error(ErrorKind::tls, "the client key " + options.key_file + " does not match the certificate " +
                                       options.cert_file);
    }
  }
  static constexpr std::array<unsigned char, 9> kAlpn = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn.data(), kAlpn.size());
  context->resume_ = options.session_resumption;
  if (context->resume_) {
    // Sessions are kept here, per host and port, not in OpenSSL's cache
    // (which a client never looks up).
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &TlsContext::on_new_session);
  }
  return context;
}

TlsContext::~TlsContext() {
  for (auto& [peer, session] : sessions_) SSL_SESSION_free(session);
  SSL_CTX_free(ctx_);
}

int TlsContext::on_verify(int preverified, X509_STORE_CTX* store) {
  // A failed handshake keeps no peer certificate: keep the server's own for
  // the error message (its names, its dates).
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* owner = ssl != nullptr ? static_cast<TlsSession*>(SSL_get_app_data(ssl)) : nullptr;
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (owner != nullptr && leaf != nullptr && owner->leaf_ == nullptr && X509_up_ref(leaf) == 1)
    owner->leaf_ = leaf;
  return preverified;
}

int TlsContext::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* owner = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  if (owner == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
  // A copy: OpenSSL marks a connection's own session not resumable (after a
  // TLS 1.3 resumption, or when the connection ends badly), which must not
  // spoil the one every later handshake to this peer starts from.
  if (SSL_SESSION* kept = SSL_SESSION_dup(session)) owner->context_->keep_session(owner->peer_, kept);
  return 0;  // the connection keeps its reference
}

void TlsContext::keep_session(const std::string& peer, SSL_SESSION* session) {
  SSL_SESSION* replaced = nullptr;
  {
    const LockGuard lock(mu_);
    SSL_SESSION*& slot = sessions_[peer];
    replaced = std::exchange(slot, session);
  }
  if (replaced != nullptr) SSL_SESSION_free(replaced);
}

SSL_SESSION* TlsContext::take_session_copy(const std::string& peer) {
  const LockGuard lock(mu_);
  const auto it = sessions_.find(peer);
  if (it == sessions_.end()) return nullptr;
  // Each handshake resumes from its own copy, for the reason above: a
  // shared one was spoilt by the first connection resuming from it, and
  // connections dialed meanwhile made full handshakes.
  return SSL_SESSION_dup(it->second);
}

Result<std::unique_ptr<TlsSession>> TlsContext::handshake(int fd, const std::string& server_name,
                                                          const std::string& peer, Clock::time_point deadline,
                                                          std::string_view timeout_name) {
  const std::string where = "TLS handshake with " + peer;
  std::unique_ptr<TlsSession> session(new TlsSession(shared_from_this(), peer));
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return Error(ErrorKind::tls, where + ": " + openssl_reason("cannot create a session"));
  session->ssl_ = ssl;
  auto* socket = new SocketBio{fd};  // owned through the BIO: freed in ~TlsSession
  session->bio_ = BIO_new(socket_bio_method());
  BIO_set_data(session->bio_, socket);
  SSL_set_bio(ssl, session->bio_, session->bio_);
  SSL_set_app_data(ssl, session.get());

  const bool address = is_ip_address(server_name);
  if (!address) {
    // SSL_set_tlsext_host_name() without its macro's C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server_name.c_str()));
  }
  if (verify_) {
    const int named = address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str())
                              : SSL_set1_host(ssl, server_name.c_str());
    if (named != 1) return Error(ErrorKind::tls, where + ": cannot verify the name " + server_name);
  }
  if (resume_) {
    if (SSL_SESSION* earlier = take_session_copy(peer)) {
      SSL_set_session(ssl, earlier);
      SSL_SESSION_free(earlier);
    }
  }

  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl);
    if (r == 1) break;
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      Result<bool> ready = wait_for(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
      if (!ready) return std::move(ready).error().with_context(where);
      if (!*ready) {
        return Error(ErrorKind::timeout, where + ": no answer within the " + std::string(timeout_name),
                     ETIMEDOUT);
      }
      continue;
    }
    const long verified = SSL_get_verify_result(ssl);  // NOLINT(google-runtime-int)
    if (verify_ && verified != X509_V_OK) {
      ERR_clear_error();
      return Error(ErrorKind::tls, where + ": " + verify_failure(verified, session->leaf_, server_name));
    }
    if (std::string_view(socket->first_bytes.data(), socket->first_count) == "HTTP/") {
      ERR_clear_error();
      return Error(ErrorKind::tls, where + ": server gave HTTP response to HTTPS client");
    }
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
      const int err = socket->last_errno;
      ERR_clear_error();
      if (err != 0) return Error(ErrorKind::io, where + ": " + std::strerror(err), err);
      return Error(ErrorKind::io, where + ": connection closed by peer");
    }
    return Error(ErrorKind::tls, where + ": " + openssl_reason("handshake failed"));
  }
  socket->wait_reads = true;

  auto state = std::make_shared<TlsState>();
  state->version = SSL_get_version(ssl);
  state->cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn != nullptr) state->alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  state->server_name = server_name;
  if (X509* cert = SSL_get0_peer_certificate(ssl)) {
    state->peer_subject = name_text(X509_get_subject_name(cert));
    state->peer_names = subject_alt_names(cert);
  }
  state->resumed = SSL_session_reused(ssl) == 1;
  session->state_ = std::move(state);
  return session;
}

// ---------------------------------------------------------------- TlsSession

TlsSession::TlsSession(std::shared_ptr<TlsContext> context, std::string peer)
    : context_(std::move(context)), peer_(std::move(peer)) {}

TlsSession::~TlsSession() {
  SocketBio* socket = bio_ != nullptr ? static_cast<SocketBio*>(BIO_get_data(bio_)) : nullptr;
  SSL_free(ssl_);  // frees the BIO
  delete socket;
  X509_free(leaf_);
}

Result<std::size_t> TlsSession::write(std::span<const char> data) {
  auto* socket = static_cast<SocketBio*>(BIO_get_data(bio_));
  socket->last_errno = 0;
  std::size_t written = 0;
  ERR_clear_error();
  if (SSL_write_ex(ssl_, data.data(), data.size(), &written) == 1) return written;
  const int e = SSL_get_error(ssl_, 0);
  if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return std::size_t{0};
  if (std::optional<Error> failure = socket_failure(*socket)) return std::move(*failure);
  return Error(ErrorKind::tls, "TLS write: " + openssl_reason("failed"));
}

Result<std::optional<std::size_t>> TlsSession::read(std::span<char> buf, bool wait) {
  auto* socket = static_cast<SocketBio*>(BIO_get_data(bio_));
  socket->wait_reads = wait;
  for (;;) {
    socket->last_errno = 0;
    std::size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_, buf.data(), buf.size(), &n) == 1) return std::optional<std::size_t>(n);
    const int e = SSL_get_error(ssl_, 0);
    switch (e) {
      case SSL_ERROR_ZERO_RETURN: return std::optional<std::size_t>(0);
      case SSL_ERROR_WANT_READ:
        if (!wait) return std::optional<std::size_t>();
        continue;
      case SSL_ERROR_WANT_WRITE: {
        // The session must send first (a key update's answer).
        if (!wait) return std::optional<std::size_t>();
        (void)wait_for(socket->fd, POLLOUT, Clock::time_point::max());
        continue;
      }
      default: break;
    }
    if (std::optional<Error> failure = socket_failure(*socket)) return std::move(*failure);
    if (e == SSL_ERROR_SYSCALL) {
      ERR_clear_error();
      return std::optional<std::size_t>(0);  // EOF without close_notify: the framing decides
    }
    return Error(ErrorKind::tls, "TLS record: " + openssl_reason("bad record"));
  }
}

bool TlsSession::has_buffered() const noexcept {
  return SSL_pending(ssl_) > 0 || SSL_has_pending(ssl_) == 1;
}

void TlsSession::release_buffers() noexcept {
  // OpenSSL before 3.0.14 could free a buffer still in use here (CVE-2024-4741).
  if (OpenSSL_version_num() >= kFreeBuffersFixed) (void)SSL_free_buffers(ssl_);
}

void TlsSession::close_notify() noexcept {
  if (SSL_is_init_finished(ssl_) == 1 && (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) {
    (void)SSL_shutdown(ssl_);
  }
  ERR_clear_error();
}

}  // namespace nethttp::net
