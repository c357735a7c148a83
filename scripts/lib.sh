# Shared by the scripts: install missing Debian packages, configure and build.
# Sourced, not run.

set -euo pipefail
NETHTTP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${JOBS:-$(nproc)}

# Installs the named Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building the library and CLI needs.
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libssl-dev)
# What the tests need on top: GoogleTest, Google Benchmark, clang with
# libFuzzer and the sanitizer runtimes, the lint tools, and nginx (its binary
# has stub_status built in) for the integration tests, which start and stop
# their own instances (tests/support/nginx.h).
TEST_PACKAGES=(libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev llvm clang-format clang-tidy
  nginx)

# configure_build DIR [cmake args...]: configures DIR (once) and builds it.
configure_build() {
  local dir=$1
  shift
  cmake -S "$NETHTTP_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}
