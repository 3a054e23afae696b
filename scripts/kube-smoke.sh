#!/usr/bin/env bash
# End-to-end proof of deploy/kubernetes/daemonset.yaml in a real container
# runtime: `podman kube play` of its pod template (same image name, args,
# capabilities, securityContext, resources, probes and tracefs hostPath mount),
# with the image built from the Dockerfile on the local Debian base. Checks that
# podman applied what the manifest asks (capabilities, read-only root,
# no-new-privileges, memory and CPU limits, tracefs read-only), that once
# attached the exporter runs as uid 65534 with no capability, and that exactly
# 1000 memfd_create(2) calls from a host process with a unique comm are counted.
# Prints one PASS or FAIL line; exits non-zero on failure.
#
# Run as root on Debian 12:  scripts/kube-smoke.sh
#
# Podman 4.3 (Debian 12) plays Pods and Deployments, not DaemonSets: the Pod is
# generated at run time from the shipped manifest's spec.template (nothing is
# kept by hand), with two changes, both printed:
# - seccomp: podman's RuntimeDefault is containers-common's profile, which lets
#   bpf() through only with CAP_SYS_ADMIN (as on CRI-O). The manifest's comment
#   prescribes a Localhost profile gating bpf on CAP_BPF and perf_event_open on
#   CAP_PERFMON there; the Pod gets exactly that (smoke_seccomp_profile), as
#   securityContext.seccompProfile and as the annotation podman 4.3 reads.
# - metadata.name: a DaemonSet's pods get generated names; here one unique to the run.
# What podman 4.3 does not implement is reported, not hidden: hostPID (the pod
# gets its own pid namespace; only the live collector's view of other
# processes depends on it), and the HTTP probes (podman turns them into
# healthchecks run by systemd timers inside the image, which has no HTTP
# client; without systemd it only logs errors). The pod's port is not
# published (the manifest has no hostPort): the scrape is made in the pod's
# network namespace (slirp4netns: no bridge, iptables rule or ip_forward change).
# State and caches: scripts/lib.sh ("Containers without a Docker engine").
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
. "$repo/scripts/lib.sh"
readonly manifest=$repo/deploy/kubernetes/daemonset.yaml
readonly calls=1000

smoke_begin kube-smoke

[ "$(id -u)" = 0 ] || fail "must run as root (rootful podman, tracefs mount, BPF)"
# catatonit: podman's local pause image for the pod's infra container (no registry).
smoke_install_packages
install_if_missing catatonit python3-yaml
phase_done "packages"
smoke_podman_config || fail "podman configuration in $SMOKE_CACHE failed"
smoke_base_image || fail "no base image $SMOKE_BASE_IMAGE (see the messages above)"
phase_done "base image"

# --- The Pod, from the DaemonSet's template ------------------------------------------------
work=$(mktemp -d)
mkdir "$work/seccomp"
smoke_seccomp_profile "$work/seccomp/memfd-exporter.json" || fail "could not derive a seccomp profile from podman's default"
pod=memfd-kube-smoke-$$
# Prints the template's image; writes the Pod to $work/pod.yaml.
image=$(/usr/bin/python3 - "$manifest" "$pod" memfd-exporter.json "$work/pod.yaml" <<'PY'
import sys, yaml
manifest, name, profile, out = sys.argv[1:]
daemonsets = [d for d in yaml.safe_load_all(open(manifest)) if d and d.get("kind") == "DaemonSet"]
assert len(daemonsets) == 1, f"{manifest}: {len(daemonsets)} DaemonSets"
template = daemonsets[0]["spec"]["template"]
metadata = dict(template.get("metadata") or {}, name=name)
spec = template["spec"]
containers = spec["containers"]
assert len(containers) == 1, f"{len(containers)} containers in the template"
context = spec.setdefault("securityContext", {})
print(f"kube-smoke: Pod {name} from the template of {manifest}; securityContext.seccompProfile"
      f" {context.get('seccompProfile')} -> Localhost {profile}", file=sys.stderr)
context["seccompProfile"] = {"type": "Localhost", "localhostProfile": profile}
metadata.setdefault("annotations", {})["seccomp.security.alpha.kubernetes.io/pod"] = "localhost/" + profile
yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}, open(out, "w"),
               sort_keys=False)
print(containers[0]["image"])
PY
) || fail "no Pod from the template of $manifest"
phase_done "pod spec"

# --- The image, under the manifest's name ----------------------------------------------
# imagePullPolicy IfNotPresent: podman plays the local image of that (short) name.
smoke_build_image "$repo" "$image"
phase_done "podman build ($smoke_driver)"

# --- Play -------------------------------------------------------------------------------------
smoke_mount_tracefs || fail "could not mount tracefs at $SMOKE_TRACING"
exporter=$pod-$(/usr/bin/python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["containers"][0]["name"])' "$work/pod.yaml")
# Without systemd, podman logs an error for each healthcheck timer it cannot create (said above).
podman kube play --network slirp4netns --seccomp-profile-root "$work/seccomp" "$work/pod.yaml" 2>&1 \
  | grep -v 'unable to get systemd connection' | sed 's/^/  play | /' || true
podman pod exists "$pod" || fail "podman kube play created no pod $pod"
infra=$(podman pod inspect --format '{{.InfraContainerID}}' "$pod")
container_id="$infra $(podman inspect --format '{{.Id}}' "$exporter")" || fail "no container $exporter in pod $pod"
netns_pid=$(podman inspect --format '{{.State.Pid}}' "$infra")

deadline=$((SECONDS + 60))
until [ "$(nsenter --net="/proc/$netns_pid/ns/net" curl -s --max-time 2 http://127.0.0.1:9822/-/healthy)" = Healthy ]; do
  if [ $SECONDS -ge $deadline ]; then
    podman logs "$exporter" 2>&1 | tail -n 20
    fail "the pod's exporter was not healthy within 60 s"
  fi
  sleep 0.2
done
phase_done "pod healthy"

# --- What podman applied --------------------------------------------------------------------
inspect() { podman inspect --format "$1" "$exporter"; }
expect() { [ "$2" = "$3" ] || fail "$1 is '$2', expected '$3'"; }
expect "effective capabilities" "$(inspect '{{.EffectiveCaps}}')" "[CAP_BPF CAP_PERFMON CAP_SETGID CAP_SETUID]"
expect "read-only root" "$(inspect '{{.HostConfig.ReadonlyRootfs}}')" true
[[ " $(inspect '{{.HostConfig.SecurityOpt}}') " == *no-new-privileges* ]] \
  || fail "allowPrivilegeEscalation: false did not give no-new-privileges: $(inspect '{{.HostConfig.SecurityOpt}}')"
expect "memory limit" "$(inspect '{{.HostConfig.Memory}}')" $((256 << 20))
expect "CPU quota/period" "$(inspect '{{.HostConfig.CpuQuota}}/{{.HostConfig.CpuPeriod}}')" 50000/100000
expect "tracefs mount (destination, writable)" \
  "$(inspect '{{range .Mounts}}{{if eq .Destination "/sys/kernel/tracing"}}{{.Source}} {{.RW}}{{end}}{{end}}')" \
  "/sys/kernel/tracing false"
expect "restarts" "$(inspect '{{.RestartCount}}')" 0
exporter_pid=$(inspect '{{.State.Pid}}')
# Once attached, the exporter holds nothing: uid 65534 and empty capability sets.
status=$(cat "/proc/$exporter_pid/status")
for field in CapEff CapPrm CapAmb; do
  expect "exporter $field" "$(awk -v f="$field:" '$1 == f { print $2 }' <<<"$status")" 0000000000000000
done
expect "exporter uids (real, effective, saved, fs)" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' <<<"$status")" \
  "65534 65534 65534 65534"
if [ "$(readlink "/proc/$exporter_pid/ns/pid")" = "$(readlink /proc/1/ns/pid)" ]; then
  pid_namespace="host pid namespace (hostPID)"
else
  pid_namespace="own pid namespace: podman $(podman version --format '{{.Client.Version}}') ignores hostPID"
fi
log "podman applied: $(inspect '{{.EffectiveCaps}}'), read-only root, no-new-privileges, 256 MiB, 500m CPU, tracefs ro; $pid_namespace"

# --- The check -----------------------------------------------------------------------------
read -r comm value < <(smoke_count_calls 9822 "$calls" "$work" "$netns_pid") || fail "the calls or the scrape failed"
phase_done "calls and scrape"

podman logs "$exporter" 2>&1 | sed 's/^/  pod | /'
smoke_check_count "$comm" "$value" "$calls"
result=PASS
reason="memfd_create_calls_total{comm=\"$comm\"} = $value from the pod of $(basename "$manifest") ($image), $(( ($(date +%s%N) - start_ns) / 1000000000 )) s"
