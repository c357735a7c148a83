// Black-box tests of `nethttp demo` (shared/design/cli.md): the built binary
// runs the body-handling experiment against its own in-process server, and
// its table, its --json numbers and its usage errors are checked.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cli_output.h"
#include "support/cli_runner.h"

#ifndef NETHTTP_CLI_PATH
#error "NETHTTP_CLI_PATH must name the built nethttp binary"
#endif

namespace nethttp::testing {
namespace {

CliRun run_cli(const std::vector<std::string>& args) {
  return run_program(NETHTTP_CLI_PATH, args);
}

/// The --json object of a run and its five modes, "a" to "e" in order.
struct DemoJson {
  Json top;
  JsonArray modes;
};

/// Runs `nethttp demo --json` with `args` and reads its object; a failed
/// run, or output that is not one line holding one JSON object, fails the
/// test.
DemoJson run_json(std::vector<std::string> args) {
  const std::vector<std::string> command = {"demo", "--json"};
  args.insert(args.begin(), command.begin(), command.end());
  const CliRun run = run_cli(args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty()) << run.err;
  EXPECT_TRUE(!run.out.empty() && run.out.find('\n') == run.out.size() - 1) << "not one line: " << run.out;
  std::optional<Json> top = JsonReader(run.out).document();
  EXPECT_TRUE(top && top->is_object()) << run.out;
  if (!top || !top->is_object()) return {};
  DemoJson json{*std::move(top), {}};
  json.modes = json.top["modes"].array();
  EXPECT_EQ(json.modes.size(), 5u) << run.out;
  for (std::size_t i = 0; i < json.modes.size(); ++i) {
    EXPECT_EQ(json.modes[i]["mode"].str(), std::string(1, static_cast<char>('a' + i)));
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
void expect_consistent(const Json& mode) {
  SCOPED_TRACE("mode " + mode["mode"].str());
  EXPECT_EQ(mode["errors"].integer(), 0);
  EXPECT_EQ(mode["server_accepted"].integer(), mode["dials"].integer());
  EXPECT_EQ(mode["dials"].integer() + mode["reuses"].integer(), mode["requests"].integer());
  EXPECT_GT(mode["fds_before"].integer(), 0);
  EXPECT_EQ(mode["fds_after"].integer(), mode["fds_before"].integer());
  EXPECT_NE(mode["summary"].str().find(dials_for(mode["dials"].integer(), mode["requests"].integer())),
            std::string::npos)
      << mode["summary"].str();
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
  EXPECT_EQ(json.top["requests"].integer(), 1000);
  EXPECT_EQ(json.top["body_size"].integer(), 4096);
  EXPECT_EQ(json.top["drain_max_bytes"].integer(), 64 * 1024);
  for (const Json& mode : json.modes) expect_consistent(mode);

  const Json& a = json.modes[0];
  const Json& b = json.modes[1];
  const Json& c = json.modes[2];
  const Json& d = json.modes[3];
  const Json& e = json.modes[4];
  // (a) read and closed, (c) read and never closed: one connection for all.
  for (const Json* mode : {&a, &c}) {
    const Json& m = *mode;
    EXPECT_EQ(m["requests"].integer(), 1000);
    EXPECT_EQ(m["dials"].integer(), 1);
    EXPECT_EQ(m["reuses"].integer(), 999);
    // While the mode ends, the pooled connection is open at both ends.
    EXPECT_EQ(m["fds_held"].integer(), m["fds_before"].integer() + 2);
  }
  // (b) closed unread: the 4 KiB rest is drained, the connection reused.
  EXPECT_EQ(b["requests"].integer(), 1000);
  EXPECT_EQ(b["dials"].integer(), 1);
  EXPECT_EQ(std::ranges::count(b["closed"].keys(), "body_not_drained"), 0);
  EXPECT_NE(b["summary"].str().find("drains it"), std::string::npos) << b["summary"].str();
  // (d) held: one connection per held response, two descriptors each here
  // (the client's socket and the in-process server's).
  const std::int64_t held = d["requests"].integer();
  if (json.top["fd_limit"].integer() >= 1024) {
    EXPECT_EQ(held, 200);
  } else {
    EXPECT_GE(held, 1);
    EXPECT_LE(held, 200);
  }
  EXPECT_EQ(d["dials"].integer(), held);
  EXPECT_EQ(d["reuses"].integer(), 0);
  EXPECT_GE(d["fds_held"].integer(), d["fds_before"].integer() + 2 * held);
  // (e) no draining, as in Go: every early close costs the connection.
  EXPECT_EQ(e["requests"].integer(), 1000);
  EXPECT_EQ(e["dials"].integer(), 1000);
  EXPECT_EQ(e["reuses"].integer(), 0);
  EXPECT_EQ(e["closed"]["body_not_drained"].integer(), 1000);
}

TEST(DemoCli, BodiesTooLargeToDrainCostTheConnectionEvenWithDraining) {
  const DemoJson json = run_json({"--requests", "20", "--body-size", "128k"});
  ASSERT_EQ(json.modes.size(), 5u);
  EXPECT_EQ(json.top["body_size"].integer(), 128 * 1024);
  for (const Json& mode : json.modes) expect_consistent(mode);
  const Json& b = json.modes[1];
  EXPECT_EQ(b["dials"].integer(), 20);
  EXPECT_EQ(b["closed"]["body_not_drained"].integer(), 20);
  EXPECT_NE(b["summary"].str().find("could not drain"), std::string::npos) << b["summary"].str();
  EXPECT_EQ(json.modes[0]["dials"].integer(), 1);
  EXPECT_EQ(json.modes[2]["dials"].integer(), 1);
  EXPECT_EQ(json.modes[3]["dials"].integer(), 20);
  EXPECT_EQ(json.modes[4]["dials"].integer(), 20);
}

TEST(DemoCli, BodySizeTakesBinarySuffixes) {
  for (const auto& [text, bytes] : {std::pair{"1k", 1024}, {"2KiB", 2048}, {"0", 0}, {"100", 100}}) {
    const DemoJson json = run_json({"--requests", "3", "--body-size", text});
    EXPECT_EQ(json.top["body_size"].integer(), bytes) << text;
    for (const Json& mode : json.modes) expect_consistent(mode);
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
