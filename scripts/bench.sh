#!/usr/bin/env bash
# Measures the exporter as a whole (every BPF program it attaches): probe cost
# per memfd_create and on unrelated syscalls, scrape cost, footprint, counting
# throughput, concurrent scrapers on a full map. Method and numbers: BENCHMARKS.md.
#
#   scripts/bench.sh [--quick|--full] [--phases probe,mappings,throughput,scrape,footprint,abuse,jmh]
#                    [--baseline-jar OTHER.jar]
#
# --quick (default) takes about a minute after the build and checks only that
# everything ran, counts were exact and no scrape failed (CI); --full (about
# 23 minutes) gives the numbers. --baseline-jar adds another build of the
# exporter to the probe and abuse rounds, for before/after comparisons. Results:
# target/bench/MODE-TIME/{summary.md,results.json}.
# Nothing outlives the run: programs are detached, BPF stats released,
# children reaped, and tracefs is mounted only in a private mount namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_root "$@"

mode=quick
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --phases|--baseline-jar) args+=("$1" "$2"); shift ;;
    *) echo "usage: $0 [--quick|--full] [--phases LIST] [--baseline-jar JAR]" >&2; exit 2 ;;
  esac
  shift
done

install_if_missing "${BUILD_PACKAGES[@]}" bpftool bpftrace wrk
out=target/bench/$mode-$(date +%Y%m%d-%H%M%S)
bin=target/bench/bin
mkdir -p "$out" "$bin"

mvn -B -q -Pjmh package test-compile dependency:build-classpath -DskipTests \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/jmh.classpath
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
  --jmh-classpath "target/test-classes:target/classes:$(cat target/jmh.classpath)" "${args[@]}"
