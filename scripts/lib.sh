# Shared by run.sh and test.sh: become root, then install what is missing.
# shellcheck shell=bash

# Re-executes the calling script as root (through sudo when needed), keeping
# MEMFD_EXPORTER_REQUIRE_BPF so CI's "no skipped kernel tests" survives sudo.
ensure_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      exec sudo --preserve-env=MEMFD_EXPORTER_REQUIRE_BPF,MEMFD_EXPORTER_JAVA_OPTS,JAVA_HOME "$0" "$@"
    fi
    echo "$(basename "$0"): must run as root (loading BPF programs needs CAP_BPF and CAP_PERFMON), and sudo is not installed" >&2
    exit 1
  fi
}

# Debian 12 / Ubuntu 22.04+ package names: what building and running needs.
BUILD_PACKAGES=(openjdk-17-jdk-headless maven clang gcc libbpf-dev libbpf1 python3 util-linux curl)

install_missing_packages() {
  install_if_missing "${BUILD_PACKAGES[@]}"
}

# The tests also run promtool, prometheus and prometheus-alertmanager (the monitoring tests),
# runc (ExecKernelTest starts a container with it), chromium (LandingPageKernelTest renders
# the landing page headless) and jsonnet (MixinTest renders mixin/ and compares).
install_missing_test_packages() {
  install_if_missing "${BUILD_PACKAGES[@]}" prometheus prometheus-alertmanager runc chromium jsonnet
}

# Installs those of the given packages that are missing, so a prepared machine never
# touches the network.
install_if_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "$(basename "$0"): missing ${missing[*]} and no apt-get: install a JDK 17, Maven, clang, gcc, libbpf (>= 1.0, with headers), python3 and, for the tests, Prometheus 2.x with promtool and Alertmanager (as prometheus-alertmanager)" >&2
      exit 1
    fi
    echo "installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The tests start Prometheus and Alertmanager themselves, on 127.0.0.1: stop and disable the
    # services these packages start on installation (they would listen on every interface).
    for package in "${missing[@]}"; do
      case "$package" in
        prometheus | prometheus-alertmanager)
          if [ -d /run/systemd/system ]; then
            systemctl disable --now "$package.service" >/dev/null 2>&1 || true
          fi
          ;;
      esac
    done
  fi
}

# The JVM flags the exporter runs with, here and (the same set, which
# DeployManifestsTest checks) in the Dockerfile and deploy/systemd: Serial GC in
# a heap that starts at 16 MiB and grows only as needed up to 64 MiB, a young
# generation half of it with large survivor spaces (so a scrape's maps die young
# instead of filling the old generation: no full GCs), C1 only, 256 KiB thread
# stacks; no /tmp/hsperfdata_root/PID file (the JVM cannot delete it once the
# exporter dropped root); and an exit on OutOfMemoryError, so a supervisor
# restarts the exporter instead of it lingering half-broken. Measured one by
# one in BENCHMARKS.md ("Footprint"); scripts/bench.sh uses them too.
# MEMFD_EXPORTER_JAVA_OPTS is appended and overrides them: with
# --bpf.max-comms far above the default, give the heap room (-Xmx256m).
EXPORTER_JVM_FLAGS=(-XX:+UseSerialGC -Xmx64m -Xms16m -XX:NewRatio=1 -XX:SurvivorRatio=2
                    -XX:TieredStopAtLevel=1 -Xss256k -XX:-UsePerfData -XX:+ExitOnOutOfMemoryError)

# ---- Containers without a Docker engine or a registry ------------------------------------
# Shared by scripts/container-smoke.sh (the Dockerfile) and scripts/deb-smoke.sh (the Debian
# package). State is kept private, away from any podman configuration and images of yours:
#   SMOKE_CACHE    debootstrap tarball, podman config and image store (cached layers make
#                  reruns fast); delete it to start from scratch
#   SMOKE_RUN_DIR  podman's runtime state
# CONTAINERS_CONF and CONTAINERS_STORAGE_CONF point podman at the private files, so
# /etc/containers/{containers,storage}.conf are neither used nor changed (podman still keeps a
# blob-info cache in /var/lib/containers/cache). The functions print why they fail on stderr
# and return non-zero; callers turn that into their FAIL line.
readonly SMOKE_CACHE=/var/cache/memfd-exporter-smoke
readonly SMOKE_RUN_DIR=/run/memfd-exporter-smoke
readonly SMOKE_BASE_IMAGE=localhost/debian:bookworm
readonly SMOKE_TRACING=/sys/kernel/tracing

# The frame the smoke scripts run in. smoke_begin NAME defines log (NAME-prefixed),
# phase_done (how long the phase that just ended took, and the total so far) and fail
# REASON, and starts the state the exit handler reads: on exit, whatever happened, the
# container named in $container and the pod named in $pod are removed (and, once
# $container_id is known, none of their processes may outlive them: conmon, slirp4netns
# and rootlessport carry a container's id on their command lines; $container_id may list
# several, space-separated), a tracefs mount smoke_mount_tracefs made is undone, $work is
# deleted, and one PASS or FAIL line is printed: PASS only with result=PASS and exit 0,
# with $reason either way.
smoke_begin() {
  smoke_name=$1
  start_ns=$(date +%s%N)
  phase_ns=$start_ns
  container=""
  pod=""
  container_id=""
  mounted_tracefs=0
  work=""
  result=FAIL
  reason="aborted (see the messages above)"
  log() { printf '%s: %s\n' "$smoke_name" "$*"; }
  phase_done() {
    local now
    now=$(date +%s%N)
    printf '%s: %-24s %6.1f s (total %6.1f s)\n' "$smoke_name" "$1" \
      "$(( (now - phase_ns) / 1000000 ))e-3" "$(( (now - start_ns) / 1000000 ))e-3"
    phase_ns=$now
  }
  fail() {
    reason=$*
    exit 1
  }
  trap smoke_end EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# The host's tracefs, for the container to bind: mounted if it is not (and unmounted on exit).
smoke_mount_tracefs() {
  mountpoint -q "$SMOKE_TRACING" && return
  mount -t tracefs nodev "$SMOKE_TRACING" || return 1
  mounted_tracefs=1
}

smoke_end() {
  local rc=$?
  set +e
  if [ -n "$container" ]; then
    podman rm -f -t 5 "$container" >/dev/null 2>&1 || log "WARN: could not remove container $container"
  fi
  if [ -n "$pod" ]; then
    podman pod rm -f -t 5 "$pod" >/dev/null 2>&1 || log "WARN: could not remove pod $pod"
  fi
  local id
  for id in $container_id; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      pgrep -f "$id" >/dev/null || break
      sleep 0.2
    done
    if pgrep -af "$id"; then
      log "WARN: processes of container $id are still running (listed above)"
      rc=1 reason="leftover processes after removing the container"
    fi
  done
  # Only after the container is gone: its bind mount keeps tracefs busy.
  if [ "$mounted_tracefs" = 1 ]; then
    umount "$SMOKE_TRACING" || log "WARN: could not unmount tracefs at $SMOKE_TRACING"
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

# runc, not crun: crun fails on this kind of host (hybrid cgroups, rlimits).
smoke_install_packages() {
  local packages=(podman runc slirp4netns debootstrap curl)
  command -v python3 >/dev/null || packages+=(python3-minimal)
  install_if_missing "${packages[@]}"
}

# Writes the private podman configuration and exports it; sets smoke_driver.
smoke_podman_config() {
  local driver=vfs probe nofile nproc
  mkdir -p "$SMOKE_CACHE/containers" "$SMOKE_RUN_DIR" || return 1
  # overlay when the kernel can mount it over the cache's file system (a cached
  # rebuild then takes about a second); otherwise vfs, which copies every layer
  # and is much slower but works anywhere. Each driver keeps its own store.
  probe=$(mktemp -d "$SMOKE_CACHE/overlay-probe.XXXXXX") || return 1
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
  cat > "$SMOKE_CACHE/containers/containers.conf" <<CONF || return 1
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$SMOKE_RUN_DIR/libpod"
CONF
  cat > "$SMOKE_CACHE/containers/storage.conf" <<CONF || return 1
[storage]
driver = "$driver"
graphroot = "$SMOKE_CACHE/storage-$driver"
runroot = "$SMOKE_RUN_DIR/storage-$driver"
CONF
  export CONTAINERS_CONF=$SMOKE_CACHE/containers/containers.conf
  export CONTAINERS_STORAGE_CONF=$SMOKE_CACHE/containers/storage.conf
  smoke_driver=$driver
}

# The repository's Dockerfile built as IMAGE from SMOKE_BASE_IMAGE: smoke_build_image REPO IMAGE.
# --pull=never: nothing may come from a registry, the base is the local import.
# --network host: RUN steps need no bridge, iptables rules or ip_forward.
smoke_build_image() {
  podman build --pull=never --network host --build-arg BASE_IMAGE="$SMOKE_BASE_IMAGE" \
    -t "$2" -f "$1/Dockerfile" "$1"
}

# Podman's default seccomp profile (containers-common 0.50) lets bpf() and
# perf_event_open() through only with CAP_SYS_ADMIN, whatever CAP_BPF and
# CAP_PERFMON say; Docker >= 23 and containerd >= 1.6.9 gate them on CAP_BPF
# and CAP_PERFMON. smoke_seccomp_profile DST writes that profile, derived from the installed
# default, to DST.
smoke_seccomp_profile() {
  python3 - /usr/share/containers/seccomp.json "$1" <<'PY'
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
}

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

# SMOKE_BASE_IMAGE: a fresh Debian 12 (debootstrap minbase, cached as a tarball) with the
# official image's apt sources; imported again only when the tarball or the local CAs change.
smoke_base_image() {
  local rootfs_tar=$SMOKE_CACHE/debian-bookworm-minbase.tar mirror security work base_key local_cas
  if [ ! -s "$rootfs_tar" ]; then
    mirror=$(apt_uri_for_suite bookworm | head -n1)
    security=$(apt_uri_for_suite bookworm-security | head -n1)
    [ -n "$mirror" ] || { echo "no bookworm mirror in /etc/apt/sources.list{,.d/*.sources}" >&2; return 1; }
    echo "debootstrap bookworm from $mirror (cached in $rootfs_tar)" >&2
    work=$(mktemp -d) || return 1
    if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
      tail -n 20 "$work/debootstrap.log" >&2
      rm -rf "$work"
      echo "debootstrap failed" >&2
      return 1
    fi
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
    tar --numeric-owner -C "$work/rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$work"
    [ -s "$rootfs_tar" ] || { echo "could not write $rootfs_tar" >&2; return 1; }
  fi
  # A host behind a TLS-intercepting proxy reaches Maven Central only because it
  # trusts the proxy's CA, installed in /usr/local/share/ca-certificates; builds
  # in the image must trust it too. Those public certificates are added to the
  # local base (never to the Dockerfile): when a build installs
  # ca-certificates(-java), they land in the JDK's trust store. The label keys
  # the import to the rootfs and the certificates, so a change to either
  # re-imports it while an unchanged base keeps every cached build layer.
  local_cas=(/usr/local/share/ca-certificates/*.crt)
  [ -e "${local_cas[0]}" ] || local_cas=()
  base_key=$( { stat -c '%s %Y' "$rootfs_tar"; cat "${local_cas[@]}" /dev/null; } | sha256sum | cut -c1-16)
  if [ "$(podman image inspect --format '{{index .Labels "io.memfdexporter.smoke.base"}}' "$SMOKE_BASE_IMAGE" 2>/dev/null)" != "$base_key" ]; then
    echo "importing $SMOKE_BASE_IMAGE (${#local_cas[@]} local CA certificate(s) added)" >&2
    work=$(mktemp -d) || return 1
    cp "$rootfs_tar" "$work/base.tar" || { rm -rf "$work"; return 1; }
    if [ ${#local_cas[@]} -gt 0 ]; then
      mkdir -p "$work/ca/usr/local/share/ca-certificates"
      cp "${local_cas[@]}" "$work/ca/usr/local/share/ca-certificates/"
      tar --numeric-owner --owner=0 --group=0 -C "$work/ca" -rf "$work/base.tar" ./usr/local/share/ca-certificates
    fi
    podman rmi -f "$SMOKE_BASE_IMAGE" >/dev/null 2>&1
    if ! podman import --quiet --change "LABEL io.memfdexporter.smoke.base=$base_key" "$work/base.tar" \
         "$SMOKE_BASE_IMAGE" >/dev/null; then
      rm -rf "$work"
      echo "podman import of $SMOKE_BASE_IMAGE failed" >&2
      return 1
    fi
    rm -rf "$work"
  fi
}

# Makes CALLS memfd_create(2) calls from a host process whose comm nobody else uses, scrapes
# http://127.0.0.1:PORT/metrics and prints "COMM VALUE" (VALUE empty when the series is missing).
# With PID, the scrape is made in the network namespace of that process (a pod's, whose port
# is not published). The comm is the executable's file name (at most 15 characters): a
# symlink named after the caller's pid in DIR. The real interpreter, not a pyenv shim
# script: its file name becomes the comm.
smoke_count_calls() {
  local port=$1 n=$2 dir=$3 netns=() py comm metrics
  [ -n "${4:-}" ] && netns=(nsenter "--net=/proc/$4/ns/net")
  py=$(readlink -f "$(python3 -c 'import sys; print(sys.executable)')") || return 1
  comm=mfdsmoke$$
  ln -sf "$py" "$dir/$comm" || return 1
  "$dir/$comm" -c "
import os
for _ in range($n):
    os.close(os.memfd_create('memfd-smoke'))
" || return 1
  metrics=$("${netns[@]}" curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics") || { echo "scrape of /metrics failed" >&2; return 1; }
  printf '%s %s\n' "$comm" "$(awk -v series="memfd_create_calls_total{comm=\"$comm\"}" '$1 == series { print $2 }' <<<"$metrics")"
}

# Fails the run (smoke_begin's fail) unless COMM's memfd_create_calls_total VALUE, as
# smoke_count_calls printed it, is exactly WANT (the exposition writes 1000.0). CONTEXT, if
# given, ends each failure message.
smoke_check_count() {
  local comm=$1 value=$2 want=$3 context=${4:+ ($4)}
  if [ -z "$value" ]; then
    fail "no memfd_create_calls_total{comm=\"$comm\"} in /metrics$context"
  elif ! awk -v v="$value" -v want="$want" 'BEGIN { exit !(v ~ /^[0-9.eE+]+$/ && v + 0 == want) }'; then
    fail "memfd_create_calls_total{comm=\"$comm\"} is $value, expected $want$context"
  fi
}
