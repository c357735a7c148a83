// The nginx harness's TLS listener (NginxOptions::tls, tests/support/nginx.h)
// with the throw-away PKI (tests/support/tls_certs.h), driven by a minimal
// OpenSSL client (tls_client.h; not the library under test): the
// verdicts a TLS client must reach against it — trusted, unknown CA,
// expired, wrong name, protocol refused — and that sessions resume.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "support/nginx.h"
#include "support/tls_certs.h"
#include "unit/support/tls_client.h"

namespace nethttp::testing {
namespace {

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

  const TlsOutcome small = tls_get(server.tls_port(), trusting(pki.ca_cert()), "/small");
  ASSERT_TRUE(small.handshake) << small.error;
  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(small.body, kSmallBody);

  const TlsOutcome request = tls_get(server.tls_port(), trusting(pki.ca_cert()));
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
    const TlsOutcome redirect = tls_get(server.tls_port(), trusting(pki.ca_cert()), path);
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
  TlsClientSetup by_ip;
  by_ip.ca_file = pki.ca_cert();
  by_ip.server_name = "";  // no SNI for an address, as clients do
  by_ip.verify_ip = "127.0.0.1";
  const TlsOutcome outcome = tls_get(server.tls_port(), by_ip);
  ASSERT_TRUE(outcome.handshake) << outcome.error;
  EXPECT_EQ(outcome.verify_result, X509_V_OK);
  EXPECT_EQ(line_value(outcome.body, "tls-server-name"), "");

  const TlsOutcome by_name = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(by_name.handshake) << by_name.error;
  EXPECT_EQ(by_name.verify_result, X509_V_OK);
}

TEST(NginxTls, AClientTrustingTheOtherCaFailsWithAnUnknownIssuer) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.server_cert(), pki.server_key()));
  ASSERT_TRUE(server.start());
  const TlsOutcome outcome = tls_get(server.tls_port(), trusting(pki.other_ca_cert()));
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
  const TlsOutcome outcome = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  EXPECT_FALSE(outcome.handshake);
  EXPECT_EQ(outcome.verify_result, X509_V_ERR_CERT_HAS_EXPIRED)
      << X509_verify_cert_error_string(outcome.verify_result);
  // Without verification the same server completes the handshake.
  const TlsOutcome unverified = tls_get(server.tls_port(), TlsClientSetup{});
  EXPECT_TRUE(unverified.handshake) << unverified.error;
  EXPECT_EQ(unverified.status, 200);
}

TEST(NginxTls, AWrongNameCertificateFailsAsAMismatchByNameAndByAddress) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  NginxServer server(tls_options(pki.wrong_name_cert(), pki.wrong_name_key()));
  ASSERT_TRUE(server.start());
  const TlsOutcome by_name = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  EXPECT_FALSE(by_name.handshake);
  EXPECT_EQ(by_name.verify_result, X509_V_ERR_HOSTNAME_MISMATCH)
      << X509_verify_cert_error_string(by_name.verify_result);

  TlsClientSetup by_ip;
  by_ip.ca_file = pki.ca_cert();
  by_ip.verify_ip = "127.0.0.1";
  const TlsOutcome by_address = tls_get(server.tls_port(), by_ip);
  EXPECT_FALSE(by_address.handshake);
  EXPECT_EQ(by_address.verify_result, X509_V_ERR_IP_ADDRESS_MISMATCH)
      << X509_verify_cert_error_string(by_address.verify_result);

  TlsClientSetup right_name = trusting(pki.ca_cert());
  right_name.verify_host = "wrong.example";
  const TlsOutcome ok = tls_get(server.tls_port(), right_name);
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
  const TlsOutcome any = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(any.handshake) << any.error;
  EXPECT_EQ(any.protocol, "TLSv1.2");
  EXPECT_EQ(line_value(any.body, "tls-protocol"), "TLSv1.2");
  EXPECT_EQ(line_value(any.body, "tls-cipher"), "ECDHE-ECDSA-AES128-GCM-SHA256");

  TlsClientSetup tls13_only = trusting(pki.ca_cert());
  tls13_only.min_version = TLS1_3_VERSION;
  const TlsOutcome refused = tls_get(server.tls_port(), tls13_only);
  EXPECT_FALSE(refused.handshake);
  EXPECT_NE(refused.error.find("alert protocol version"), std::string::npos) << refused.error;

  TlsClientSetup other_cipher = trusting(pki.ca_cert());
  other_cipher.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
  const TlsOutcome no_cipher = tls_get(server.tls_port(), other_cipher);
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
  TlsClientSetup legacy = trusting(pki.ca_cert());
  legacy.min_version = TLS1_VERSION;
  legacy.max_version = TLS1_VERSION;
  legacy.ciphers = "DEFAULT@SECLEVEL=0";
  const TlsOutcome tls10 = tls_get(server.tls_port(), legacy);
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
    TlsClientSetup modern = trusting(pki.ca_cert());
    modern.min_version = min_version;
    modern.max_version = max_version;
    modern.ciphers = "DEFAULT@SECLEVEL=0";
    const TlsOutcome refused = tls_get(server.tls_port(), modern);
    EXPECT_FALSE(refused.handshake) << refused.protocol;
    EXPECT_TRUE(refused.error.find("alert protocol version") != std::string::npos ||
                refused.error.find("unsupported protocol") != std::string::npos)
        << refused.error;
  }

  // OpenSSL 3's default security level refuses TLS 1.0's SHA-1 signatures on
  // the client side too: a client must lower it to connect.
  TlsClientSetup default_level = trusting(pki.ca_cert());
  default_level.min_version = TLS1_VERSION;
  const TlsOutcome refused = tls_get(server.tls_port(), default_level);
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
    TlsClientSetup setup = trusting(pki.ca_cert());
    setup.max_version = version;
    const TlsOutcome first = tls_get(server.tls_port(), setup);
    ASSERT_TRUE(first.handshake) << first.error;
    EXPECT_FALSE(first.reused);
    EXPECT_EQ(line_value(first.body, "tls-session-reused"), ".");
    ASSERT_TRUE(first.session);
    EXPECT_EQ(SSL_SESSION_is_resumable(first.session.get()), 1);

    setup.session = first.session.get();
    const TlsOutcome second = tls_get(server.tls_port(), setup);
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
    TlsClientSetup setup = trusting(pki.ca_cert());
    setup.max_version = version;
    const TlsOutcome first = tls_get(server.tls_port(), setup);
    ASSERT_TRUE(first.handshake) << first.error;
    setup.session = first.session.get();
    const TlsOutcome second = tls_get(server.tls_port(), setup);
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

  TlsClientSetup with_cert = trusting(pki.ca_cert());
  with_cert.cert = pki.client_cert();
  with_cert.key = pki.client_key();
  const TlsOutcome ok = tls_get(server.tls_port(), with_cert);
  ASSERT_TRUE(ok.handshake) << ok.error;
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(line_value(ok.body, "tls-client-verify"), "SUCCESS");
  EXPECT_EQ(line_value(ok.body, "tls-client-subject"), TestPki::kClientSubject);

  // nginx completes the handshake and answers 400 at the HTTP level.
  const TlsOutcome without = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(without.handshake) << without.error;
  EXPECT_EQ(without.status, 400);
  EXPECT_NE(without.body.find("No required SSL certificate was sent"), std::string::npos) << without.body;

  // A certificate the client CA did not sign: 400 as well.
  TlsClientSetup foreign = trusting(pki.ca_cert());
  foreign.cert = pki.other_ca_cert();
  foreign.key = pki.other_ca_key();
  const TlsOutcome rejected = tls_get(server.tls_port(), foreign);
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
  const TlsOutcome without = tls_get(server.tls_port(), trusting(pki.ca_cert()));
  ASSERT_TRUE(without.handshake) << without.error;
  EXPECT_EQ(without.status, 200);
  EXPECT_EQ(line_value(without.body, "tls-client-verify"), "NONE");

  TlsClientSetup with_cert = trusting(pki.ca_cert());
  with_cert.cert = pki.client_cert();
  with_cert.key = pki.client_key();
  const TlsOutcome with = tls_get(server.tls_port(), with_cert);
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
