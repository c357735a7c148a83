#!/usr/bin/env bash
# Installs what is missing, builds and runs every test:
#  1. build/test: g++, optimised, warnings as errors — unit tests, corpus
#     replays, benchmark smoke run, install check, layering and lint checks;
#  2. build/sanitize: clang with ASan+UBSan — the unit and integration
#     tests and corpus replays again, then each fuzz target for a bounded time;
#  3. build/tsan: clang with ThreadSanitizer — the fiber scheduler, SOCKS5,
#     the pool, the cookie jar, the test servers, the integration tests and
#     a short soak.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

echo "== build/test (g++)"
configure_build "$NETHTTP_ROOT/build/test" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETHTTP_LINT=ON
ctest --test-dir "$NETHTTP_ROOT/build/test" -j "$JOBS" --output-on-failure

echo "== build/sanitize (clang, ASan+UBSan, libFuzzer), at ${SECONDS} s"
CXX=clang++ configure_build "$NETHTTP_ROOT/build/sanitize" -DCMAKE_BUILD_TYPE=Debug \
  -DNETHTTP_SANITIZE=address,undefined -DNETHTTP_BUILD_FUZZ=ON -DNETHTTP_BUILD_BENCH=OFF \
  -DNETHTTP_FUZZ_SECONDS="$FUZZ_SECONDS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$NETHTTP_ROOT/build/sanitize" -j "$JOBS" --output-on-failure -LE "lint|install"

echo "== build/tsan (clang, ThreadSanitizer: everything that runs threads), at ${SECONDS} s"
CXX=clang++ configure_build "$NETHTTP_ROOT/build/tsan" -DCMAKE_BUILD_TYPE=Debug -DNETHTTP_SANITIZE=thread \
  -DNETHTTP_BUILD_BENCH=OFF -- unit_net unit_pool unit_client unit_support integration nethttp_soak
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
ctest --test-dir "$NETHTTP_ROOT/build/tsan" -j "$JOBS" --output-on-failure \
  -R '^(net[.](Fiber|Socks5Client)|pool[.]|client[.]Cookie(Jar|File)Test|support[.]|integration[.]|soak[.])'
echo "== every test passed, in ${SECONDS} s"
