#!/usr/bin/env bash
# Builds memfd_exporter and runs every test, the real-kernel ones included
# (they load the BPF program and make real memfd_create calls, so: root).
# With MEMFD_EXPORTER_REQUIRE_BPF=1 a kernel test that would be skipped fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_root "$@"
install_missing_test_packages

exec mvn -B verify "$@"
