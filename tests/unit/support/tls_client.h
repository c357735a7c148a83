// A minimal OpenSSL client for the harness tests (nginx's TLS listener, a
// tinyproxy CONNECT tunnel): OpenSSL's own verdicts, not the library's,
// which these servers exist to test.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "support/nginx.h"

namespace nethttp::testing {

// Deleters of OpenSSL's objects, for std::unique_ptr.
struct SessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;
struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

/// How the test client connects.
struct TlsClientSetup {
  /// Trusted CA file; "" verifies nothing.
  std::string ca_file;
  /// SNI; "" sends none.
  std::string server_name = "localhost";
  /// DNS name or IP address the certificate must match; "" checks none.
  std::string verify_host;
  std::string verify_ip;
  /// TLS1_VERSION...; 0 leaves OpenSSL's default.
  int min_version = 0;
  int max_version = 0;
  /// OpenSSL cipher list (TLS 1.2 and below); "" leaves the default.
  std::string ciphers;
  /// Client certificate and key files; "" sends none.
  std::string cert;
  std::string key;
  /// A session to resume.
  SSL_SESSION* session = nullptr;
};

/// What one connection gave.
struct TlsOutcome {
  bool handshake = false;  ///< the handshake completed (and verification passed)
  long verify_result = X509_V_OK;
  std::string error;     ///< OpenSSL's error queue when something failed
  std::string protocol;  ///< "TLSv1.3"...
  bool reused = false;   ///< the handshake resumed `session`
  int status = 0;        ///< of the HTTP response
  std::string head;      ///< its status line and fields
  std::string body;
  SessionPtr session;  ///< to resume on the next connection
};

/// OpenSSL's error queue as one line (emptying it).
inline std::string openssl_errors() {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char line[256];
    ERR_error_string_n(code, line, sizeof line);
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text.empty() ? "(no OpenSSL error)" : text;
}

/// Over `fd`, a connected socket (to nginx's TLS port, or a proxy's tunnel
/// to it): the TLS handshake, "GET path" with Connection: close, and the
/// response read to the end. Every read and write waits 5 s at most.
inline TlsOutcome tls_get_through(int fd, const TlsClientSetup& setup, const std::string& path = "/request") {
  TlsOutcome out;
  const timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  ERR_clear_error();
  const std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    out.error = openssl_errors();
    return out;
  }
  if (setup.min_version != 0) SSL_CTX_set_min_proto_version(ctx.get(), setup.min_version);
  if (setup.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), setup.max_version);
  if (!setup.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), setup.ciphers.c_str()) != 1) {
    out.error = "cipher list: " + openssl_errors();
    return out;
  }
  if (!setup.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), setup.ca_file.c_str(), nullptr) != 1) {
      out.error = "CA file: " + openssl_errors();
      return out;
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!setup.cert.empty() &&
      (SSL_CTX_use_certificate_file(ctx.get(), setup.cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), setup.key.c_str(), SSL_FILETYPE_PEM) != 1)) {
    out.error = "client certificate: " + openssl_errors();
    return out;
  }

  const std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  if (!setup.server_name.empty()) {
    // SSL_set_tlsext_host_name() without its macro's C cast.
    SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(setup.server_name.c_str()));
  }
  if (!setup.verify_host.empty()) SSL_set1_host(ssl.get(), setup.verify_host.c_str());
  if (!setup.verify_ip.empty())
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), setup.verify_ip.c_str());
  static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof kAlpn);
  if (setup.session != nullptr) SSL_set_session(ssl.get(), setup.session);

  if (SSL_connect(ssl.get()) != 1) {
    out.verify_result = SSL_get_verify_result(ssl.get());
    out.error = openssl_errors();
    return out;
  }
  out.handshake = true;
  out.verify_result = SSL_get_verify_result(ssl.get());
  out.protocol = SSL_get_version(ssl.get());
  out.reused = SSL_session_reused(ssl.get()) == 1;

  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) !=
      static_cast<int>(request.size())) {
    out.error = "write: " + openssl_errors();
    return out;
  }
  std::string response;
  char buffer[16384];
  for (;;) {
    const int n = SSL_read(ssl.get(), buffer, sizeof buffer);
    if (n <= 0) break;  // close_notify, EOF, or the timeout
    response.append(buffer, static_cast<std::size_t>(n));
  }
  // Read after the response, so TLS 1.3's NewSessionTicket has arrived.
  out.session.reset(SSL_get1_session(ssl.get()));
  SSL_shutdown(ssl.get());
  const std::size_t head_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) {
    out.error = "not an HTTP response: " + response.substr(0, 200);
    return out;
  }
  out.status = std::stoi(response.substr(9, 3));
  out.head = response.substr(0, head_end + 2);
  out.body = response.substr(head_end + 4);
  return out;
}

/// tls_get_through() on a new connection to 127.0.0.1:port.
inline TlsOutcome tls_get(std::uint16_t port, const TlsClientSetup& setup,
                          const std::string& path = "/request") {
  RawSocket socket = RawSocket::connect_tcp(port);
  if (!socket.ok()) {
    TlsOutcome out;
    out.error = socket.error();
    return out;
  }
  return tls_get_through(socket.fd(), setup, path);
}

/// Verifies the name localhost against `ca_file`.
inline TlsClientSetup trusting(const std::string& ca_file) {
  TlsClientSetup setup;
  setup.ca_file = ca_file;
  setup.verify_host = "localhost";
  return setup;
}

}  // namespace nethttp::testing
