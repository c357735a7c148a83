// https against a real nginx with certificates made at test time (TestPki):
// verification and its failures, the negotiated state, resumption, client
// certificates, a TLS 1.0-only server, a plain server, handshake limits.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/client.h"
#include "nethttp/transport.h"
#include "support/dialers.h"
#include "support/leak_check.h"
#include "support/nginx.h"
#include "support/printers.h"
#include "support/scripted_server.h"
#include "support/tls_certs.h"
#include "support/wait.h"

namespace nethttp {
namespace {

using namespace std::chrono_literals;
using testing::NginxServer;
using testing::NginxTlsOptions;
using testing::Script;
using testing::ScriptedServer;
using testing::TestPki;

const TestPki& pki() {
  return TestPki::shared();
}

class Tls : public testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    ASSERT_TRUE(pki().ok());
  }

  /// nginx serving TLS with this certificate (the good one by default).
  NginxServer& nginx(std::optional<NginxTlsOptions> tls = std::nullopt) {
    testing::NginxOptions options;
    options.tls =
        tls ? std::move(*tls) : NginxTlsOptions{.cert = pki().server_cert(), .key = pki().server_key()};
    auto server = std::make_shared<NginxServer>(std::move(options));
    EXPECT_TRUE(server->start());
    return keep_server(std::move(server));
  }
  /// A transport that trusts the test CA (unless told otherwise).
  Transport& transport_trusting(std::string ca_file, TransportOptions options = {}) {
    options.tls.ca_file = std::move(ca_file);
    return make_transport(std::move(options));
  }
  static std::string url(const NginxServer& server, std::string_view host, std::string_view path) {
    return "https://" + std::string(host) + ":" + std::to_string(server.tls_port()) + std::string(path);
  }
  /// GETs `url`; the body, or "error <kind>: <message>".
  std::string get(Transport& t, const std::string& target, Response* out = nullptr) {
    Result<Request> request = make_request("GET", target);
    if (!request) return "error bad_url: " + request.error().message();
    Result<Response> response = t.round_trip(std::make_shared<const Request>(*std::move(request)));
    if (!response) {
      return "error " + std::string(to_string(response.error().kind())) + ": " + response.error().message();
    }
    std::string body = response->body.read_all().value_or("(body failed)");
    if (out != nullptr) *out = std::move(*response);
    return body;
  }
};

TEST_F(Tls, VerifiesTheChainAndTheNameAndReportsWhatWasNegotiated) {
  NginxServer& server = nginx();
  Transport& t = transport_trusting(pki().ca_cert());
  Response response;
  EXPECT_EQ(get(t, url(server, "localhost", "/small"), &response), "hello, world\n");
  ASSERT_NE(response.conn.tls, nullptr);
  const TlsState& state = *response.conn.tls;
  EXPECT_EQ(state.version, "TLSv1.3");
  EXPECT_FALSE(state.cipher.empty());
  EXPECT_EQ(state.alpn, "http/1.1");
  EXPECT_EQ(state.server_name, "localhost");
  EXPECT_NE(state.peer_subject.find("CN="), std::string::npos) << state.peer_subject;
  EXPECT_NE(std::find(state.peer_names.begin(), state.peer_names.end(), "localhost"), state.peer_names.end());
  EXPECT_FALSE(state.resumed);
  // By address: the IP SAN is checked, no SNI is sent.
  const std::string by_ip = get(t, url(server, "127.0.0.1", "/request"));
  EXPECT_NE(by_ip.find("tls-server-name: \n"), std::string::npos) << by_ip;
  // Plain responses carry no TLS state.
  Response plain;
  EXPECT_EQ(get(t, server.url("/small"), &plain), "hello, world\n");
  EXPECT_EQ(plain.conn.tls, nullptr);
}

TEST_F(Tls, SendsTheNameAsSniAndOffersHttp11) {
  NginxServer& server = nginx();
  Transport& t = transport_trusting(pki().ca_cert());
  const std::string seen = get(t, url(server, "localhost", "/request"));
  EXPECT_NE(seen.find("tls-server-name: localhost\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("tls-alpn: http/1.1\n"), std::string::npos) << seen;
}

TEST_F(Tls, RefusesACertificateFromAnUnknownAuthority) {
  NginxServer& server = nginx();
  const std::string with_system_store = get(make_transport(), url(server, "localhost", "/small"));
  EXPECT_EQ(with_system_store.rfind("error tls: ", 0), 0u) << with_system_store;
  EXPECT_NE(with_system_store.find("certificate signed by unknown authority"), std::string::npos)
      << with_system_store;
  EXPECT_NE(with_system_store.find("localhost:" + std::to_string(server.tls_port())), std::string::npos)
      << "the message names the peer: " << with_system_store;
  const std::string with_other_ca =
      get(transport_trusting(pki().other_ca_cert()), url(server, "localhost", "/small"));
  EXPECT_NE(with_other_ca.find("certificate signed by unknown authority"), std::string::npos)
      << with_other_ca;
}

TEST_F(Tls, RefusesAnExpiredCertificateSayingSo) {
  NginxServer& server = nginx(NginxTlsOptions{.cert = pki().expired_cert(), .key = pki().expired_key()});
  const std::string got = get(transport_trusting(pki().ca_cert()), url(server, "localhost", "/small"));
  EXPECT_EQ(got.rfind("error tls: ", 0), 0u) << got;
  EXPECT_NE(got.find("certificate has expired (valid until "), std::string::npos) << got;
}

TEST_F(Tls, RefusesACertificateForAnotherNameNamingItsNames) {
  NginxServer& server =
      nginx(NginxTlsOptions{.cert = pki().wrong_name_cert(), .key = pki().wrong_name_key()});
  Transport& t = transport_trusting(pki().ca_cert());
  const std::string by_name = get(t, url(server, "localhost", "/small"));
  EXPECT_NE(by_name.find("certificate is valid for wrong.example, not localhost"), std::string::npos)
      << by_name;
  const std::string by_ip = get(t, url(server, "127.0.0.1", "/small"));
  EXPECT_NE(by_ip.find("certificate is valid for wrong.example, not 127.0.0.1"), std::string::npos) << by_ip;
}

TEST_F(Tls, InsecureSkipVerifyAcceptsWhatVerificationWouldRefuse) {
  NginxServer& server = nginx(NginxTlsOptions{.cert = pki().expired_cert(), .key = pki().expired_key()});
  TransportOptions options;
  options.tls.insecure_skip_verify = true;
  EXPECT_EQ(get(make_transport(std::move(options)), url(server, "localhost", "/small")), "hello, world\n");
}

TEST_F(Tls, RefusesATls10OnlyServer) {
  NginxServer& server = nginx(NginxTlsOptions::tls10_only(pki().server_cert(), pki().server_key()));
  const std::string got = get(transport_trusting(pki().ca_cert()), url(server, "localhost", "/small"));
  EXPECT_EQ(got.rfind("error tls: ", 0), 0u) << got;
}

TEST_F(Tls, ASecondConnectionResumesTheSession) {
  NginxServer& server = nginx();
  TransportOptions options;
  options.disable_keep_alives = true;
  Transport& t = transport_trusting(pki().ca_cert(), std::move(options));
  Response first;
  Response second;
  EXPECT_EQ(get(t, url(server, "localhost", "/small"), &first), "hello, world\n");
  const std::string seen = get(t, url(server, "localhost", "/request"), &second);
  ASSERT_NE(first.conn.tls, nullptr);
  ASSERT_NE(second.conn.tls, nullptr);
  EXPECT_NE(first.conn.id, second.conn.id);
  EXPECT_FALSE(first.conn.tls->resumed);
  EXPECT_TRUE(second.conn.tls->resumed);
  EXPECT_NE(seen.find("tls-session-reused: r\n"), std::string::npos) << "nginx agrees: " << seen;
  EXPECT_EQ(second.conn.tls->peer_subject, first.conn.tls->peer_subject);

  TransportOptions no_resumption;
  no_resumption.disable_keep_alives = true;
  no_resumption.tls.session_resumption = false;
  Transport& fresh = transport_trusting(pki().ca_cert(), std::move(no_resumption));
  EXPECT_EQ(get(fresh, url(server, "localhost", "/small")), "hello, world\n");
  Response again;
  EXPECT_EQ(get(fresh, url(server, "localhost", "/small"), &again), "hello, world\n");
  ASSERT_NE(again.conn.tls, nullptr);
  EXPECT_FALSE(again.conn.tls->resumed);
}

// A TLS 1.3 resumption makes OpenSSL mark the session it resumed from as
// used up: a connection that handshakes before the resumed one has read its
// new ticket must still resume (each handshake starts from its own copy).
TEST_F(Tls, AConnectionDialedWhileAnotherHasJustResumedResumesToo) {
  NginxServer& server = nginx();
  const std::string target = url(server, "localhost", "/small");
  std::atomic<int> handshakes = 0;
  std::atomic<int> third_resumed = -1;
  std::thread third_request;
  Transport* t = nullptr;
  TransportOptions options;
  options.disable_keep_alives = true;
  options.trace.tls_handshake_done = [&](const TlsState* state, const Error*) {
    if (state == nullptr) return;
    const int n = ++handshakes;
    if (n == 3) third_resumed = state->resumed ? 1 : 0;
    if (n != 2) return;
    // The second connection has resumed and read nothing yet: a third
    // connection handshakes now, while this one waits.
    EXPECT_TRUE(state->resumed);
    third_request = std::thread([&] { EXPECT_EQ(get(*t, target), "hello, world\n"); });
    EXPECT_TRUE(testing::wait_for([&] { return third_resumed != -1; }));
  };
  t = &transport_trusting(pki().ca_cert(), std::move(options));
  EXPECT_EQ(get(*t, target), "hello, world\n");  // a full handshake: the session to resume
  EXPECT_EQ(get(*t, target), "hello, world\n");
  third_request.join();
  EXPECT_EQ(handshakes, 3);
  EXPECT_EQ(third_resumed, 1);
}

TEST_F(Tls, SendsTheClientCertificateWhenConfigured) {
  NginxTlsOptions tls{.cert = pki().server_cert(), .key = pki().server_key()};
  tls.client_ca = pki().ca_cert();
  NginxServer& server = nginx(std::move(tls));
  TransportOptions options;
  options.tls.cert_file = pki().client_cert();
  options.tls.key_file = pki().client_key();
  const std::string with_cert =
      get(transport_trusting(pki().ca_cert(), std::move(options)), url(server, "localhost", "/request"));
  EXPECT_NE(with_cert.find("tls-client-verify: SUCCESS\n"), std::string::npos) << with_cert;
  Response refused;
  (void)get(transport_trusting(pki().ca_cert()), url(server, "localhost", "/request"), &refused);
  EXPECT_EQ(refused.status, 400) << "nginx answers a missing client certificate with 400";

  TransportOptions missing_key;
  missing_key.tls.cert_file = pki().client_cert();
  const std::string half = get(make_transport(std::move(missing_key)), url(server, "localhost", "/small"));
  EXPECT_NE(half.find("needs both a certificate file and a key file"), std::string::npos) << half;
}

TEST_F(Tls, RunsOverTheSocketADialHookReturns) {
  NginxServer& server = nginx();
  auto dialer = std::make_shared<testing::GatedDialer>(server.tls_port());
  TransportOptions options;
  options.dial = testing::GatedDialer::func(dialer);
  Transport& t = transport_trusting(pki().ca_cert(), std::move(options));
  // The port in the URL is not dialed: the hook connects to nginx's TLS port.
  Response response;
  EXPECT_EQ(get(t, "https://localhost:1/small", &response), "hello, world\n");
  EXPECT_EQ(dialer->dials_started(), 1);
  ASSERT_NE(response.conn.tls, nullptr);
  EXPECT_EQ(response.conn.tls->server_name, "localhost");
}

TEST_F(Tls, APlainHttpServerIsReportedAsSuch) {
  NginxServer& server = nginx();
  const std::string got = get(transport_trusting(pki().ca_cert()),
                              "https://127.0.0.1:" + std::to_string(server.port()) + "/small");
  EXPECT_NE(got.find("server gave HTTP response to HTTPS client"), std::string::npos) << got;
}

TEST_F(Tls, ACaFileThatCannotBeReadFailsTheRequestNamingIt) {
  NginxServer& server = nginx();
  const std::string got = get(transport_trusting("/nonexistent/ca.pem"), url(server, "localhost", "/small"));
  EXPECT_EQ(got.rfind("error tls: ", 0), 0u) << got;
  EXPECT_NE(got.find("/nonexistent/ca.pem"), std::string::npos) << got;
}

TEST_F(Tls, AHandshakeThatNeverAnswersEndsAtTheHandshakeTimeoutOrWhenCanceled) {
  // Accepts, reads the ClientHello, never answers.
  ScriptedServer& silent =
      keep_server(std::make_shared<ScriptedServer>(std::vector<Script>{}, Script().stall_until_closed()));
  TransportOptions options;
  options.tls_handshake_timeout = 200ms;
  Transport& t = transport_trusting(pki().ca_cert(), std::move(options));
  const std::string silent_url = "https://127.0.0.1:" + std::to_string(silent.port()) + "/";
  const std::string got = get(t, silent_url);
  EXPECT_EQ(got.rfind("error timeout: ", 0), 0u) << got;
  EXPECT_NE(got.find("TLS handshake timeout (200 ms)"), std::string::npos) << got;

  // A request waiting on a handshake stops waiting when canceled.
  std::stop_source stop;
  Result<Request> request = make_request("GET", silent_url);
  ASSERT_TRUE(request);
  request->cancel = stop.get_token();
  testing::Gate handshaking;
  std::thread canceller([&] {
    EXPECT_TRUE(handshaking.wait()) << "the handshake never started";
    std::this_thread::sleep_for(50ms);  // for the request to block on it
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  TransportOptions slow;
  slow.tls_handshake_timeout = 2s;
  slow.trace.tls_handshake_start = [&](std::string_view) { handshaking.open(); };
  Transport& patient = transport_trusting(pki().ca_cert(), std::move(slow));
  Result<Response> canceled = patient.round_trip(std::make_shared<const Request>(*std::move(request)));
  canceller.join();
  ASSERT_FALSE(canceled);
  EXPECT_EQ(canceled.error().kind(), ErrorKind::canceled) << canceled.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace nethttp
