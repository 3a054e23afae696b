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

# The tests also run promtool, prometheus and prometheus-alertmanager (the monitoring tests), and
# runc (ExecKernelTest starts a container with it).
install_missing_test_packages() {
  install_if_missing "${BUILD_PACKAGES[@]}" prometheus prometheus-alertmanager runc
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
