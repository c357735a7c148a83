// The throw-away PKI (tests/support/tls_certs.h): every certificate verifies,
// or fails to, the way the TLS tests rely on, checked with OpenSSL's own
// verifier (X509_verify_cert) rather than with the library under test.
#include "support/tls_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "support/scoped_env.h"

namespace nethttp::testing {
namespace {

namespace fs = std::filesystem;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

X509Ptr read_cert(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return nullptr;
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

KeyPtr read_key(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return nullptr;
  KeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

/// X509_verify_cert's verdict on `cert` trusting only `ca`, for `purpose`
/// (X509_PURPOSE_SSL_SERVER...) and, when given, a DNS name or an IP address:
/// X509_V_OK or the error code. -1 when a file cannot be read.
int verify(const std::string& cert_path, const std::string& ca_path, int purpose,
           const std::optional<std::string>& host = std::nullopt,
           const std::optional<std::string>& ip = std::nullopt) {
  const X509Ptr cert = read_cert(cert_path);
  const X509Ptr ca = read_cert(ca_path);
  if (!cert || !ca) return -1;
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  if (host) X509_VERIFY_PARAM_set1_host(param, host->c_str(), 0);
  if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, ip->c_str());
  const int ok = X509_verify_cert(ctx);
  const int error = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return error;
}

std::string verify_text(int error) {
  return error < 0 ? "cannot read a file" : X509_verify_cert_error_string(error);
}

TEST(TestPki, SharedIsGeneratedOnceWithEveryFile) {
  const auto began = std::chrono::steady_clock::now();
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  EXPECT_EQ(&TestPki::shared(), &pki);
  EXPECT_TRUE(fs::is_directory(pki.dir())) << pki.dir();
  EXPECT_EQ(pki.dir().rfind("/tmp/nethttp-pki-", 0), 0u) << pki.dir();
  for (const std::string& path :
       {pki.ca_cert(), pki.ca_key(), pki.server_cert(), pki.server_key(), pki.expired_cert(),
        pki.expired_key(), pki.wrong_name_cert(), pki.wrong_name_key(), pki.other_ca_cert(),
        pki.other_ca_key(), pki.client_cert(), pki.client_key()}) {
    EXPECT_EQ(path.rfind(pki.dir() + "/", 0), 0u) << path;
    EXPECT_GT(fs::file_size(path), 0u) << path;
  }
  // Generation is fast: one run of the openssl command per file, EC keys.
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(10));
}

TEST(TestPki, EveryKeyIsAnEcP256KeyMatchingItsCertificate) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  const std::pair<std::string, std::string> pairs[] = {
      {pki.ca_cert(), pki.ca_key()},
      {pki.server_cert(), pki.server_key()},
      {pki.expired_cert(), pki.expired_key()},
      {pki.wrong_name_cert(), pki.wrong_name_key()},
      {pki.other_ca_cert(), pki.other_ca_key()},
      {pki.client_cert(), pki.client_key()},
  };
  for (const auto& [cert_path, key_path] : pairs) {
    SCOPED_TRACE(cert_path);
    const X509Ptr cert = read_cert(cert_path);
    const KeyPtr key = read_key(key_path);
    ASSERT_TRUE(cert);
    ASSERT_TRUE(key);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
    EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
    EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
    // Only the owner may read a key (openssl writes them 0600).
    EXPECT_EQ(fs::status(key_path).permissions() & (fs::perms::group_all | fs::perms::others_all),
              fs::perms::none);
  }
}

TEST(TestPki, ServerCertificateVerifiesForLocalhostAndTheLoopbackAddresses) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  const int plain = verify(pki.server_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(plain, X509_V_OK) << verify_text(plain);
  const int host = verify(pki.server_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, "localhost");
  EXPECT_EQ(host, X509_V_OK) << verify_text(host);
  const int v4 = verify(pki.server_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, std::nullopt, "127.0.0.1");
  EXPECT_EQ(v4, X509_V_OK) << verify_text(v4);
  const int v6 = verify(pki.server_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, std::nullopt, "::1");
  EXPECT_EQ(v6, X509_V_OK) << verify_text(v6);
  const int other_host = verify(pki.server_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, "example.com");
  EXPECT_EQ(other_host, X509_V_ERR_HOSTNAME_MISMATCH) << verify_text(other_host);
  // The CA is a CA; the server certificate is not one.
  const int ca_itself = verify(pki.ca_cert(), pki.ca_cert(), X509_PURPOSE_ANY);
  EXPECT_EQ(ca_itself, X509_V_OK) << verify_text(ca_itself);
  const X509Ptr server = read_cert(pki.server_cert());
  ASSERT_TRUE(server);
  EXPECT_EQ(X509_check_ca(server.get()), 0);
}

TEST(TestPki, ServerCertificateFailsAgainstTheOtherCa) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  const int error = verify(pki.server_cert(), pki.other_ca_cert(), X509_PURPOSE_SSL_SERVER, "localhost");
  EXPECT_EQ(error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << verify_text(error);
  const int other_ca = verify(pki.other_ca_cert(), pki.other_ca_cert(), X509_PURPOSE_ANY);
  EXPECT_EQ(other_ca, X509_V_OK) << verify_text(other_ca);
}

TEST(TestPki, ExpiredCertificateIsReportedAsExpired) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  const int error = verify(pki.expired_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, "localhost");
  EXPECT_EQ(error, X509_V_ERR_CERT_HAS_EXPIRED) << verify_text(error);
  const X509Ptr cert = read_cert(pki.expired_cert());
  ASSERT_TRUE(cert);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0) << "notAfter is in the past";
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0) << "and so is notBefore";
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1) << "the names are right";
}

TEST(TestPki, WrongNameCertificateIsAValidChainForAnotherName) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  const int chain = verify(pki.wrong_name_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(chain, X509_V_OK) << verify_text(chain);
  const int own_name = verify(pki.wrong_name_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, "wrong.example");
  EXPECT_EQ(own_name, X509_V_OK) << verify_text(own_name);
  const int host = verify(pki.wrong_name_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, "localhost");
  EXPECT_EQ(host, X509_V_ERR_HOSTNAME_MISMATCH) << verify_text(host);
  const int ip =
      verify(pki.wrong_name_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER, std::nullopt, "127.0.0.1");
  EXPECT_EQ(ip, X509_V_ERR_IP_ADDRESS_MISMATCH) << verify_text(ip);
}

TEST(TestPki, ClientCertificateVerifiesForClientAuthOnly) {
  const TestPki& pki = TestPki::shared();
  ASSERT_TRUE(pki.ok());
  const int client = verify(pki.client_cert(), pki.ca_cert(), X509_PURPOSE_SSL_CLIENT);
  EXPECT_EQ(client, X509_V_OK) << verify_text(client);
  const int as_server = verify(pki.client_cert(), pki.ca_cert(), X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(as_server, X509_V_ERR_INVALID_PURPOSE) << verify_text(as_server);
  const X509Ptr cert = read_cert(pki.client_cert());
  ASSERT_TRUE(cert);
  char subject[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert.get()), subject, sizeof subject);
  EXPECT_STREQ(subject, "/CN=nethttp test client");
}

TEST(TestPki, AnInstanceOfItsOwnHasItsOwnCaAndRemovesItsDirectory) {
  std::string dir;
  {
    TestPki pki;
    ASSERT_FALSE(pki.ok()) << "not generated yet";
    EXPECT_EQ(pki.ca_cert(), "");
    ASSERT_TRUE(pki.generate());
    ASSERT_TRUE(pki.ok());
    EXPECT_FALSE(pki.generate()) << "once only";
    dir = pki.dir();
    EXPECT_NE(dir, TestPki::shared().dir());
    // Another CA: the shared one does not vouch for this server certificate.
    const int error = verify(pki.server_cert(), TestPki::shared().ca_cert(), X509_PURPOSE_SSL_SERVER);
    EXPECT_NE(error, X509_V_OK);
    EXPECT_TRUE(fs::exists(dir));
  }
  EXPECT_FALSE(fs::exists(dir)) << dir;
}

/// Runs generate() with $NETHTTP_OPENSSL set to `binary`, restoring it after.
::testing::AssertionResult generate_with(TestPki& pki, const char* binary) {
  return with_env("NETHTTP_OPENSSL", binary, [&] { return pki.generate(); });
}

TEST(TestPki, FailureSaysToRunTestShWhenOpensslIsMissing) {
  TestPki pki;
  const ::testing::AssertionResult generated = generate_with(pki, "/nonexistent/openssl");
  ASSERT_FALSE(generated);
  EXPECT_NE(std::string(generated.message()).find("scripts/test.sh"), std::string::npos)
      << generated.message();
  EXPECT_FALSE(pki.ok());
  EXPECT_EQ(std::string(pki.ok().message()), generated.message());
  EXPECT_EQ(pki.dir(), "");
}

TEST(TestPki, FailureNamesTheCommandAndShowsItsOutputAndLeavesNoDirectory) {
  // /bin/sh takes "req" for a script to run and says it cannot open it: a
  // command that fails with something on stderr.
  TestPki pki;
  const ::testing::AssertionResult generated = generate_with(pki, "/bin/sh");
  ASSERT_FALSE(generated);
  const std::string message = generated.message();
  EXPECT_NE(message.find("`/bin/sh req -x509 -new"), std::string::npos) << message;
  EXPECT_NE(message.find("exited with status 2"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot open req"), std::string::npos) << message;
  EXPECT_EQ(pki.dir(), "");
  EXPECT_EQ(pki.server_cert(), "");
}

}  // namespace
}  // namespace nethttp::testing
