// nethttp::Header: ordered fields, case-insensitive names.
#include "nethttp/header.h"

#include <optional>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support/split_feed.h"

namespace nethttp {
namespace {

using Views = std::vector<std::string_view>;

using testing::Fields;
using testing::fields_of;

TEST(Header, StartsEmpty) {
  const Header h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.size(), 0u);
  EXPECT_FALSE(h.has("A"));
  EXPECT_EQ(h.get("A"), std::nullopt);
  EXPECT_TRUE(h.values("A").empty());
}

TEST(Header, AddKeepsEveryFieldInArrivalOrder) {
  Header h;
  h.add("B", "1");
  h.add("A", "2");
  h.add("b", "3");
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(fields_of(h), (Fields{{"B", "1"}, {"A", "2"}, {"b", "3"}}));
}

TEST(Header, GetsTheFirstValueOfANameInAnyCase) {
  Header h;
  h.add("Content-Type", "text/plain");
  h.add("content-type", "text/html");
  EXPECT_EQ(h.get("Content-Type"), "text/plain");
  EXPECT_EQ(h.get("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(h.get("content-type"), "text/plain");
  EXPECT_EQ(h.get("Content-Typ"), std::nullopt);
  EXPECT_EQ(h.get("Content-Type2"), std::nullopt);
}

TEST(Header, ListsEveryValueOfANameInOrder) {
  Header h;
  h.add("Set-Cookie", "a=1");
  h.add("Other", "x");
  h.add("set-cookie", "b=2");
  h.add("SET-COOKIE", "c=3");
  EXPECT_EQ(h.values("Set-Cookie"), (Views{"a=1", "b=2", "c=3"}));
  EXPECT_EQ(h.values("other"), (Views{"x"}));
  EXPECT_TRUE(h.values("missing").empty());
}

TEST(Header, KeepsEmptyValues) {
  Header h;
  h.add("A", "");
  EXPECT_TRUE(h.has("a"));
  EXPECT_EQ(h.get("A"), "");
  EXPECT_EQ(h.values("A"), (Views{""}));
}

TEST(Header, SetReplacesEveryFieldOfTheName) {
  Header h;
  h.add("Accept", "a");
  h.add("X", "1");
  h.add("accept", "b");
  h.set("ACCEPT", "c");
  EXPECT_EQ(h.values("Accept"), (Views{"c"}));
  EXPECT_EQ(h.values("X"), (Views{"1"}));
  EXPECT_EQ(h.size(), 2u);
}

TEST(Header, SetAppendsANewName) {
  Header h;
  h.add("A", "1");
  h.set("B", "2");
  EXPECT_EQ(fields_of(h), (Fields{{"A", "1"}, {"B", "2"}}));
}

TEST(Header, RemovesEveryFieldOfTheNameAndSaysHowMany) {
  Header h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("a", "3");
  EXPECT_EQ(h.remove("A"), 2u);
  EXPECT_FALSE(h.has("A"));
  EXPECT_EQ(fields_of(h), (Fields{{"B", "2"}}));
  EXPECT_EQ(h.remove("A"), 0u);
  EXPECT_EQ(h.remove("missing"), 0u);
}

TEST(Header, HasIsCaseInsensitive) {
  Header h;
  h.add("X-Request-Id", "42");
  EXPECT_TRUE(h.has("x-request-id"));
  EXPECT_TRUE(h.has("X-REQUEST-ID"));
  EXPECT_FALSE(h.has("X-Request"));
}

TEST(Header, EqualsAnotherWithTheSameFieldsInTheSameOrder) {
  Header a;
  a.add("A", "1");
  a.add("B", "2");
  Header b = a;
  EXPECT_EQ(a, b);
  b.set("A", "1");  // now after B
  EXPECT_NE(a, b);
}

TEST(Header, ClearsAllFields) {
  Header h;
  h.add("A", "1");
  h.reserve(10);
  h.clear();
  EXPECT_TRUE(h.empty());
  EXPECT_FALSE(h.has("A"));
}

}  // namespace
}  // namespace nethttp
