#!/usr/bin/env bash
# Builds (when needed) and runs memfd_exporter in the foreground; flags are
# passed through, e.g. scripts/run.sh --web.listen-address=127.0.0.1:9822;
# JVM flags: EXPORTER_JVM_FLAGS in scripts/lib.sh, then $MEMFD_EXPORTER_JAVA_OPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_root "$@"
install_missing_packages

jar=target/memfd-exporter.jar
if [ ! -f "$jar" ] || [ -n "$(find pom.xml bpf src/main -newer "$jar" -print -quit)" ]; then
  mvn -B -q package -DskipTests
fi
# shellcheck disable=SC2086 # MEMFD_EXPORTER_JAVA_OPTS is a list of flags
exec java "${EXPORTER_JVM_FLAGS[@]}" ${MEMFD_EXPORTER_JAVA_OPTS:-} -jar "$jar" "$@"
