// has_internal_host(): the hosts a redirect from a public one may not reach
// by default (the Client's SSRF guard).
#include <string_view>

#include <gtest/gtest.h>

#include "nethttp/url.h"

namespace nethttp {
namespace {

bool internal(std::string_view text) {
  Result<Url> url = Url::parse(text);
  EXPECT_TRUE(url.ok()) << text;
  return url.ok() && has_internal_host(*url);
}

TEST(InternalHost, CoversLoopbackPrivateLinkLocalAndSharedAddresses) {
  for (std::string_view text :
       {"http://127.0.0.1/", "http://127.255.0.9:8080/", "http://0.0.0.0/", "http://10.1.2.3/",
        "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/", "http://100.127.255.255/",
        "http://[::1]/", "http://[::]/", "http://[fc00::1]/", "http://[fdff::1]/", "http://[fe80::1]/",
        "http://[febf::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/"}) {
    EXPECT_TRUE(internal(text)) << text;
  }
}

TEST(InternalHost, CoversLocalNames) {
  for (std::string_view text :
       {"http://localhost/", "http://LOCALHOST:8080/", "http://localhost./", "http://api.localhost/",
        "http://printer.local/", "http://nas.home.arpa/", "http://metadata.google.internal/",
        "http://intranet/", "https://redis:6379/"}) {
    EXPECT_TRUE(internal(text)) << text;
  }
}

TEST(InternalHost, LeavesPublicAddressesAndNamesAlone) {
  for (std::string_view text :
       {"http://93.184.216.34/", "http://172.15.255.255/", "http://172.32.0.1/", "http://100.63.255.255/",
        "http://100.128.0.1/", "http://169.253.0.1/", "http://192.169.0.1/", "http://11.0.0.1/",
        "http://[2001:db8::1]/", "http://[fe00::1]/", "http://[fec0::1]/", "http://[::ffff:8.8.8.8]/",
        "http://[::2]/", "http://example.com/", "http://localhost.example.com/", "http://local.example/",
        "http://internal.example.com/", "http://example.com./"}) {
    EXPECT_FALSE(internal(text)) << text;
  }
}

}  // namespace
}  // namespace nethttp
