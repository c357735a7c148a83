#!/usr/bin/env bash
# Installs what is missing, builds the nethttp CLI and runs its main job.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_packages "${BUILD_PACKAGES[@]}"
configure_build "$NETHTTP_ROOT/build/release" -DCMAKE_BUILD_TYPE=Release \
  -DNETHTTP_BUILD_TESTS=OFF -DNETHTTP_BUILD_BENCH=OFF -- nethttp_cli
# The body-handling experiment against a server inside the process: no
# network, a few seconds; extra arguments go to it (e.g. --json, --requests N).
exec "$NETHTTP_ROOT/build/release/tools/nethttp/nethttp" demo "$@"
