// IP address literals: strict parsing and RFC 5952 text.
#include "url/ip_address.h"

#include <string_view>

#include <gtest/gtest.h>

namespace nethttp::url {
namespace {

TEST(ParseIpv4, AcceptsOnlyFourDecOctets) {
  EXPECT_EQ(parse_ipv4("192.0.2.1"), (Ipv4Address{192, 0, 2, 1}));
  EXPECT_EQ(parse_ipv4("0.0.0.0"), (Ipv4Address{0, 0, 0, 0}));
  for (const std::string_view bad : {"", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1.2.3.4 ", "01.2.3.4", "1.2.3.00",
                                     "256.0.0.0", "1.2.3.1000", "1.2.3.-1", "1.2.3.+1", "0x1.2.3.4"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
}

TEST(ParseIpv6, ExpandsTheDoubleColon) {
  EXPECT_EQ(parse_ipv6("::"), (Ipv6Address{}));
  EXPECT_EQ(parse_ipv6("1::"), (Ipv6Address{1, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(parse_ipv6("::1"), (Ipv6Address{0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(parse_ipv6("1:2::7:8"), (Ipv6Address{1, 2, 0, 0, 0, 0, 7, 8}));
  EXPECT_EQ(parse_ipv6("ffff::ABCD"), (Ipv6Address{0xffff, 0, 0, 0, 0, 0, 0, 0xabcd}));
  EXPECT_EQ(parse_ipv6("1:2:3:4:5:6::8"), (Ipv6Address{1, 2, 3, 4, 5, 6, 0, 8}));
}

TEST(ParseIpv6, ReadsAnEmbeddedIpv4Address) {
  EXPECT_EQ(parse_ipv6("::13.1.68.3"), (Ipv6Address{0, 0, 0, 0, 0, 0, 0x0d01, 0x4403}));
  EXPECT_EQ(parse_ipv6("::FFFF:129.144.52.38"), (Ipv6Address{0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426}));
  EXPECT_EQ(parse_ipv6("1:2:3:4:5:6:0.0.0.1"), (Ipv6Address{1, 2, 3, 4, 5, 6, 0, 1}));
  EXPECT_FALSE(parse_ipv6("1:2:3:4:5:6:7:0.0.0.1"));
  EXPECT_FALSE(parse_ipv6("1.2.3.4::"));
  EXPECT_FALSE(parse_ipv6("::1.2.3.4::"));
  EXPECT_FALSE(parse_ipv6("::a1.2.3.4"));
}

TEST(FormatIpv6, GivesTheExamplesOfRfc5952) {
  // §4.1, §4.2.1, §4.2.2, §4.2.3, §4.3, §5.
  EXPECT_EQ(format_ipv6(*parse_ipv6("2001:0db8::0001")), "2001:db8::1");
  EXPECT_EQ(format_ipv6(*parse_ipv6("2001:db8:0:0:0:0:2:1")), "2001:db8::2:1");
  EXPECT_EQ(format_ipv6(*parse_ipv6("2001:db8::1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(format_ipv6(*parse_ipv6("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");
  EXPECT_EQ(format_ipv6(*parse_ipv6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  EXPECT_EQ(format_ipv6(*parse_ipv6("2001:DB8::AAAA")), "2001:db8::aaaa");
  EXPECT_EQ(format_ipv6(*parse_ipv6("::ffff:c000:0280")), "::ffff:192.0.2.128");
}

TEST(FormatIpv6, ParsesBackToTheSameAddress) {
  for (const std::string_view text :
       {"::", "::1", "1::", "1:0:1:0:1:0:1:0", "0:1:0:0:1:0:0:0", "::ffff:0.0.0.0",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0:0:0:0:0:fffe:0:0"}) {
    const auto address = parse_ipv6(text);
    ASSERT_TRUE(address) << text;
    EXPECT_EQ(parse_ipv6(format_ipv6(*address)), address) << text;
  }
}

}  // namespace
}  // namespace nethttp::url
