// The body of a response a test expects to succeed.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "nethttp/response.h"

namespace nethttp::testing {

/// The whole body of a successful response ("" and a test failure otherwise).
inline std::string body_of(Result<Response>& r) {
  EXPECT_TRUE(r.ok()) << r.error().message();
  if (!r) return {};
  Result<std::string> body = r->body.read_all();
  EXPECT_TRUE(body.ok()) << body.error().message();
  return body ? *body : std::string();
}

}  // namespace nethttp::testing
