#!/usr/bin/env bash
# End-to-end proof of the Dockerfile without a Docker engine or a registry:
# builds the image with podman on a local Debian base made by debootstrap, runs
# it with only the documented privileges (CAP_BPF, CAP_PERFMON, CAP_SETUID and
# CAP_SETGID to start, the host's tracefs, read-only root, 256 MiB), checks that
# once attached the exporter runs as uid 65534 with no capability, makes exactly
# 1000 memfd_create(2) calls from a host process with a unique comm and asserts
# that the container counted exactly those. Prints one PASS or FAIL line; exits non-zero on failure.
#
# Run as root on Debian 12:  scripts/container-smoke.sh
#
# State is kept private, away from any podman configuration and images of yours:
#   /var/cache/memfd-exporter-smoke/   debootstrap tarball, podman config and
#                                      image store (cached layers make reruns
#                                      fast); delete it to start from scratch
#   /run/memfd-exporter-smoke/         podman's runtime state, seccomp profile
# CONTAINERS_CONF and CONTAINERS_STORAGE_CONF point podman at the private
# files, so /etc/containers/{containers,storage}.conf are neither used nor
# changed (podman still keeps a blob-info cache in /var/lib/containers/cache).
# No bridge, iptables rule or ip_forward change is made (host network for the
# build, slirp4netns for the container).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
readonly cache=/var/cache/memfd-exporter-smoke
readonly run_dir=/run/memfd-exporter-smoke
readonly rootfs_tar=$cache/debian-bookworm-minbase.tar
readonly base_image=localhost/debian:bookworm
readonly image=localhost/memfd-exporter:smoke
readonly tracing=/sys/kernel/tracing
readonly calls=1000

start_ns=$(date +%s%N)
phase_ns=$start_ns
log() { printf 'container-smoke: %s\n' "$*"; }
# Prints how long the phase that just ended took, and the total so far.
phase_done() {
  local now
  now=$(date +%s%N)
  printf 'container-smoke: %-24s %6.1f s (total %6.1f s)\n' "$1" \
    "$(( (now - phase_ns) / 1000000 ))e-3" "$(( (now - start_ns) / 1000000 ))e-3"
  phase_ns=$now
}

container=""
container_id=""
mounted_tracefs=0
work=""
result=FAIL
reason="aborted (see the messages above)"

cleanup() {
  local rc=$?
  set +e
  if [ -n "$container" ]; then
    podman rm -f -t 5 "$container" >/dev/null 2>&1 || log "WARN: could not remove container $container"
    # conmon, slirp4netns and rootlessport carry the container id on their
    # command lines; they must be gone once the container is.
    if [ -n "$container_id" ]; then
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        pgrep -f "$container_id" >/dev/null || break
        sleep 0.2
      done
      if pgrep -af "$container_id"; then
        log "WARN: processes of container $container_id are still running (listed above)"
        rc=1 reason="leftover processes after removing the container"
      fi
    fi
  fi
  # Only after the container is gone: its bind mount keeps tracefs busy.
  if [ "$mounted_tracefs" = 1 ]; then
    umount "$tracing" || log "WARN: could not unmount tracefs at $tracing"
  fi
  [ -n "$work" ] && rm -rf "$work"
  if [ "$result" = PASS ] && [ "$rc" = 0 ]; then
    log "PASS: $reason"
  else
    log "FAIL: $reason"
    [ "$rc" = 0 ] && rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  reason=$*
  exit 1
}

[ "$(id -u)" = 0 ] || fail "must run as root (rootful podman, tracefs mount, BPF)"

# --- Packages ---------------------------------------------------------------------
# runc, not crun: crun fails on this kind of host (hybrid cgroups, rlimits).
packages=(podman runc slirp4netns debootstrap curl)
command -v python3 >/dev/null || packages+=(python3-minimal)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The real interpreter, not a pyenv shim script: its file name becomes the comm.
py=$(readlink -f "$(python3 -c 'import sys; print(sys.executable)')")
phase_done "packages"

# --- Private podman configuration -------------------------------------------------
mkdir -p "$cache/containers" "$run_dir"
# overlay when the kernel can mount it over the cache's file system (a cached
# rebuild then takes about a second); otherwise vfs, which copies every layer
# and is much slower but works anywhere. Each driver keeps its own store.
driver=vfs
probe=$(mktemp -d "$cache/overlay-probe.XXXXXX")
mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
     "$probe/merged" 2>/dev/null; then
  umount "$probe/merged"
  driver=overlay
fi
rm -rf "$probe"
# cgroupfs: PID 1 need not be systemd; file events: no journald needed.
# Podman asks for RLIMIT_NOFILE 1048576 and RLIMIT_NPROC 4194304 by default,
# which runc may not set on this kind of host (root lacks CAP_SYS_RESOURCE):
# "error setting rlimit type 7" (or 6). Measured here: nofile up to the host's
# hard limit and nproc up to 32768 work; the exporter runs about 40 threads.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then
  nproc=32768
fi
cat > "$cache/containers/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$run_dir/libpod"
EOF
cat > "$cache/containers/storage.conf" <<EOF
[storage]
driver = "$driver"
graphroot = "$cache/storage-$driver"
runroot = "$run_dir/storage-$driver"
EOF
export CONTAINERS_CONF=$cache/containers/containers.conf
export CONTAINERS_STORAGE_CONF=$cache/containers/storage.conf

# --- Local base image ------------------------------------------------------------
# The Debian mirror (and security mirror) this host's apt already uses: the
# only package source known to be reachable.
apt_uri_for_suite() {
  local suite=$1
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null
    echo
  } | awk -v s="$suite" 'BEGIN { RS = "" } {
      uri = ""; hit = 0
      n = split($0, lines, "\n")
      for (i = 1; i <= n; i++) {
        if (lines[i] ~ /^URIs:/) { split(lines[i], f, /[ \t]+/); uri = f[2] }
        if (lines[i] ~ /^Suites:/) { m = split(lines[i], f, /[ \t]+/); for (j = 2; j <= m; j++) if (f[j] == s) hit = 1 }
      }
      if (hit && uri != "") { print uri; exit }
    }'
  if [ -r /etc/apt/sources.list ]; then
    # One-line format; drop "[arch=... signed-by=...]" options first.
    sed -E 's/\[[^]]*\]//' /etc/apt/sources.list | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }'
  fi
}
if [ ! -s "$rootfs_tar" ]; then
  mirror=$(apt_uri_for_suite bookworm | head -n1)
  security=$(apt_uri_for_suite bookworm-security | head -n1)
  [ -n "$mirror" ] || fail "no bookworm mirror in /etc/apt/sources.list{,.d/*.sources}"
  log "debootstrap bookworm from $mirror (cached in $rootfs_tar)"
  work=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log"; fail "debootstrap failed"; }
  # Same suites as the official debian:bookworm image, so builds get fixes.
  rm -f "$work/rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } > "$work/rootfs/etc/apt/sources.list.d/debian.sources"
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb
  tar --numeric-owner -C "$work/rootfs" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$work"
  work=""
fi
# A host behind a TLS-intercepting proxy reaches Maven Central only because it
# trusts the proxy's CA, installed in /usr/local/share/ca-certificates; the
# build stage must trust it too. Those public certificates are added to the
# local base (never to the Dockerfile): when the build stage installs
# ca-certificates(-java), they land in the JDK's trust store. The label keys
# the import to the rootfs and the certificates, so a change to either
# re-imports it while an unchanged base keeps every cached build layer.
local_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${local_cas[0]}" ] || local_cas=()
base_key=$( { stat -c '%s %Y' "$rootfs_tar"; cat "${local_cas[@]}" /dev/null; } | sha256sum | cut -c1-16)
if [ "$(podman image inspect --format '{{index .Labels "io.memfdexporter.smoke.base"}}' "$base_image" 2>/dev/null)" != "$base_key" ]; then
  log "importing $base_image (${#local_cas[@]} local CA certificate(s) added)"
  work=$(mktemp -d)
  cp "$rootfs_tar" "$work/base.tar"
  if [ ${#local_cas[@]} -gt 0 ]; then
    mkdir -p "$work/ca/usr/local/share/ca-certificates"
    cp "${local_cas[@]}" "$work/ca/usr/local/share/ca-certificates/"
    tar --numeric-owner --owner=0 --group=0 -C "$work/ca" -rf "$work/base.tar" ./usr/local/share/ca-certificates
  fi
  podman rmi -f "$base_image" >/dev/null 2>&1 || true
  podman import --quiet --change "LABEL io.memfdexporter.smoke.base=$base_key" "$work/base.tar" "$base_image" >/dev/null
  rm -rf "$work"
  work=""
fi
phase_done "base image"

# --- Build ------------------------------------------------------------------------------
# --pull=never: nothing may come from a registry, the base is the local import.
# --network host: RUN steps need no bridge, iptables rules or ip_forward.
podman build --pull=never --network host --build-arg BASE_IMAGE="$base_image" \
  -t "$image" -f "$repo/Dockerfile" "$repo"
phase_done "podman build ($driver)"
size_mb=$(( $(podman image inspect --format '{{.Size}}' "$image") / 1000000 ))
log "image $image: ${size_mb} MB"

# --- Run ----------------------------------------------------------------------------------
if ! mountpoint -q "$tracing"; then
  mount -t tracefs nodev "$tracing"
  mounted_tracefs=1
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
container=memfd-smoke-$$

# Podman's default seccomp profile (containers-common 0.50) lets bpf() and
# perf_event_open() through only with CAP_SYS_ADMIN, whatever CAP_BPF and
# CAP_PERFMON say; Docker >= 23 and containerd >= 1.6.9 gate them on CAP_BPF
# and CAP_PERFMON. Derive that profile from the installed default.
python3 - /usr/share/containers/seccomp.json "$run_dir/seccomp.json" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
profile = json.load(open(src))
gate = {"bpf": "CAP_BPF", "perf_event_open": "CAP_PERFMON"}
rules = []
for rule in profile["syscalls"]:
    names = [n for n in rule["names"] if n in gate]
    if names and rule.get("action") == "SCMP_ACT_ERRNO" and rule.get("excludes", {}).get("caps"):
        # The explicit EPERM for callers without CAP_SYS_ADMIN must also spare
        # callers with the specific capability, or the two rules conflict.
        rest = [n for n in rule["names"] if n not in gate]
        if rest:
            rules.append(dict(rule, names=rest))
        for name in names:
            excludes = dict(rule["excludes"], caps=rule["excludes"]["caps"] + [gate[name]])
            rules.append(dict(rule, names=[name], excludes=excludes))
    else:
        rules.append(rule)
for name, cap in gate.items():
    rules.append({"names": [name], "action": "SCMP_ACT_ALLOW", "includes": {"caps": [cap]}})
profile["syscalls"] = rules
json.dump(profile, open(dst, "w"), indent=1)
PY

# The documented production settings: root in the container with only
# CAP_BPF + CAP_PERFMON, read-only root without any tmpfs (podman adds /tmp and
# /run to --read-only containers unless told not to), the host's tracefs
# read-only, and the memory limit of deploy/kubernetes/daemonset.yaml.
run_args=(--read-only --read-only-tmpfs=false --security-opt no-new-privileges --memory 256m
          -v "$tracing:$tracing:ro" --network slirp4netns -p "127.0.0.1:$port:9822")

# Waits for /-/healthy; returns non-zero if the container stops or 60 s pass.
wait_healthy() {
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(curl -s --max-time 2 "http://127.0.0.1:$port/-/healthy")" = Healthy ] && return 0
    [ "$(podman inspect --format '{{.State.Running}}' "$container" 2>/dev/null)" = true ] || return 1
    sleep 0.2
  done
  return 1
}

privilege=(--cap-drop ALL --cap-add BPF --cap-add PERFMON --cap-add SETUID --cap-add SETGID
           --security-opt "seccomp=$run_dir/seccomp.json")
container_id=$(podman run -d --name "$container" "${privilege[@]}" "${run_args[@]}" "$image")
if ! wait_healthy; then
  log "WARN: not healthy with ${privilege[*]}; container log:"
  podman logs "$container" 2>&1 | tail -n 20 | sed 's/^/  | /'
  podman rm -f -t 2 "$container" >/dev/null
  privilege=(--privileged)
  log "WARN: retrying with --privileged"
  container_id=$(podman run -d --name "$container" "${privilege[@]}" "${run_args[@]}" "$image")
  wait_healthy || { podman logs "$container" 2>&1 | tail -n 20; fail "exporter not healthy even with --privileged"; }
fi
phase_done "container healthy"

if [ "${privilege[0]}" != --privileged ]; then
  # Once attached, the exporter holds nothing: uid 65534 and empty capability sets.
  status=$(podman exec "$container" cat /proc/1/status)
  for field in CapEff CapPrm CapAmb; do
    value=$(awk -v f="$field:" '$1 == f { print $2 }' <<<"$status")
    [ "$value" = 0000000000000000 ] || fail "container $field is $value after startup, expected none"
  done
  uid=$(awk '$1 == "Uid:" { print $2 }' <<<"$status")
  [ "$uid" = 65534 ] || fail "container uid is $uid after startup, expected 65534"
fi

# --- The check -----------------------------------------------------------------------------
# The comm is the executable's file name (at most 15 characters): a symlink
# named after this shell's pid gives the calls a name nobody else uses.
comm=mfdsmoke$$
ln -s "$py" "$work/$comm"
"$work/$comm" -c "
import os
for _ in range($calls):
    os.close(os.memfd_create('memfd-smoke'))
"
metrics=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics") || fail "scrape of /metrics failed"
value=$(awk -v series="memfd_create_calls_total{comm=\"$comm\"}" '$1 == series { print $2 }' <<<"$metrics")
phase_done "calls and scrape"

podman logs "$container" 2>&1 | sed 's/^/  container | /'
if [ -z "$value" ]; then
  fail "no memfd_create_calls_total{comm=\"$comm\"} in /metrics (${privilege[*]})"
elif ! awk -v v="$value" -v want="$calls" 'BEGIN { exit !(v ~ /^[0-9.eE+]+$/ && v + 0 == want) }'; then
  fail "memfd_create_calls_total{comm=\"$comm\"} is $value, expected $calls (${privilege[*]})"
fi
result=PASS
reason="memfd_create_calls_total{comm=\"$comm\"} = $value with ${privilege[*]}, read-only root, image ${size_mb} MB, $(( ($(date +%s%N) - start_ns) / 1000000000 )) s"
