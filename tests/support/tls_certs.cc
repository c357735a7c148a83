#include "support/tls_certs.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

#include "support/child_process.h"

namespace nethttp::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kDirStem = "/tmp/nethttp-pki-";
constexpr std::string_view kPidFile = "pki.pid";
/// One openssl command (a key, a signature) takes milliseconds; this only
/// bounds a hung one.
constexpr std::chrono::seconds kCommandTimeout{30};
constexpr std::chrono::milliseconds kPollInterval{1};

/// The configuration every command reads (OPENSSL_CONF and -config/-extfile):
/// the system's openssl.cnf plays no part. `dir` holds the `openssl ca` files.
std::string openssl_config(const std::string& dir) {
  return "# Written by nethttp::testing::TestPki (tests/support/tls_certs.cc).\n"
         "[req]\n"
         "distinguished_name = req_dn\n"
         "prompt = no\n"
         "[req_dn]\n"
         "CN = unused\n"
         "[ca_ext]\n"
         "basicConstraints = critical,CA:TRUE\n"
         "keyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\n"
         "[server_ext]\n"
         "basicConstraints = critical,CA:FALSE\n"
         "keyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = serverAuth\n"
         "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1\n"
         "subjectKeyIdentifier = hash\n"
         "authorityKeyIdentifier = keyid\n"
         "[wrong_name_ext]\n"
         "basicConstraints = critical,CA:FALSE\n"
         "keyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = serverAuth\n"
         "subjectAltName = DNS:wrong.example\n"
         "subjectKeyIdentifier = hash\n"
         "authorityKeyIdentifier = keyid\n"
         "[client_ext]\n"
         "basicConstraints = critical,CA:FALSE\n"
         "keyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = clientAuth\n"
         "subjectKeyIdentifier = hash\n"
         "authorityKeyIdentifier = keyid\n"
         "[ca]\n"
         "default_ca = test_ca\n"
         "[test_ca]\n"
         "database = " +
         dir + "/ca-index.txt\n" + "new_certs_dir = " + dir + "/ca-issued\n" + "serial = " + dir +
         "/ca-serial\n"
         "default_md = sha256\n"
         "policy = test_policy\n"
         "copy_extensions = none\n"
         "unique_subject = no\n"
         "[test_policy]\n"
         "commonName = supplied\n";
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    line += arg.find(' ') == std::string::npos ? arg : "'" + arg + "'";
  }
  return line;
}

}  // namespace

TestPki::~TestPki() {
  remove_scratch_dir(dir_, kDirStem);
}

const TestPki& TestPki::shared() {
  static TestPki pki;
  static std::once_flag once;
  std::call_once(once, [] { static_cast<void>(pki.generate()); });
  return pki;
}

std::string TestPki::binary_path() {
  return program_path("NETHTTP_OPENSSL", "/usr/bin/openssl");
}

::testing::AssertionResult TestPki::ok() const {
  if (!generated_) return ::testing::AssertionFailure() << "TestPki::generate() was not called";
  if (!ready_) return ::testing::AssertionFailure() << failure_;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult TestPki::generate() {
  if (generated_) return ::testing::AssertionFailure() << "TestPki::generate() called twice";
  generated_ = true;
  const std::string openssl = binary_path();
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  if (::access(openssl.c_str(), X_OK) != 0) {
    result = ::testing::AssertionFailure()
             << "openssl is not installed (" << errno_text(openssl)
             << "). Run scripts/test.sh, which installs the test packages (Debian's `openssl`), "
                "or set NETHTTP_OPENSSL to an openssl binary.";
  } else {
    std::string error;
    dir_ = make_scratch_dir(kDirStem, kPidFile, &error);
    if (dir_.empty()) {
      result = ::testing::AssertionFailure() << "TestPki: " << error;
    } else {
      result = make_all(openssl);
    }
  }
  if (result) {
    ready_ = true;
  } else {
    failure_ = result.message();
    remove_scratch_dir(dir_, kDirStem);
    dir_.clear();
  }
  return result;
}

::testing::AssertionResult TestPki::make_all(const std::string& openssl) {
  const std::string& d = dir_;
  const std::string config = d + "/openssl.cnf";
  std::string error;
  if (!write_file(d + "/" + std::string(kPidFile), std::to_string(::getpid()) + "\n", &error) ||
      !write_file(config, openssl_config(d), &error) || !write_file(d + "/ca-index.txt", "", &error) ||
      !write_file(d + "/ca-serial", "1000\n", &error)) {
    return ::testing::AssertionFailure() << "TestPki: " << error;
  }
  if (::mkdir((d + "/ca-issued").c_str(), 0700) != 0) {
    return ::testing::AssertionFailure() << "TestPki: " << errno_text("mkdir " + d + "/ca-issued");
  }
  const std::vector<std::string> new_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"};

  // A self-signed CA: key and certificate in one command.
  const auto make_ca = [&](const std::string& name, const std::string& subject) {
    std::vector<std::string> args = {"req", "-x509", "-new", "-config", config, "-extensions", "ca_ext"};
    args.insert(args.end(), new_key.begin(), new_key.end());
    args.insert(args.end(), {"-keyout", d + "/" + name + ".key", "-out", d + "/" + name + ".crt", "-subj",
                             subject, "-days", "3650", "-sha256"});
    return run(openssl, std::move(args));
  };
  // A key and a certificate request for it.
  const auto make_request = [&](const std::string& name, const std::string& subject) {
    std::vector<std::string> args = {"req", "-new", "-config", config};
    args.insert(args.end(), new_key.begin(), new_key.end());
    args.insert(args.end(),
                {"-keyout", d + "/" + name + ".key", "-out", d + "/" + name + ".csr", "-subj", subject});
    return run(openssl, std::move(args));
  };
  // The request signed by the CA, valid from now for ten years.
  const auto sign = [&](const std::string& name, const std::string& extensions, const std::string& serial) {
    return run(openssl, {"x509", "-req", "-in", d + "/" + name + ".csr", "-CA", d + "/ca.crt", "-CAkey",
                         d + "/ca.key", "-set_serial", serial, "-days", "3650", "-sha256", "-extfile", config,
                         "-extensions", extensions, "-out", d + "/" + name + ".crt"});
  };

  ::testing::AssertionResult result = make_ca("ca", "/CN=nethttp test CA");
  if (result) result = make_ca("other-ca", "/CN=nethttp other test CA");
  if (result) result = make_request("server", "/CN=localhost");
  if (result) result = sign("server", "server_ext", "0x100");
  if (result) result = make_request("wrong-name", "/CN=wrong.example");
  if (result) result = sign("wrong-name", "wrong_name_ext", "0x101");
  if (result) result = make_request("client", "/CN=nethttp test client");
  if (result) result = sign("client", "client_ext", "0x102");
  if (result) result = make_request("expired", "/CN=localhost");
  if (result) {
    // OpenSSL 3.0's `x509 -req` has no -not_before/-not_after (3.4 has them):
    // its notBefore is now. `ca` takes any dates.
    std::vector<std::string> args = {"ca", "-batch", "-notext", "-config", config, "-name", "test_ca"};
    args.insert(args.end(), {"-cert", d + "/ca.crt", "-keyfile", d + "/ca.key", "-in", d + "/expired.csr"});
    args.insert(args.end(), {"-startdate", "20200101000000Z", "-enddate", "20200102000000Z"});
    args.insert(args.end(), {"-extfile", config, "-extensions", "server_ext", "-out", d + "/expired.crt"});
    result = run(openssl, std::move(args));
  }
  return result;
}

::testing::AssertionResult TestPki::run(const std::string& openssl, std::vector<std::string> args) {
  args.insert(args.begin(), openssl);
  const std::string line = command_line(args);
  const std::string output_path = dir_ + "/openssl.out";
  ChildSpec spec;
  spec.name = "openssl";
  spec.argv = std::move(args);
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OPENSSL_CONF=" + dir_ + "/openssl.cnf", "HOME=" + dir_};
  spec.output_path = output_path;
  spec.stop_signal = SIGKILL;
  spec.stop_timeout = std::chrono::milliseconds(100);
  ChildProcess child;
  ::testing::AssertionResult spawned = child.spawn(std::move(spec));
  std::string why;
  if (!spawned) {
    why = spawned.message();
  } else {
    const Clock::time_point deadline = Clock::now() + kCommandTimeout;
    while (child.running()) {
      if (Clock::now() >= deadline) {
        child.stop();
        why = "did not finish within " + std::to_string(kCommandTimeout.count()) + " s";
        break;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    if (why.empty() && child.exit_description() != "exited with status 0") why = child.exit_description();
  }
  if (why.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "TestPki: `" << line << "` " << why << "; its output:\n"
                                       << last_bytes(file_contents(output_path), 4000);
}

}  // namespace nethttp::testing
