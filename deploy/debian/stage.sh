#!/usr/bin/env bash
# Stages the generated files of the Debian package (pom.xml, jdeb) in DIR
# (usage: stage.sh DIR VERSION):
# the launcher, whose JVM flags are EXPORTER_JVM_FLAGS of scripts/lib.sh (the
# one definition, not a copy), and the compressed changelog, manual page and
# docs, which Debian policy wants gzipped with -9n (reproducible: no name, no
# time stamp in the header).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$1
version=$2
. "$repo/scripts/lib.sh"

# The packaged changelog must describe the version being packaged.
changelog_version=$(sed -n '1s/^memfd-exporter (\([^)]*\)).*/\1/p' "$repo/deploy/debian/changelog")
if [ "$changelog_version" != "$version" ]; then
  echo "deploy/debian/changelog starts with version '$changelog_version', the package is $version: add an entry" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out/doc"
{
  echo '#!/bin/sh'
  echo '# memfd_exporter, as installed by the Debian package; flags are passed on,'
  echo '# e.g. memfd-exporter --web.listen-address=127.0.0.1:9822 (memfd-exporter --help).'
  echo '# JVM flags: those the exporter was measured with (BENCHMARKS.md, "Footprint"),'
  echo '# then $MEMFD_EXPORTER_JAVA_OPTS, which overrides them (e.g. -Xmx256m with a'
  echo '# large --bpf.max-comms). The systemd unit runs the same jar with the same flags.'
  printf 'exec /usr/bin/java'
  printf ' %q' "${EXPORTER_JVM_FLAGS[@]}"
  printf ' ${MEMFD_EXPORTER_JAVA_OPTS:-} -jar /usr/lib/memfd-exporter/memfd-exporter.jar "$@"\n'
} > "$out/memfd-exporter"
chmod 755 "$out/memfd-exporter"

gzip -9n < "$repo/deploy/debian/changelog" > "$out/doc/changelog.gz"
gzip -9n < "$repo/deploy/debian/memfd-exporter.1" > "$out/memfd-exporter.1.gz"
gzip -9n < "$repo/README.md" > "$out/doc/README.md.gz"
for page in "$repo"/docs/*.md; do
  gzip -9n < "$page" > "$out/doc/$(basename "$page").gz"
done
