// why_not_reusable(): the one decision whether a connection goes back to the
// pool, as a table with one row per reason.
#include "pool/reuse.h"

#include <optional>
#include <string_view>

#include <gtest/gtest.h>

#include "unit/pool/pool_test_support.h"

namespace nethttp::testing {
namespace {

using pool::ExchangeFacts;
using pool::why_not_reusable;

/// Everything went well: the only state in which a connection may be reused.
constexpr ExchangeFacts kClean{
    .request_written = true,
    .body_complete = true,
    .response_persistent = true,
    .client_asked_close = false,
    .framing_clean = true,
    .switched_protocols = false,
    .bytes_after_response = false,
    .interrupted = false,
};

constexpr ExchangeFacts with(ExchangeFacts facts, bool ExchangeFacts::*field, bool value) {
  facts.*field = value;
  return facts;
}

struct ReuseCase {
  std::string_view name;
  ExchangeFacts facts;
  std::optional<CloseReason> expected;  ///< nullopt: back to the pool
};

constexpr ReuseCase kReuseCases[] = {
    {"clean exchange", kClean, std::nullopt},
    {"deadline or cancel interrupted the socket", with(kClean, &ExchangeFacts::interrupted, true),
     CloseReason::error},
    {"request not fully written", with(kClean, &ExchangeFacts::request_written, false),
     CloseReason::not_reusable},
    {"body not read to its end", with(kClean, &ExchangeFacts::body_complete, false),
     CloseReason::body_not_drained},
    {"response not persistent (close, HTTP/1.0)", with(kClean, &ExchangeFacts::response_persistent, false),
     CloseReason::not_reusable},
    {"client asked to close", with(kClean, &ExchangeFacts::client_asked_close, true),
     CloseReason::not_reusable},
    {"framing until close or ambiguous", with(kClean, &ExchangeFacts::framing_clean, false),
     CloseReason::not_reusable},
    {"switched protocols (101, CONNECT)", with(kClean, &ExchangeFacts::switched_protocols, true),
     CloseReason::not_reusable},
    {"bytes after the response", with(kClean, &ExchangeFacts::bytes_after_response, true),
     CloseReason::unsolicited_bytes},
    // Several facts at once: an interrupted socket is never trusted, whatever else holds.
    {"interrupted and body incomplete",
     with(with(kClean, &ExchangeFacts::interrupted, true), &ExchangeFacts::body_complete, false),
     CloseReason::error},
    {"nothing known (all false)", ExchangeFacts{}, CloseReason::not_reusable},
};

TEST(WhyNotReusable, NamesOneReasonPerFactAndAllowsOnlyACleanExchange) {
  for (const ReuseCase& c : kReuseCases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(why_not_reusable(c.facts), c.expected);
  }
}

TEST(WhyNotReusable, SaysNoWhenAnySingleFactIsWrong) {
  // Every field flipped from its clean value, one at a time: never reusable.
  bool ExchangeFacts::*const fields[] = {
      &ExchangeFacts::request_written,      &ExchangeFacts::body_complete,
      &ExchangeFacts::response_persistent,  &ExchangeFacts::client_asked_close,
      &ExchangeFacts::framing_clean,        &ExchangeFacts::switched_protocols,
      &ExchangeFacts::bytes_after_response, &ExchangeFacts::interrupted,
  };
  for (bool ExchangeFacts::*const field : fields) {
    const ExchangeFacts facts = with(kClean, field, !(kClean.*field));
    EXPECT_NE(why_not_reusable(facts), std::nullopt);
  }
}

}  // namespace
}  // namespace nethttp::testing
