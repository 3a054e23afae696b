#!/usr/bin/env bash
# Measures the exporter as a whole (every BPF program it attaches): probe cost
# per memfd_create and on unrelated syscalls, scrape cost, footprint, counting
# throughput, concurrent scrapers on a full map. Method and numbers: BENCHMARKS.md.
#
#   scripts/bench.sh [--quick|--full] [--phases probe,mappings,throughput,scrape,footprint,levers,abuse,jmh]
#                    [--baseline-jar OTHER.jar | --baseline-tree DIR]
#
# --quick (default) takes about a minute after the build and checks only that
# everything ran, counts were exact and no scrape failed (CI); --full (about
# 23 minutes) gives the numbers. --baseline-jar adds another build of the
# exporter to the probe, scrape and abuse rounds, for before/after comparisons;
# --baseline-tree DIR (a checkout of another commit, e.g. `git worktree add DIR
# main`) builds that one and adds it to the jmh rounds too. Results:
# target/bench/MODE-TIME/{summary.md,results.json}.
# Nothing outlives the run: programs are detached, BPF stats released,
# children reaped, and tracefs is mounted only in a private mount namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_root "$@"

mode=quick
args=()
baseline_tree=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --phases|--baseline-jar) args+=("$1" "$2"); shift ;;
    --baseline-tree) baseline_tree=$(cd "$2" && pwd); shift ;;
    *) echo "usage: $0 [--quick|--full] [--phases LIST] [--baseline-jar JAR | --baseline-tree DIR]" >&2; exit 2 ;;
  esac
  shift
done

install_if_missing "${BUILD_PACKAGES[@]}" bpftool bpftrace wrk
out=target/bench/$mode-$(date +%Y%m%d-%H%M%S)
bin=target/bench/bin
mkdir -p "$out" "$bin"

build_with_jmh() {
  (cd "$1" && mvn -B -q -Pjmh package test-compile dependency:build-classpath -DskipTests \
    -Dmdep.includeScope=test -Dmdep.outputFile=target/jmh.classpath)
}
jmh_classpath() {
  echo "$1/target/test-classes:$1/target/classes:$(cat "$1/target/jmh.classpath")"
}
build_with_jmh .
if [ -n "$baseline_tree" ]; then
  build_with_jmh "$baseline_tree"
  args+=(--baseline-jar "$baseline_tree/target/memfd-exporter.jar"
         --baseline-jmh-classpath "$(jmh_classpath "$baseline_tree")")
fi
gcc -O2 -Wall -Werror -o "$bin/loadgen" bench/loadgen.c
gcc -O2 -Wall -Werror -o "$bin/attach" bench/attach.c -lbpf
clang -O2 -g -Wall -Werror -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
  -c bench/empty.bpf.c -o "$bin/empty.bpf.o"

# A private mount namespace: tracefs (for attaching tracepoints) is mounted
# there if missing, and disappears with it.
exec unshare --mount --propagation private sh -c '
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
  exec "$@"' sh python3 bench/bench.py --mode "$mode" --jar target/memfd-exporter.jar \
  --jvm-flags "${EXPORTER_JVM_FLAGS[*]}" --bin "$bin" --out "$out" \
  --jmh-classpath "$(jmh_classpath "$PWD")" "${args[@]}"
