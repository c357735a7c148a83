#!/usr/bin/env bash
# Installs what is missing, builds the nethttp CLI and runs its main job.
source "$(dirname "$0")/lib.sh"
ensure_packages "${BUILD_PACKAGES[@]}"
configure_build "$NETHTTP_ROOT/build/release" -DCMAKE_BUILD_TYPE=Release \
  -DNETHTTP_BUILD_TESTS=OFF -DNETHTTP_BUILD_BENCH=OFF
# `nethttp demo` arrives with the transport; until then, the CLI's help.
exec "$NETHTTP_ROOT/build/release/tools/nethttp/nethttp" --help
