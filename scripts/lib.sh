# shellcheck shell=bash disable=SC2034  # the package lists are used by the scripts that source this
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
  # Packages with services (nginx) must not start them: the tests run their
  # own instances on free ports. policy-rc.d says no to every start.
  local policy=/usr/sbin/policy-rc.d added_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && added_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$added_policy" ] || $sudo rm -f "$policy"
}

# What building the library and CLI needs.
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libssl-dev zlib1g-dev libbrotli-dev libzstd-dev libpsl-dev libboost-context-dev)
# What the tests need on top: GoogleTest, Google Benchmark, clang with
# libFuzzer and the sanitizer runtimes, the lint tools, and the real servers
# of the integration tests, which start and stop their own instances: nginx
# (its binary has stub_status and TLS built in; tests/support/nginx.h), httpbin
# under gunicorn (tests/support/httpbin.h) and the tinyproxy forward proxy
# (tests/support/tinyproxy.h; its package's service is never started, see
# ensure_packages). openssl, the command, makes the TLS tests' throw-away
# certificates at test time (tests/support/tls_certs.h). doxygen builds the
# API reference; the docs.api test fails on any undocumented public declaration.
TEST_PACKAGES=(libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev llvm clang-format clang-tidy
  nginx python3-httpbin gunicorn tinyproxy openssl doxygen)

# configure_build DIR [cmake args...] [-- targets...]: configures DIR and
# builds it (only the given targets, if any).
configure_build() {
  local dir=$1
  shift
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift && targets=("$@")
  cmake -S "$NETHTTP_ROOT" -B "$dir" -G Ninja "${args[@]}" >/dev/null
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$dir" -j "$JOBS" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$JOBS"
  fi
}
