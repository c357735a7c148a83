#include "nethttp/error.h"

#include <string>

#include <gtest/gtest.h>

namespace nethttp {
namespace {

TEST(Error, KindNamesMatchTheCliContract) {
  EXPECT_EQ(to_string(ErrorKind::bad_url), "bad_url");
  EXPECT_EQ(to_string(ErrorKind::invalid_request), "invalid_request");
  EXPECT_EQ(to_string(ErrorKind::dns), "dns");
  EXPECT_EQ(to_string(ErrorKind::connect), "connect");
  EXPECT_EQ(to_string(ErrorKind::tls), "tls");
  EXPECT_EQ(to_string(ErrorKind::proxy), "proxy");
  EXPECT_EQ(to_string(ErrorKind::timeout), "timeout");
  EXPECT_EQ(to_string(ErrorKind::canceled), "canceled");
  EXPECT_EQ(to_string(ErrorKind::protocol), "protocol");
  EXPECT_EQ(to_string(ErrorKind::header_too_large), "header_too_large");
  EXPECT_EQ(to_string(ErrorKind::body), "body");
  EXPECT_EQ(to_string(ErrorKind::too_many_redirects), "too_many_redirects");
  EXPECT_EQ(to_string(ErrorKind::io), "io");
}

TEST(Error, ContextIsPutBeforeTheMessage) {
  Error e = Error(ErrorKind::io, "connection closed by peer", 104)
                .with_context("reading response headers from 127.0.0.1:8080");
  EXPECT_EQ(e.message(), "reading response headers from 127.0.0.1:8080: connection closed by peer");
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_EQ(e.sys_errno(), 104);
}

TEST(Result, HoldsAValueOrAnError) {
  Result<std::string> good = std::string("x");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "x");
  Result<std::string> bad = Error(ErrorKind::protocol, "bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::protocol);
}

TEST(Error, CarriesTheStatusOfAResponseThatHadArrivedThroughContext) {
  EXPECT_EQ(Error(ErrorKind::io, "x").response_status(), 0);
  Error e = Error(ErrorKind::too_many_redirects, "stopped").with_response_status(302).with_context("GET /a");
  EXPECT_EQ(e.response_status(), 302);
  EXPECT_EQ(e.message(), "GET /a: stopped");
}

TEST(Result, ValueOrGivesTheFallbackOnlyOnError) {
  EXPECT_EQ(Result<std::string>(std::string("x")).value_or("fallback"), "x");
  EXPECT_EQ(Result<std::string>(Error(ErrorKind::body, "bad")).value_or("fallback"), "fallback");
}

TEST(ResultDeathTest, TheWrongAlternativeAbortsInEveryBuild) {
  Result<std::string> bad = Error(ErrorKind::body, "bad");
  EXPECT_DEATH((void)bad.value(), "");
  Result<std::string> good = std::string("x");
  EXPECT_DEATH((void)good.error(), "");
  Result<void> fine;
  EXPECT_DEATH((void)fine.error(), "");
}

TEST(Result, VoidResultIsOkByDefault) {
  Result<void> good;
  EXPECT_TRUE(good.ok());
  Result<void> bad = Error(ErrorKind::body, "truncated");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "truncated");
}

}  // namespace
}  // namespace nethttp
