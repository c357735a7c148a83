// The nethttp command line (shared/design/cli.md).
#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

constexpr std::string_view kUsage =
    "nethttp - an HTTP/1.1 client with Go's net/http connection pool model\n"
    "\n"
    "usage: nethttp <command> [options]\n"
    "       nethttp --help | --version\n"
    "\n"
    "commands:\n"
    "  (none yet: fetch, bench and demo arrive with the transport)\n";

}  // namespace

int main(int argc, char** argv) {
  const std::string_view arg = argc > 1 ? std::string_view(argv[1]) : std::string_view();
  if (arg == "-h" || arg == "--help" || arg == "help") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  if (arg == "--version") {
    std::puts("nethttp " NETHTTP_VERSION);
    return 0;
  }
  if (arg.empty()) {
    std::fputs("nethttp: missing command\n\n", stderr);
  } else {
    std::fprintf(stderr, "nethttp: unknown command '%s'\n\n", argv[1]);
  }
  std::fputs(kUsage.data(), stderr);
  return 2;
}
