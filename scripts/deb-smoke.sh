#!/usr/bin/env bash
# End-to-end proof of the Debian package (target/memfd-exporter_*.deb, built by
# mvn package): lintian on the host; then, in a fresh Debian 12 container
# (podman, the local debootstrap base of scripts/lib.sh), `apt-get install
# ./memfd-exporter_*.deb` resolves its Depends from the archive, a reinstall
# runs the maintainer scripts a second time, the packaged launcher
# /usr/bin/memfd-exporter starts the exporter, exactly 1000 memfd_create(2)
# calls from a host process with a unique comm are counted, and `apt-get
# purge` removes every file the package installed and everything its scripts
# and its service created. What remains in the container after purging the
# package and autoremoving its dependencies, compared with before the install,
# is listed. Prints one PASS or FAIL line; exits non-zero on failure.
#
# Run as root on Debian 12:  scripts/deb-smoke.sh
#
# The container is --privileged (the launcher runs the exporter as root with
# every capability, as the package's own systemd unit would with its ambient
# set) with the host's network and the host's tracefs; there is no systemd in
# it, so the maintainer scripts take their no-systemd paths (deb-systemd-helper
# still records the enablement, which purge must undo). State and caches:
# scripts/lib.sh ("Containers without a Docker engine"); downloaded .debs are
# kept in /var/cache/memfd-exporter-smoke/apt-archives.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
. "$repo/scripts/lib.sh"
readonly tracing=$SMOKE_TRACING
readonly calls=1000
readonly archives=$SMOKE_CACHE/apt-archives

smoke_begin deb-smoke

[ "$(id -u)" = 0 ] || fail "must run as root (rootful podman, tracefs mount, BPF)"
smoke_install_packages
install_if_missing lintian
phase_done "packages"

# --- The package --------------------------------------------------------------------
cd "$repo"
shopt -s nullglob
debs=(target/memfd-exporter_*_amd64.deb)
if [ ${#debs[@]} -ne 1 ] || [ -n "$(find pom.xml bpf src/main deploy alerts dashboards scripts/lib.sh README.md docs \
                                    -newer "${debs[0]}" -print -quit)" ]; then
  rm -f target/memfd-exporter_*_amd64.deb
  mvn -B -q package -DskipTests
  debs=(target/memfd-exporter_*_amd64.deb)
fi
[ ${#debs[@]} -eq 1 ] || fail "mvn package made ${#debs[@]} packages: ${debs[*]}"
deb=${debs[0]}
deb_kb=$(( $(stat -c %s "$deb") / 1024 ))
log "$deb: $deb_kb KiB, $(dpkg-deb -f "$deb" Installed-Size) KiB installed; Depends: $(dpkg-deb -f "$deb" Depends)"
phase_done "package"

# Every tag that is not overridden (with its reason) in deploy/debian/lintian-overrides fails.
lintian_out=$(lintian --pedantic -I -E --show-overrides --tag-display-limit 0 "$deb" 2>&1 | grep -v '^running with root' || true)
printf '%s\n' "$lintian_out" | sed 's/^/  lintian | /'
tags=$(printf '%s\n' "$lintian_out" | grep -cE '^[EWIPX]: ' || true)
overridden=$(printf '%s\n' "$lintian_out" | grep -cE '^O: ' || true)
[ "$tags" = 0 ] || fail "lintian: $tags tag(s) not explained in deploy/debian/lintian-overrides"
phase_done "lintian"

# --- A fresh Debian 12 ------------------------------------------------------------
smoke_podman_config || fail "podman configuration in $SMOKE_CACHE failed"
smoke_base_image || fail "no base image $SMOKE_BASE_IMAGE (see the messages above)"
mkdir -p "$archives/partial"
smoke_mount_tracefs || fail "could not mount tracefs at $tracing"
work=$(mktemp -d)
container=memfd-deb-smoke-$$
podman run -d --name "$container" --privileged --network host --pull=never \
  -v "$tracing:$tracing:ro" -v "$archives:/var/cache/apt/archives" \
  "$SMOKE_BASE_IMAGE" sleep infinity >/dev/null || fail "could not start a container from $SMOKE_BASE_IMAGE"
in_container() { podman exec -e DEBIAN_FRONTEND=noninteractive "$container" "$@"; }
podman cp "$deb" "$container:/root/" || fail "could not copy $deb into the container"
# Every file and directory, but the kernel's and apt's caches: the "before" of the purge check.
snapshot() {
  in_container find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
    -o -path /var/cache/apt -o -path /var/lib/apt/lists -o -path /root \) -prune -o -print | sort
}
snapshot > "$work/before"
packages() { in_container dpkg-query -W -f='${binary:Package}\n' | sed 's/:amd64$//' | sort; }
packages > "$work/packages-before"
phase_done "container"

# --- Install, twice ----------------------------------------------------------------------
in_container apt-get update -qq || fail "apt-get update failed in the container"
in_container sh -c "cd /root && apt-get install -y -q ./$(basename "$deb")" > "$work/install.log" 2>&1 \
  || { tail -n 30 "$work/install.log"; fail "apt-get install ./$(basename "$deb") failed"; }
grep -E '^(The following NEW packages|  )' "$work/install.log" | sed -n '/NEW packages/,/^[^ ]/p' | sed 's/^/  install | /' || true
new_packages=$(sed -n 's/^\([0-9]*\) upgraded, \([0-9]*\) newly installed.*/\2/p' "$work/install.log")
phase_done "apt-get install"
# What the package installed: its files and links (its directories are checked below).
in_container sh -c 'dpkg -L memfd-exporter | while read -r p; do [ -d "$p" ] || echo "$p"; done' \
  | sort > "$work/files"
package_files=$(wc -l < "$work/files")
in_container sh -c 'dpkg-query -W -f="\${Conffiles}\n" memfd-exporter' | sed 's/^ *//' | grep . > "$work/conffiles"
grep -qx '/etc/default/memfd-exporter [0-9a-f]*' "$work/conffiles" || fail "conffiles: $(cat "$work/conffiles")"
# The postinst enabled the unit as on a systemd host (deb-systemd-helper works without systemd).
enabled=/etc/systemd/system/multi-user.target.wants/memfd-exporter.service
in_container test -L "$enabled" || fail "postinst did not enable memfd-exporter.service ($enabled)"
# Idempotent maintainer scripts: a reinstall runs prerm upgrade, postinst configure again.
in_container sh -c "cd /root && apt-get install -y -q --reinstall ./$(basename "$deb")" > "$work/reinstall.log" 2>&1 \
  || { tail -n 30 "$work/reinstall.log"; fail "apt-get install --reinstall failed"; }
phase_done "reinstall"

# --- The packaged launcher counts ---------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
podman exec -d "$container" sh -c "echo \$\$ > /run/exporter.pid; exec memfd-exporter --web.listen-address=127.0.0.1:$port >/run/exporter.log 2>&1" >/dev/null
deadline=$((SECONDS + 60))
until [ "$(curl -s --max-time 2 "http://127.0.0.1:$port/-/healthy")" = Healthy ]; do
  if [ $SECONDS -ge $deadline ] || ! in_container sh -c 'kill -0 "$(cat /run/exporter.pid)"' 2>/dev/null; then
    in_container cat /run/exporter.log | tail -n 20
    fail "the packaged launcher did not bring up a healthy exporter"
  fi
  sleep 0.2
done
# The exporter runs with the launcher's JVM flags, i.e. scripts/lib.sh's.
cmdline=$(in_container sh -c 'tr "\0" " " < /proc/$(cat /run/exporter.pid)/cmdline')
for flag in "${EXPORTER_JVM_FLAGS[@]}"; do
  [[ " $cmdline " == *" $flag "* ]] || fail "the exporter runs without $flag: $cmdline"
done
phase_done "exporter healthy"
read -r comm value < <(smoke_count_calls "$port" "$calls" "$work") || fail "the calls or the scrape failed"
in_container sh -c 'kill "$(cat /run/exporter.pid)"'
in_container sed 's/^/  exporter | /' /run/exporter.log
smoke_check_count "$comm" "$value" "$calls"
for _ in $(seq 50); do
  in_container sh -c 'kill -0 "$(cat /run/exporter.pid)"' 2>/dev/null || break
  sleep 0.2
done
phase_done "calls and scrape"

# --- Purge ----------------------------------------------------------------------------------
in_container apt-get purge -y -q memfd-exporter > "$work/purge.log" 2>&1 \
  || { tail -n 30 "$work/purge.log"; fail "apt-get purge failed"; }
left=()
while read -r path; do
  in_container test -e "$path" -o -L "$path" && left+=("$path")
done < "$work/files"
# Directories the package made (not shared ones such as /usr/bin), and what postinst made.
for path in /usr/lib/memfd-exporter /usr/share/memfd-exporter /usr/share/doc/memfd-exporter "$enabled" \
            /var/lib/systemd/deb-systemd-helper-enabled/memfd-exporter.service.dsh-also \
            /var/lib/systemd/deb-systemd-helper-masked/memfd-exporter.service /etc/default/memfd-exporter; do
  in_container test -e "$path" -o -L "$path" && left+=("$path")
done
[ ${#left[@]} -eq 0 ] || fail "left after apt-get purge: ${left[*]}"
in_container dpkg -s memfd-exporter >/dev/null 2>&1 && fail "dpkg still knows memfd-exporter after purge"
phase_done "apt-get purge"

# The dependencies the install pulled in go too; then the container is compared with before.
in_container apt-get autoremove --purge -y -q > "$work/autoremove.log" 2>&1 || fail "apt-get autoremove failed"
snapshot > "$work/after"
# Packages APT keeps although the install pulled them in: those a package of the base
# recommends (apt recommends ca-certificates), which autoremove spares. Their own files
# and dpkg records are theirs, not this package's leftovers.
comm -13 "$work/packages-before" <(packages) > "$work/kept"
{
  while read -r package; do
    in_container dpkg -L "$package"
    in_container sh -c "ls /var/lib/dpkg/info/$package.* /var/lib/dpkg/info/$package:amd64.* 2>/dev/null" || true
  done < "$work/kept"
} | sort -u > "$work/kept-files"
comm -13 "$work/before" "$work/after" | comm -23 - "$work/kept-files" > "$work/remains"
log "still installed from the Depends (recommended by the base system, so autoremove keeps them): $(tr '\n' ' ' < "$work/kept")"
log "left in the container after purge and autoremove --purge, compared with before the install, not owned by those ($(wc -l < "$work/remains") paths):"
# update-ca-certificates' hash links of the kept ca-certificates, as one line.
certs=$(grep -c '^/etc/ssl/certs/' "$work/remains" || true)
grep -v '^/etc/ssl/certs/' "$work/remains" | sed 's/^/  remains | /'
[ "$certs" = 0 ] || log "  remains | /etc/ssl/certs/: $certs certificates and links update-ca-certificates made"
phase_done "autoremove"

result=PASS
reason="$deb ($deb_kb KiB, $new_packages new packages with its Depends): lintian clean ($overridden overridden, explained), installed twice, the launcher counted memfd_create_calls_total{comm=\"$comm\"} = $value, purge removed all $package_files files, $(wc -l < "$work/remains") paths left after autoremove (listed above; $(wc -l < "$work/kept") dependencies kept by APT), $(( ($(date +%s%N) - start_ns) / 1000000000 )) s"
