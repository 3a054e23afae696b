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
# State is kept private, away from any podman configuration and images of yours
# (scripts/lib.sh, "Containers without a Docker engine"):
#   /var/cache/memfd-exporter-smoke/   debootstrap tarball, podman config and
#                                      image store (cached layers make reruns
#                                      fast); delete it to start from scratch
#   /run/memfd-exporter-smoke/         podman's runtime state, seccomp profile
# No bridge, iptables rule or ip_forward change is made (host network for the
# build, slirp4netns for the container).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
. "$repo/scripts/lib.sh"
readonly cache=$SMOKE_CACHE
readonly run_dir=$SMOKE_RUN_DIR
readonly base_image=$SMOKE_BASE_IMAGE
readonly image=localhost/memfd-exporter:smoke
readonly tracing=$SMOKE_TRACING
readonly calls=1000

smoke_begin container-smoke

[ "$(id -u)" = 0 ] || fail "must run as root (rootful podman, tracefs mount, BPF)"

# --- Packages, podman configuration, base image (scripts/lib.sh) ------------------
smoke_install_packages
phase_done "packages"
smoke_podman_config || fail "podman configuration in $cache failed"
smoke_base_image || fail "no base image $base_image (see the messages above)"
phase_done "base image"

# --- Build ------------------------------------------------------------------------------
smoke_build_image "$repo" "$image"
phase_done "podman build ($smoke_driver)"
size_mb=$(( $(podman image inspect --format '{{.Size}}' "$image") / 1000000 ))
log "image $image: ${size_mb} MB"

# --- Run ----------------------------------------------------------------------------------
smoke_mount_tracefs || fail "could not mount tracefs at $tracing"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
container=memfd-smoke-$$

smoke_seccomp_profile "$run_dir/seccomp.json" || fail "could not derive a seccomp profile from podman's default"

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
read -r comm value < <(smoke_count_calls "$port" "$calls" "$work") || fail "the calls or the scrape failed"
phase_done "calls and scrape"

podman logs "$container" 2>&1 | sed 's/^/  container | /'
smoke_check_count "$comm" "$value" "$calls" "${privilege[*]}"
result=PASS
reason="memfd_create_calls_total{comm=\"$comm\"} = $value with ${privilege[*]}, read-only root, image ${size_mb} MB, $(( ($(date +%s%N) - start_ns) / 1000000000 )) s"
