#!/usr/bin/env bash
# The whole test suite as a new user on a container host would run it: a clean
# clone of this repository's HEAD (committed work only) in a privileged podman
# container started from a plain Debian 12 (the local debootstrap base of
# scripts/lib.sh), running exactly `MEMFD_EXPORTER_REQUIRE_BPF=1 ./scripts/test.sh`,
# which installs the packages it needs with apt-get inside the container. The
# container keeps podman's defaults for everything the tests must not assume:
# its own mount namespace with a noexec 64 MiB /dev/shm, no tracefs, no bpffs,
# and podman's view of the host's cgroups (on a hybrid host, no cgroup2 tree);
# it shares the host's network and pid namespace (below).
# Prints one PASS or FAIL line; exits non-zero on failure.
#
# Run as root on Debian 12:  scripts/container-test.sh
#
# Maven's dependencies: the host's ~/.m2 is mounted as a podman overlay volume
# (`:O`): the container reads the host's repository and writes its own
# downloads to a throwaway upper layer, so the host's ~/.m2 is never changed
# and whatever is missing from it is downloaded as on any fresh machine. In CI
# the host's ./scripts/test.sh has just filled it, so nothing is downloaded.
# Downloaded .debs are kept in /var/cache/memfd-exporter-smoke/apt-archives-container-test.
# The surefire reports are copied to
# target/container-test/ of this checkout.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
. "$repo/scripts/lib.sh"
# Not deb-smoke.sh's archives: apt locks them for as long as it installs, and both may run at once.
readonly archives=$SMOKE_CACHE/apt-archives-container-test
readonly m2=${HOME:-/root}/.m2
readonly out=$repo/target/container-test

smoke_begin container-test

[ "$(id -u)" = 0 ] || fail "must run as root (rootful podman, privileged container)"
smoke_install_packages
install_if_missing git
phase_done "packages"
smoke_podman_config || fail "podman configuration in $SMOKE_CACHE failed"
smoke_base_image || fail "no base image $SMOKE_BASE_IMAGE (see the messages above)"
phase_done "base image"

work=$(mktemp -d)
git clone --quiet --no-hardlinks "$repo" "$work/src" || fail "git clone of $repo failed"
log "clean clone of $(git -C "$work/src" rev-parse --short HEAD) ($(git -C "$repo" rev-parse --abbrev-ref HEAD))"
mkdir -p "$archives/partial" "$m2"
container=memfd-container-test-$$
# --network host: apt-get and Maven reach what the host reaches, with no bridge,
# iptables rule or ip_forward change; the tests bind 127.0.0.1 on free ports.
# --pid host: the exec tests prove that root's runc executing its memfd clone is
# counted as runc, which bpf/exec.bpf.c grants only in the initial pid namespace (a
# container's root can make a root-owned file named runc; it cannot leave its pid
# namespace). In a container of its own pid namespace, those 3 tests see "other", as
# the exporter must there. (The DaemonSet runs the exporter with hostPID too.)
# --pull=never: nothing comes from a registry. The environment is what .ci/run sets.
set +e
podman run --name "$container" --privileged --network host --pid host --pull=never \
  -v "$work/src:/src" -v "$m2:/root/.m2:O" -v "$archives:/var/cache/apt/archives" \
  -e MEMFD_EXPORTER_REQUIRE_BPF=1 -w /src \
  "$SMOKE_BASE_IMAGE" ./scripts/test.sh 2>&1 | tee "$work/mvn.log" | sed 's/^/  container | /'
rc=${PIPESTATUS[0]}
set -e
phase_done "suite in the container"

rm -rf "$out"
mkdir -p "$out"
cp "$work/mvn.log" "$out/"
cp -r "$work/src/target/surefire-reports" "$out/" 2>/dev/null || true
# Maven's last "Tests run:" line is the total over every class.
totals=$(grep -E '^\[(INFO|ERROR|WARNING)\] Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$' \
  "$work/mvn.log" | tail -n 1 | sed -E 's/^\[[A-Z]+\] //')
[ -n "$totals" ] || fail "no test totals in Maven's output (exit $rc; $out/mvn.log)"
if [ "$rc" != 0 ]; then
  grep -E '^\[ERROR\]   ' "$work/mvn.log" | sed 's/^\[ERROR\]   /  failed | /' || true
  fail "suite in the container: $totals (exit $rc; reports in $out)"
fi
result=PASS
reason="suite in a privileged Debian 12 container: $totals, $(( ($(date +%s%N) - start_ns) / 1000000000 )) s"
