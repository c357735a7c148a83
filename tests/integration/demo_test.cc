// Black-box tests of `nethttp demo` (shared/design/cli.md): the built binary
// runs the body-handling experiment against its own in-process server, and
// its table, its --json numbers and its usage errors are checked.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support/cli_runner.h"

#ifndef NETHTTP_CLI_PATH
#error "NETHTTP_CLI_PATH must name the built nethttp binary"
#endif

namespace nethttp::testing {
namespace {

CliRun run_cli(const std::vector<std::string>& args) {
  return run_program(NETHTTP_CLI_PATH, args);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ---------------------------------------------------------------------------
// Reading the --json object. Its layout is the CLI's JsonWriter's (one line,
// ": " after keys); the modes are the objects that start with "mode".

/// Whether `text` is one line holding one object whose braces and brackets
/// balance outside strings.
bool looks_like_one_object(const std::string& text) {
  if (text.size() < 3 || text.front() != '{' || text.substr(text.size() - 2) != "}\n") return false;
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) return false;
    } else if (c == '\n') {
      return false;
    }
    if (depth == 0 && i + 2 < text.size()) return false;  // something after the object
  }
  return depth == 0 && !in_string;
}

/// The text of each mode's object, in order ("a" first), and before them the
/// top-level members (element 0 of the pair).
struct DemoJson {
  std::string top;
  std::vector<std::string> modes;
};

DemoJson split_modes(const std::string& text) {
  constexpr std::string_view kModeStart = "{\"mode\": \"";
  DemoJson out;
  std::size_t at = text.find(kModeStart);
  out.top = text.substr(0, at);
  while (at != std::string::npos) {
    const std::size_t next = text.find(kModeStart, at + 1);
    out.modes.push_back(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
    at = next;
  }
  return out;
}

/// The whole number of member `key` in `object`; a missing member fails the
/// test and reads as -1.
std::int64_t number(const std::string& object, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\": ";
  const std::size_t at = object.find(needle);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no number member \"" << key << "\" in " << object;
    return -1;
  }
  return std::strtoll(object.c_str() + at + needle.size(), nullptr, 10);
}

/// The string member `key` of `object` (escapes kept as they are).
std::string string_member(const std::string& object, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\": \"";
  const std::size_t at = object.find(needle);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no string member \"" << key << "\" in " << object;
    return {};
  }
  std::string out;
  for (std::size_t i = at + needle.size(); i < object.size() && object[i] != '"'; ++i) {
    if (object[i] == '\\' && i + 1 < object.size()) out += object[i++];
    out += object[i];
  }
  return out;
}

/// Runs `nethttp demo --json` with `args` and splits its object; a failed
/// run or a malformed object fails the test.
DemoJson run_json(std::vector<std::string> args) {
  const std::vector<std::string> command = {"demo", "--json"};
  args.insert(args.begin(), command.begin(), command.end());
  const CliRun run = run_cli(args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty()) << run.err;
  EXPECT_TRUE(looks_like_one_object(run.out)) << run.out;
  DemoJson json = split_modes(run.out);
  EXPECT_EQ(json.modes.size(), 5u) << run.out;
  for (std::size_t i = 0; i < json.modes.size(); ++i) {
    EXPECT_EQ(string_member(json.modes[i], "mode"), std::string(1, static_cast<char>('a' + i)));
  }
  return json;
}

/// "N dials for M requests" as the sentences write it.
std::string dials_for(std::int64_t dials, std::int64_t requests) {
  return std::to_string(dials) + (dials == 1 ? " dial" : " dials") + " for " + std::to_string(requests) +
         (requests == 1 ? " request" : " requests");
}

/// What holds for every mode: no error, the server accepted what the client
/// dialed, the descriptors came back to where they were, and the sentence
/// states the dial count.
void expect_consistent(const std::string& mode) {
  SCOPED_TRACE(mode);
  EXPECT_EQ(number(mode, "errors"), 0);
  EXPECT_EQ(number(mode, "server_accepted"), number(mode, "dials"));
  EXPECT_EQ(number(mode, "dials") + number(mode, "reuses"), number(mode, "requests"));
  EXPECT_GT(number(mode, "fds_before"), 0);
  EXPECT_EQ(number(mode, "fds_after"), number(mode, "fds_before"));
  EXPECT_NE(string_member(mode, "summary").find(dials_for(number(mode, "dials"), number(mode, "requests"))),
            std::string::npos);
}

// ---------------------------------------------------------------------------

TEST(DemoCli, DefaultsPrintTheFiveModesWithASentenceEach) {
  const CliRun run = run_cli({"demo"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty()) << run.err;
  for (const char* header : {"requests", "dialed", "reused", "accepted", "open fds", "RSS", "time"}) {
    EXPECT_NE(run.out.find(header), std::string::npos) << header;
  }
  const std::vector<std::string> lines = lines_of(run.out);
  for (const char* mode : {"(a) ", "(b) ", "(c) ", "(d) ", "(e) "}) {
    int starts = 0;
    for (const std::string& line : lines) starts += line.rfind(mode, 0) == 0 ? 1 : 0;
    // A table row and a sentence (the sentence may wrap onto indented lines).
    EXPECT_EQ(starts, 2) << mode << " in\n" << run.out;
  }
  // The sentences state the measured counts, e.g. "1 dial for 1000 requests".
  EXPECT_NE(run.out.find("for 1000 requests"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("200 requests"), std::string::npos) << run.out;
}

TEST(DemoCli, JsonNumbersFollowTheRulesOfEachMode) {
  const DemoJson json = run_json({});
  ASSERT_EQ(json.modes.size(), 5u);
  EXPECT_EQ(number(json.top, "requests"), 1000);
  EXPECT_EQ(number(json.top, "body_size"), 4096);
  EXPECT_EQ(number(json.top, "drain_max_bytes"), 64 * 1024);
  for (const std::string& mode : json.modes) expect_consistent(mode);

  const std::string& a = json.modes[0];
  const std::string& b = json.modes[1];
  const std::string& c = json.modes[2];
  const std::string& d = json.modes[3];
  const std::string& e = json.modes[4];
  // (a) read and closed, (c) read and never closed: one connection for all.
  for (const std::string* m : {&a, &c}) {
    EXPECT_EQ(number(*m, "requests"), 1000);
    EXPECT_EQ(number(*m, "dials"), 1);
    EXPECT_EQ(number(*m, "reuses"), 999);
    // While the mode ends, the pooled connection is open at both ends.
    EXPECT_EQ(number(*m, "fds_held"), number(*m, "fds_before") + 2);
  }
  // (b) closed unread: the 4 KiB rest is drained, the connection reused.
  EXPECT_EQ(number(b, "requests"), 1000);
  EXPECT_EQ(number(b, "dials"), 1);
  EXPECT_EQ(b.find("body_not_drained"), std::string::npos) << b;
  EXPECT_NE(string_member(b, "summary").find("drains it"), std::string::npos) << b;
  // (d) held: one connection per held response, two descriptors each here
  // (the client's socket and the in-process server's).
  const std::int64_t held = number(d, "requests");
  if (number(json.top, "fd_limit") >= 1024) {
    EXPECT_EQ(held, 200);
  } else {
    EXPECT_GE(held, 1);
    EXPECT_LE(held, 200);
  }
  EXPECT_EQ(number(d, "dials"), held);
  EXPECT_EQ(number(d, "reuses"), 0);
  EXPECT_GE(number(d, "fds_held"), number(d, "fds_before") + 2 * held);
  // (e) no draining, as in Go: every early close costs the connection.
  EXPECT_EQ(number(e, "requests"), 1000);
  EXPECT_EQ(number(e, "dials"), 1000);
  EXPECT_EQ(number(e, "reuses"), 0);
  EXPECT_EQ(number(e, "body_not_drained"), 1000);
}

TEST(DemoCli, BodiesTooLargeToDrainCostTheConnectionEvenWithDraining) {
  const DemoJson json = run_json({"--requests", "20", "--body-size", "128k"});
  ASSERT_EQ(json.modes.size(), 5u);
  EXPECT_EQ(number(json.top, "body_size"), 128 * 1024);
  for (const std::string& mode : json.modes) expect_consistent(mode);
  const std::string& b = json.modes[1];
  EXPECT_EQ(number(b, "dials"), 20);
  EXPECT_EQ(number(b, "body_not_drained"), 20);
  EXPECT_NE(string_member(b, "summary").find("could not drain"), std::string::npos) << b;
  EXPECT_EQ(number(json.modes[0], "dials"), 1);
  EXPECT_EQ(number(json.modes[2], "dials"), 1);
  EXPECT_EQ(number(json.modes[3], "dials"), 20);
  EXPECT_EQ(number(json.modes[4], "dials"), 20);
}

TEST(DemoCli, BodySizeTakesBinarySuffixes) {
  for (const auto& [text, bytes] : {std::pair{"1k", 1024}, {"2KiB", 2048}, {"0", 0}, {"100", 100}}) {
    const DemoJson json = run_json({"--requests", "3", "--body-size", text});
    EXPECT_EQ(number(json.top, "body_size"), bytes) << text;
    for (const std::string& mode : json.modes) expect_consistent(mode);
  }
}

TEST(DemoCli, BadUsageExitsTwoWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {"demo", "--requests", "0"},  {"demo", "--requests", "lots"}, {"demo", "-n", "-5"},
      {"demo", "--requests"},       {"demo", "--body-size", "12x"}, {"demo", "--body-size", "2g"},
      {"demo", "--body-size", "k"}, {"demo", "--frobnicate"},       {"demo", "http://127.0.0.1:1/"},
      {"demo", "--json=yes"},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const std::string& a : args) joined += a + " ";
    const CliRun run = run_cli(args);
    EXPECT_EQ(run.exit_code, 2) << joined;
    EXPECT_TRUE(run.out.empty()) << joined << ": " << run.out;
    EXPECT_EQ(lines_of(run.err).size(), 1u) << joined << ": " << run.err;
    EXPECT_EQ(run.err.rfind("nethttp demo: ", 0), 0u) << joined << ": " << run.err;
    EXPECT_NE(run.err.find("--help"), std::string::npos) << joined << ": " << run.err;
  }
}

TEST(DemoCli, HelpDescribesTheModesAndFlags) {
  const CliRun run = run_cli({"demo", "--help"});
  ASSERT_EQ(run.exit_code, 0);
  for (const char* text : {"usage: nethttp demo", "--requests", "default 1000", "--body-size", "--json",
                           "(a)", "(b)", "(c)", "(d)", "(e)", "drain_max_bytes", "examples:"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text;
  }
  EXPECT_EQ(run_cli({"help", "demo"}).out, run.out);
  const CliRun top = run_cli({"--help"});
  EXPECT_NE(top.out.find("  demo "), std::string::npos) << top.out;
}

}  // namespace
}  // namespace nethttp::testing
