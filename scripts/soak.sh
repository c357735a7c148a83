#!/usr/bin/env bash
# The soak test in full (docs/RELIABILITY.md), in one command:
#
#   bash scripts/soak.sh [nethttp_soak flags...]
#
# Installs what is missing, builds nethttp_soak in Release (build/soak), then
# runs 1,000,000 requests over 64 threads against the fault-injecting server
# (about 1% of the requests get a fault), printing a sample per second and a
# summary; the samples also go to build/soak/soak.csv. Extra arguments go to
# nethttp_soak and override these (e.g. --seed 7 to repeat a run, --threads 4
# --fibers 16 for fibers). Exits with nethttp_soak's status: 0 only if every
# check passed. About two minutes on 2 cores once built.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# GoogleTest: the soak links the test helpers (descriptor counting).
ensure_packages "${BUILD_PACKAGES[@]}" libgtest-dev libgmock-dev
BUILD="$NETHTTP_ROOT/build/soak"
configure_build "$BUILD" -DCMAKE_BUILD_TYPE=Release -DNETHTTP_BUILD_BENCH=OFF -DNETHTTP_BUILD_EXAMPLES=OFF \
  -- nethttp_soak
"$BUILD/tests/soak/nethttp_soak" --requests 1000000 --threads 64 --csv "$BUILD/soak.csv" "$@"
