#!/usr/bin/env bash
# Renders the mixin with its default _config into the files the repository ships:
# alerts/memfd_exporter.rules.yml and dashboards/memfd_exporter.json (or, given a
# directory, into that directory under the same relative paths: MixinTest compares them).
# Needs jsonnet (Debian's jsonnet package, 0.18).
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-.}"
mkdir -p "$output/alerts" "$output/dashboards"
# Through a temporary file: a failing jsonnet leaves the committed file as it was.
render() {
  local target="$1"
  shift
  jsonnet "$@" >"$target.tmp"
  mv "$target.tmp" "$target"
}
render "$output/alerts/memfd_exporter.rules.yml" -S -e "(import 'mixin/shipped.jsonnet').rules"
render "$output/dashboards/memfd_exporter.json" -e "(import 'mixin/shipped.jsonnet').dashboard"
