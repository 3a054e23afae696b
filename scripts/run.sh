#!/usr/bin/env bash
# Builds (when needed) and runs memfd_exporter in the foreground; flags are
# passed through, e.g. scripts/run.sh --web.listen-address=127.0.0.1:9822
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_root "$@"
install_missing_packages

jar=target/memfd-exporter.jar
if [ ! -f "$jar" ] || [ -n "$(find pom.xml bpf src/main -newer "$jar" -print -quit)" ]; then
  mvn -B -q package -DskipTests
fi
# -XX:-UsePerfData: no /tmp/hsperfdata_root/PID file, which the JVM cannot delete once the exporter dropped root.
exec java -XX:-UsePerfData -jar "$jar" "$@"
