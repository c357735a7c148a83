// The nginx harness's TLS listener (NginxOptions::tls, tests/support/nginx.h)
// with the throw-away PKI (tests/support/tls_certs.h), driven by a minimal
// OpenSSL client of this file's own (not the library under test): the
// verdicts a TLS client must reach against it — trusted, unknown CA,
// expired, wrong name, protocol refused — and that sessions resume.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "support/nginx.h"
#include "support/tls_certs.h"

namespace nethttp::testing {
namespace {

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
struct ClientSetup {
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
struct Outcome {
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

std::string openssl_errors() {
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

/// Connects to 127.0.0.1:port with TLS, sends "GET path" with Connection:
/// close and reads the response to the end.
Outcome tls_get(std::uint16_t port, const ClientSetup& setup, const std::string& path = "/request") {
  Outcome out;
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

  RawSocket socket = RawSocket::connect_tcp(port);
  if (!socket.ok()) {
    out.error = socket.error();
    return out;
  }
  const timeval timeout{5, 0};
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

  const std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), socket.fd());
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

/// The value of the "name: value" line of a /request body ("<none>" if missing).
std::string line_value(const std::string& body, const std::string& name) {
  const std::string lines = "\n" + body;
  const std::size_t at = lines.find("\n" + name + ": ");
  if (at == std::string::npos) return "<none>";
  const std::size_t begin = at + name.size() + 3;
  return lines.substr(begin, lines.find('\n', begin) - begin);
}

/// Verifies localhost against the shared test CA.
ClientSetup trusting(const std::string& ca_file) {
  ClientSetup setup;
  setup.ca_file = ca_file;
  setup.verify_host = "localhost";
  return setup;
}

NginxOptions tls_options(const std::string& cert, const std::string& key) {
  NginxOptions options;
  options.file_sizes = {};
  options.tls = NginxTlsOptions{.cert = cert, .key = key};
  return options;
}

TEST(NginxTls, ServesTheSameLocationsOverTlsAndKeepsThePlainListener) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.server_cert(), pki.server_key()));
  ASSERT_TRUE(server.start());
  ASSERT_NE(server.tls_port(), 0);
  EXPECT_NE(server.tls_port(), server.port());
  EXPECT_EQ(server.https_url("/small"), "https://127.0.0.1:" + std::to_string(server.tls_port()) + "/small");
  EXPECT_EQ(server.tls_authority(), "127.0.0.1:" + std::to_string(server.tls_port()));

  const Outcome small = tls_get(server.tls_port(), trusting(pki.ca_cert()), "/small");
  ASSERT_TRUE(small.handshake) << small.error;
  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(small.body, kSmallBody);

  const Outcome request = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(request.handshake) << request.error;
  EXPECT_EQ(request.status, 200);
  EXPECT_EQ(line_value(request.body, "method"), "GET");
  EXPECT_EQ(line_value(request.body, "connection-requests"), "1");
  EXPECT_EQ(line_value(request.body, "tls-protocol"), "TLSv1.3");
  EXPECT_EQ(line_value(request.body, "tls-cipher"), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(line_value(request.body, "tls-session-reused"), ".");
  EXPECT_EQ(line_value(request.body, "tls-server-name"), "localhost");
  EXPECT_EQ(line_value(request.body, "tls-alpn"), "http/1.1");
  EXPECT_EQ(line_value(request.body, "tls-client-verify"), "NONE");
  EXPECT_EQ(line_value(request.body, "tls-client-subject"), "");

  // The plain listener answers as before; /request's TLS lines are empty there.
  RawSocket plain = RawSocket::connect_tcp(server.port());
  ASSERT_TRUE(plain.ok()) << plain.error();
  ASSERT_TRUE(plain.send_all(get_request("/request"))) << plain.error();
  const std::optional<RawResponse> response = plain.read_response();
  ASSERT_TRUE(response) << plain.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(line_value(response->body, "tls-protocol"), "");
  EXPECT_EQ(line_value(response->body, "tls-session-reused"), "");
  EXPECT_EQ(line_value(response->body, "tls-client-verify"), "");
  ASSERT_TRUE(plain.send_all(get_request("/redirect"))) << plain.error();
  const std::optional<RawResponse> plain_redirect = plain.read_response();
  ASSERT_TRUE(plain_redirect) << plain.error();
  EXPECT_EQ(plain_redirect->field("Location"), server.url("/small"));
  EXPECT_EQ(server.handled_requests(), 4u);
  EXPECT_NE(server.access_log().find("\"GET /small HTTP/1.1\" 200 13"), std::string::npos)
      << server.access_log();
}

TEST(NginxTls, RedirectLocationSaysHttpsAndTheTlsPort) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.server_cert(), pki.server_key()));
  ASSERT_TRUE(server.start());
  for (const std::string path : {"/redirect", "/redirect/307"}) {
    const Outcome redirect = tls_get(server.tls_port(), trusting(pki.ca_cert()), path);
    ASSERT_TRUE(redirect.handshake) << redirect.error;
    EXPECT_EQ(redirect.status, path == "/redirect" ? 302 : 307);
    // The host from the Host field ("localhost" in the test client's
    // request), the scheme and port of the listener.
    EXPECT_NE(redirect.head.find("\r\nLocation: https://localhost:" + std::to_string(server.tls_port()) +
                                 "/small\r\n"),
              std::string::npos)
        << redirect.head;
  }
}

TEST(NginxTls, VerifiesByNameAndByAddressWithTheTestCa) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.server_cert(), pki.server_key()));
  ASSERT_TRUE(server.start());
  ClientSetup by_ip;
  by_ip.ca_file = pki.ca_cert();
  by_ip.server_name = "";  // no SNI for an address, as clients do
  by_ip.verify_ip = "127.0.0.1";
  const Outcome outcome = tls_get(server.tls_port(), by_ip);
  ASSERT_TRUE(outcome.handshake) << outcome.error;
  EXPECT_EQ(outcome.verify_result, X509_V_OK);
  EXPECT_EQ(line_value(outcome.body, "tls-server-name"), "");

  const Outcome by_name = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(by_name.handshake) << by_name.error;
  EXPECT_EQ(by_name.verify_result, X509_V_OK);
}

TEST(NginxTls, AClientTrustingTheOtherCaFailsWithAnUnknownIssuer) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.server_cert(), pki.server_key()));
  ASSERT_TRUE(server.start());
  const Outcome outcome = tls_get(server.tls_port(), trusting(pki.other_ca_cert()));
  EXPECT_FALSE(outcome.handshake);
  EXPECT_EQ(outcome.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      << X509_verify_cert_error_string(outcome.verify_result);
  EXPECT_NE(outcome.error.find("certificate verify failed"), std::string::npos) << outcome.error;
}

TEST(NginxTls, AnExpiredCertificateFailsAsExpired) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.expired_cert(), pki.expired_key()));
  ASSERT_TRUE(server.start());
  const Outcome outcome = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  EXPECT_FALSE(outcome.handshake);
  EXPECT_EQ(outcome.verify_result, X509_V_ERR_CERT_HAS_EXPIRED)
      << X509_verify_cert_error_string(outcome.verify_result);
  // Without verification the same server completes the handshake.
  const Outcome unverified = tls_get(server.tls_port(), ClientSetup{});
  EXPECT_TRUE(unverified.handshake) << unverified.error;
  EXPECT_EQ(unverified.status, 200);
}

TEST(NginxTls, AWrongNameCertificateFailsAsAMismatchByNameAndByAddress) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.wrong_name_cert(), pki.wrong_name_key()));
  ASSERT_TRUE(server.start());
  const Outcome by_name = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  EXPECT_FALSE(by_name.handshake);
  EXPECT_EQ(by_name.verify_result, X509_V_ERR_HOSTNAME_MISMATCH)
      << X509_verify_cert_error_string(by_name.verify_result);

  ClientSetup by_ip;
  by_ip.ca_file = pki.ca_cert();
  by_ip.verify_ip = "127.0.0.1";
  const Outcome by_address = tls_get(server.tls_port(), by_ip);
  EXPECT_FALSE(by_address.handshake);
  EXPECT_EQ(by_address.verify_result, X509_V_ERR_IP_ADDRESS_MISMATCH)
      << X509_verify_cert_error_string(by_address.verify_result);

  ClientSetup right_name = trusting(pki.ca_cert());
  right_name.verify_host = "wrong.example";
  const Outcome ok = tls_get(server.tls_port(), right_name);
  EXPECT_TRUE(ok.handshake) << ok.error;
}

TEST(NginxTls, ProtocolsOptionLimitsWhatAClientMayNegotiate) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxOptions options = tls_options(pki.server_cert(), pki.server_key());
  options.tls->protocols = "TLSv1.2";
  options.tls->ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  NginxServer server(options);
  ASSERT_TRUE(server.start());
  const Outcome any = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(any.handshake) << any.error;
  EXPECT_EQ(any.protocol, "TLSv1.2");
  EXPECT_EQ(line_value(any.body, "tls-protocol"), "TLSv1.2");
  EXPECT_EQ(line_value(any.body, "tls-cipher"), "ECDHE-ECDSA-AES128-GCM-SHA256");

  ClientSetup tls13_only = trusting(pki.ca_cert());
  tls13_only.min_version = TLS1_3_VERSION;
  const Outcome refused = tls_get(server.tls_port(), tls13_only);
  EXPECT_FALSE(refused.handshake);
  EXPECT_NE(refused.error.find("alert protocol version"), std::string::npos) << refused.error;

  ClientSetup other_cipher = trusting(pki.ca_cert());
  other_cipher.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
  const Outcome no_cipher = tls_get(server.tls_port(), other_cipher);
  EXPECT_FALSE(no_cipher.handshake);
  EXPECT_NE(no_cipher.error.find("handshake failure"), std::string::npos) << no_cipher.error;
}

TEST(NginxTls, Tls10OnlyServerAcceptsTls10AndRefusesTls11AndLater) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxOptions options;
  options.file_sizes = {};
  options.tls = NginxTlsOptions::tls10_only(pki.server_cert(), pki.server_key());
  NginxServer server(options);
  ASSERT_TRUE(server.start());

  // What `openssl s_client -tls1 -cipher DEFAULT@SECLEVEL=0` does.
  ClientSetup legacy = trusting(pki.ca_cert());
  legacy.min_version = TLS1_VERSION;
  legacy.max_version = TLS1_VERSION;
  legacy.ciphers = "DEFAULT@SECLEVEL=0";
  const Outcome tls10 = tls_get(server.tls_port(), legacy);
  ASSERT_TRUE(tls10.handshake) << tls10.error;
  EXPECT_EQ(tls10.protocol, "TLSv1");
  EXPECT_EQ(tls10.status, 200);
  EXPECT_EQ(line_value(tls10.body, "tls-protocol"), "TLSv1");

  // A client offering TLS 1.1 and up gets a protocol_version alert from
  // nginx; one limited to TLS 1.2 gets nginx's TLS 1.0 ServerHello and
  // refuses it ("unsupported protocol"), as `openssl s_client -tls1_2` does.
  const std::pair<int, int> refused_ranges[] = {
      {TLS1_1_VERSION, 0}, {TLS1_2_VERSION, 0}, {TLS1_3_VERSION, 0}, {TLS1_2_VERSION, TLS1_2_VERSION}};
  for (const auto& [min_version, max_version] : refused_ranges) {
    SCOPED_TRACE("client versions " + std::to_string(min_version) + " to " + std::to_string(max_version));
    ClientSetup modern = trusting(pki.ca_cert());
    modern.min_version = min_version;
    modern.max_version = max_version;
    modern.ciphers = "DEFAULT@SECLEVEL=0";
    const Outcome refused = tls_get(server.tls_port(), modern);
    EXPECT_FALSE(refused.handshake) << refused.protocol;
    EXPECT_TRUE(refused.error.find("alert protocol version") != std::string::npos ||
                refused.error.find("unsupported protocol") != std::string::npos)
        << refused.error;
  }

  // OpenSSL 3's default security level refuses TLS 1.0's SHA-1 signatures on
  // the client side too: a client must lower it to connect.
  ClientSetup default_level = trusting(pki.ca_cert());
  default_level.min_version = TLS1_VERSION;
  const Outcome refused = tls_get(server.tls_port(), default_level);
  EXPECT_FALSE(refused.handshake) << refused.protocol;
  EXPECT_NE(refused.error.find("legacy sigalg disallowed or unsupported"), std::string::npos)
      << refused.error;
}

TEST(NginxTls, ASecondConnectionResumesTheFirstsSession) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.server_cert(), pki.server_key()));
  ASSERT_TRUE(server.start());
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    ClientSetup setup = trusting(pki.ca_cert());
    setup.max_version = version;
    const Outcome first = tls_get(server.tls_port(), setup);
    ASSERT_TRUE(first.handshake) << first.error;
    EXPECT_FALSE(first.reused);
    EXPECT_EQ(line_value(first.body, "tls-session-reused"), ".");
    ASSERT_TRUE(first.session);
    EXPECT_EQ(SSL_SESSION_is_resumable(first.session.get()), 1);

    setup.session = first.session.get();
    const Outcome second = tls_get(server.tls_port(), setup);
    ASSERT_TRUE(second.handshake) << second.error;
    EXPECT_TRUE(second.reused);
    EXPECT_EQ(line_value(second.body, "tls-session-reused"), "r");
    EXPECT_EQ(second.protocol, first.protocol);
  }
}

TEST(NginxTls, WithoutSessionResumptionEveryHandshakeIsFull) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxOptions options = tls_options(pki.server_cert(), pki.server_key());
  options.tls->session_resumption = false;
  NginxServer server(options);
  ASSERT_TRUE(server.start());
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    ClientSetup setup = trusting(pki.ca_cert());
    setup.max_version = version;
    const Outcome first = tls_get(server.tls_port(), setup);
    ASSERT_TRUE(first.handshake) << first.error;
    setup.session = first.session.get();
    const Outcome second = tls_get(server.tls_port(), setup);
    ASSERT_TRUE(second.handshake) << second.error;
    EXPECT_FALSE(second.reused);
    EXPECT_EQ(line_value(second.body, "tls-session-reused"), ".");
  }
}

TEST(NginxTls, ARequiredClientCertificateIsCheckedAndAMissingOneGets400) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxOptions options = tls_options(pki.server_cert(), pki.server_key());
  options.tls->client_ca = pki.ca_cert();
  NginxServer server(options);
  ASSERT_TRUE(server.start());

  ClientSetup with_cert = trusting(pki.ca_cert());
  with_cert.cert = pki.client_cert();
  with_cert.key = pki.client_key();
  const Outcome ok = tls_get(server.tls_port(), with_cert);
  ASSERT_TRUE(ok.handshake) << ok.error;
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(line_value(ok.body, "tls-client-verify"), "SUCCESS");
  EXPECT_EQ(line_value(ok.body, "tls-client-subject"), TestPki::kClientSubject);

  // nginx completes the handshake and answers 400 at the HTTP level.
  const Outcome without = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(without.handshake) << without.error;
  EXPECT_EQ(without.status, 400);
  EXPECT_NE(without.body.find("No required SSL certificate was sent"), std::string::npos) << without.body;

  // A certificate the client CA did not sign: 400 as well.
  ClientSetup foreign = trusting(pki.ca_cert());
  foreign.cert = pki.other_ca_cert();
  foreign.key = pki.other_ca_key();
  const Outcome rejected = tls_get(server.tls_port(), foreign);
  ASSERT_TRUE(rejected.handshake) << rejected.error;
  EXPECT_EQ(rejected.status, 400);
  EXPECT_NE(rejected.body.find("The SSL certificate error"), std::string::npos) << rejected.body;
}

TEST(NginxTls, AnOptionalClientCertificateMayBeLeftOut) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxOptions options = tls_options(pki.server_cert(), pki.server_key());
  options.tls->client_ca = pki.ca_cert();
  options.tls->require_client_cert = false;
  NginxServer server(options);
  ASSERT_TRUE(server.start());
  const Outcome without = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(without.handshake) << without.error;
  EXPECT_EQ(without.status, 200);
  EXPECT_EQ(line_value(without.body, "tls-client-verify"), "NONE");

  ClientSetup with_cert = trusting(pki.ca_cert());
  with_cert.cert = pki.client_cert();
  with_cert.key = pki.client_key();
  const Outcome with = tls_get(server.tls_port(), with_cert);
  ASSERT_TRUE(with.handshake) << with.error;
  EXPECT_EQ(line_value(with.body, "tls-client-verify"), "SUCCESS");
}

TEST(NginxTls, StartFailsWithNginxsMessageWhenTheCertificateIsMissing) {
  NginxServer server(tls_options("/nonexistent/server.crt", "/nonexistent/server.key"));
  const ::testing::AssertionResult started = server.start();
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("/nonexistent/server.crt"), std::string::npos)
      << started.message();
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.prefix(), "");
}

}  // namespace
}  // namespace nethttp::testing
