// The nethttp command line (shared/design/cli.md): dispatches to a command.
#include <csignal>
#include <cstdio>
#include <span>
#include <string_view>

#include "bench.h"
#include "demo.h"
#include "fetch.h"

namespace {

using nethttp::cli::run_bench;
using nethttp::cli::run_demo;
using nethttp::cli::run_fetch;

constexpr std::string_view kUsage =
    "nethttp - an HTTP/1.1 client with Go's net/http connection pool model\n"
    "\n"
    "usage: nethttp <command> [options]\n"
    "       nethttp help [command]\n"
    "       nethttp --help | --version\n"
    "\n"
    "commands:\n"
    "  fetch   fetch URLs through one shared client (curl-like); --json for machines\n"
    "  bench   load a URL with concurrent workers; requests/s, latency, reuse, CPU\n"
    "  demo    what the pool does with read, unread, unclosed and held bodies (no network)\n"
    "\n"
    "'nethttp <command> --help' lists a command's options, with examples:\n"
    "  nethttp fetch --json http://127.0.0.1:8080/a http://127.0.0.1:8080/b\n"
    "  nethttp bench -n 1000 -c 8 http://127.0.0.1:8080/\n"
    "  nethttp demo\n";

/// A command: its name and what runs it with the arguments after the name.
struct Command {
  std::string_view name;
  int (*run)(std::span<const char* const> args);
};

constexpr Command kCommands[] = {
    {"fetch", run_fetch},
    {"bench", run_bench},
    {"demo", run_demo},
};

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

int unknown_command(std::string_view name) {
  std::fprintf(stderr,
               "nethttp: unknown command '%.*s'; commands: fetch, bench, demo (see 'nethttp --help')\n",
               static_cast<int>(name.size()), name.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer or a pipe reader going away is an error to report, not a signal
  // that kills the process (curl does the same).
  std::signal(SIGPIPE, SIG_IGN);

  const std::span<const char* const> args(argv + 1, argv + argc);
  const std::string_view first = args.empty() ? std::string_view() : args.front();
  if (first.empty()) {
    std::fputs("nethttp: missing command (see 'nethttp --help')\n\n", stderr);
    std::fputs(kUsage.data(), stderr);
    return 2;
  }
  if (first == "-h" || first == "--help") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  if (first == "help") {
    if (args.size() < 2) {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
    const Command* command = find_command(args[1]);
    if (command == nullptr) return unknown_command(args[1]);
    const char* const help_args[] = {"--help"};
    return command->run(std::span<const char* const>(help_args));
  }
  if (first == "--version" || first == "-V") {
    std::puts("nethttp " NETHTTP_VERSION);
    return 0;
  }
  if (first.starts_with('-')) {
    std::fprintf(stderr,
                 "nethttp: unknown option '%s': options go after the command (see 'nethttp --help')\n",
                 args.front());
    return 2;
  }
  const Command* command = find_command(first);
  if (command == nullptr) return unknown_command(first);
  return command->run(args.subspan(1));
}
