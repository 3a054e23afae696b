#!/usr/bin/env bash
# The kernel matrix: the real-kernel tests on the kernels users run, each
# booted in qemu by scripts/kernel-vm.sh, against this checkout's build.
#
#   scripts/kernel-matrix.sh [KERNEL...]     (default: 6.1 6.12 5.10)
#
# On 6.1 (Debian 12) and 6.12 (Debian 13), inside the VM:
#   1. the exporter jar runs as root with its defaults, live collector included:
#      1,000 memfd_create calls of one comm must be counted exactly, the live
#      collector must scan with the BPF iterators, it must drop its privileges
#      and keep scraping, and stop with 0 on SIGTERM; its log says which exec
#      path the kernel gets;
#   2. the kernel test classes (TESTS below) run with MEMFD_EXPORTER_REQUIRE_BPF=1.
#      A skipped test is a failure, except where docs/tested-kernels.md documents the
#      feature absent: ExecPrepareExecKernelTest without sched_prepare_exec
#      (< 6.10), the ExporterKernelTest tests of MFD_NOEXEC_SEAL/MFD_EXEC (< 6.3).
# On 5.10 (Debian 11, below the minimum) the exporter must exit 1 with exactly
# the refusal line KernelRequirementsKernelTest specifies.
#
# Prints a Markdown table (docs/tested-kernels.md) and one PASS/FAIL line
# per kernel; exits 1 if any kernel failed. Builds the checkout first when
# target/ lacks the jar or the test classes (mvn package -DskipTests).
# Results: target/kernel-matrix/KERNEL/ (console, Maven log, surefire reports).
# The VMs run one at a time, each bounded by MEMFD_EXPORTER_VM_TIMEOUT seconds
# (default 1500).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
# The kernel test classes that run in the test JVM: what differs between
# kernels (verifier, helpers, tracepoints, BTF, exec paths, fd -> file, cgroup
# ids, maps filling up, per-program stats, the startup probes, /proc scans).
# Left to the host kernel, measured in TCG on the 2-core CI machine: the classes
# that start the exporter as child JVMs (PinningKernelTest,
# PrivilegeDropKernelTest, LivePrivilegeDropKernelTest, SecretKernelTest, StartupFailureKernelTest,
# CleanStopKernelTest, HttpAbuseKernelTest: each
# child needs over a minute to serve, past their 60 s limits; the privilege
# drop and SIGTERM are checked by the run above instead), TLS and basic auth
# (WebSecurityKernelTest: handshakes time out in emulation, and nothing there
# depends on the kernel), MonitoringStackKernelTest (Prometheus and
# Alertmanager; the kernel side is the same counters as above) and
# CardinalityKernelTest (it bounds a scrape of a full map to 2 s: 5.7 s in
# emulation; MapFullKernelTest fills the maps too), and ProbeCloseKernelTest
# (a race in user space, the same on every kernel).
readonly TESTS='ExporterKernelTest,ExecSyscallStashKernelTest,ExecPrepareExecKernelTest,ExecMappingKernelTest,SizesKernelTest,'\
'CgroupKernelTest,MapFullKernelTest,CounterHonestyKernelTest,RateHistogramKernelTest,BpfProgramStatsKernelTest,'\
'KernelRequirementsKernelTest,io.memfdexporter.live.*Test,!LivePrivilegeDropKernelTest'
readonly CALLS=1000
readonly COMM=mfdmatrix

# --- Inside a VM -----------------------------------------------------------
if [ "${1:-}" = --in-vm ]; then
  # Whatever fails here is recorded in the facts and judged on the host.
  set +e
  out=${KERNEL_VM_OUT:?}
  cd "$repo"
  . scripts/lib.sh # the JVM flags run.sh gives the exporter
  release=$(uname -r)
  if [ "$2" = refusal ]; then
    java "${EXPORTER_JVM_FLAGS[@]}" -jar target/memfd-exporter.jar --no-collector.live --web.listen-address=127.0.0.1:9822 \
      >"$out/exporter.out" 2>"$out/exporter.err"
    echo $? >"$out/exporter.rc"
    exit 0
  fi
  facts=$out/facts
  : >"$facts"
  fact() { printf '%s=%s\n' "$1" "$2" >>"$facts"; }
  fact release "$release"
  fact distribution "$(. /etc/os-release && echo "$PRETTY_NAME")" # the host's userland, for the record
  fact unprivileged_bpf_disabled "$(cat /proc/sys/kernel/unprivileged_bpf_disabled)"

  # 1. The exporter as a user runs it: defaults, live collector included.
  start=$(date +%s)
  java "${EXPORTER_JVM_FLAGS[@]}" -jar target/memfd-exporter.jar --collector.live.interval=1s \
    --web.listen-address=127.0.0.1:9822 2>"$out/exporter.err" &
  exporter=$!
  up=0
  for _ in $(seq 1 240); do
    if curl -sf http://127.0.0.1:9822/-/healthy >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$exporter" 2>/dev/null || break
    sleep 0.5
  done
  fact exporter_up_seconds "$(( $(date +%s) - start ))"
  if [ "$up" = 1 ]; then
    python3 -c "
import ctypes, os
ctypes.CDLL(None).prctl(15, b'$COMM', 0, 0, 0)  # PR_SET_NAME
[os.close(os.memfd_create('x', os.MFD_CLOEXEC)) for _ in range($CALLS)]"
    counted=$(curl -sf http://127.0.0.1:9822/metrics \
      | awk -v comm="$COMM" '$1 == "memfd_create_calls_total{comm=\"" comm "\"}" { print $2 + 0 }')
    fact counted "${counted:-none}"
    # A live scan completes after the privilege drop (1 s interval): its method and that it ran.
    for _ in $(seq 1 60); do
      metrics=$(curl -sf http://127.0.0.1:9822/metrics || true)
      grep -q '^memfd_exporter_live_last_scan_timestamp_seconds ' <<<"$metrics" && break
      sleep 1
    done
    fact live_method "$(sed -n 's/^memfd_exporter_live_scan_method{method="\([a-z_]*\)"} 1.*/\1/p' <<<"$metrics" | head -n 1)"
    fact live_scanned "$(awk '$1 == "memfd_exporter_live_scanned_processes" { print $2 + 0 }' <<<"$metrics")"
    fact uid_after_start "$(awk '/^Uid:/ { print $2 }' "/proc/$exporter/status")"
    fact cap_eff_after_start "$(awk '/^CapEff:/ { print $2 }' "/proc/$exporter/status")"
  fi
  kill -TERM "$exporter" 2>/dev/null || true
  wait "$exporter"
  fact exporter_exit "$?"
  fact exec_path "$(sed -n 's/.*msg="attached to \(sched:[a-z_]*\).*/\1/p' "$out/exporter.err" | head -n 1)"
  fact privileges "$(grep -o 'dropped privileges[^;"]*\|privileges kept[^;:"]*' "$out/exporter.err" | head -n 1)"
  fact secret "$(grep -q 'attached to syscalls:sys_exit_memfd_secret' "$out/exporter.err" && echo counted || echo absent)"

  # 2. The kernel tests, against the host's build (offline: the host's ~/.m2).
  # The host's own reports are visible through the overlay: start from none.
  rm -rf target/surefire-reports
  start=$(date +%s)
  # C1 only: in emulation, C2's compilations cost more than they save.
  MAVEN_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" MEMFD_EXPORTER_REQUIRE_BPF=1 \
    mvn -o -B surefire:test -Dtest="$TESTS" -Dsurefire.failIfNoSpecifiedTests=false \
    -DargLine="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" >"$out/mvn.log" 2>&1
  fact suite_exit "$?"
  fact suite_seconds "$(( $(date +%s) - start ))"
  rm -rf "$out/surefire-reports"
  cp -r target/surefire-reports "$out/" 2>/dev/null || true
  exit 0
fi

# --- On the host -----------------------------------------------------------
. "$repo/scripts/lib.sh"
ensure_root "$@"
cd "$repo"
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12 5.10)
if [ ! -f target/memfd-exporter.jar ] || [ ! -d target/test-classes ]; then
  install_missing_test_packages
  mvn -B -q package -DskipTests
fi
vm_timeout=${MEMFD_EXPORTER_VM_TIMEOUT:-1500}
results=$repo/target/kernel-matrix
log() { printf 'kernel-matrix: %s\n' "$*" >&2; }
fact() { sed -n "s/^$1=//p" "$2/facts" 2>/dev/null | tail -n 1; }

declare -A verdicts rows
failed=0
for kernel in "${kernels[@]}"; do
  out=$results/$kernel
  rm -rf "$out"
  mkdir -p "$out"
  mode=suite
  [ "$kernel" = 5.10 ] && mode=refusal
  log "$kernel: booting ($mode)"
  start=$(date +%s)
  set +e
  "$repo/scripts/kernel-vm.sh" --timeout "$vm_timeout" --out "$out" "$kernel" -- \
    "$repo/scripts/kernel-matrix.sh" --in-vm "$mode" >"$out/console" 2>&1
  vm_rc=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  release=$(sed -n 's/^kernel-vm: kernel .* (\(.*\))$/\1/p' "$out/console" | head -n 1)
  problems=()
  [ "$vm_rc" = 0 ] || problems+=("the VM exited $vm_rc (see $out/console)")

  if [ "$mode" = refusal ]; then
    expected="memfd_exporter: the kernel (Linux $release) lacks what the BPF programs need:"
    expected+=" the BPF helper bpf_get_current_task_btf (Linux 5.11),"
    expected+=" BPF atomic instructions (fetch-and-add, compare-and-swap) (Linux 5.12),"
    expected+=" the BPF helper bpf_for_each_map_elem (Linux 5.13),"
    expected+=" BPF syscall programs (BPF_PROG_TYPE_SYSCALL) (Linux 5.14),"
    expected+=" the BPF helper bpf_task_pt_regs (Linux 5.15);"
    expected+=" memfd_exporter needs Linux 5.15 or later, with BTF"
    rc=$(cat "$out/exporter.rc" 2>/dev/null || echo none)
    [ "$rc" = 1 ] || problems+=("the exporter exited $rc, not 1")
    # The refusal must be the only line on stderr (the log goes there too).
    if [ "$(cat "$out/exporter.err" 2>/dev/null)" != "$expected" ]; then
      problems+=("stderr is not exactly the refusal line: $(head -c 600 "$out/exporter.err" 2>/dev/null)")
    fi
    rows[$kernel]="| $release | Debian 11 (bullseye) | refused at startup, exit 1: \`$(cut -c1-70 "$out/exporter.err" 2>/dev/null)…\` | – | – | – | below the minimum |"
  else
    reports=$out/surefire-reports
    # From Maven's per-class lines (a @ParameterizedClass runs once per parameter under one
    # name, and its XML report keeps only the last, empty part): totals over every class and
    # over the live collector's classes, printed; and, from the XML reports, the skips into
    # $out/skipped as "Class.method: reason". Only documented absences may skip, and
    # ExecPrepareExecKernelTest only where the exporter did not attach to sched_prepare_exec.
    read -r tests failures errors skipped live_tests live_passed < <(python3 - "$out/mvn.log" "$reports" "$out/skipped" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
log, reports, skipped_file = sys.argv[1:]
totals = [0, 0, 0, 0]
live = [0, 0]
ran = {}
line = re.compile(r"Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+), .* -- in (\S+)")
for text in open(log, errors="replace"):
    match = line.search(text)
    if not match:
        continue
    counts = [int(match.group(i)) for i in range(1, 5)]
    name = match.group(5)
    ran[name] = ran.get(name, 0) + counts[0]
    totals = [a + b for a, b in zip(totals, counts)]
    if name.startswith("io.memfdexporter.live."):
        live[0] += counts[0]
        live[1] += counts[0] - sum(counts[1:])
with open(skipped_file, "w") as skips:
    for path in sorted(glob.glob(reports + "/TEST-*.xml")):
        suite = ET.parse(path).getroot()
        if ran.get(suite.get("name"), 0) == 0:  # an assumption in @BeforeAll skips the class without a test case
            print(suite.get("name").rsplit(".", 1)[-1] + ".(all): no test ran", file=skips)
        for case in suite.iter("testcase"):
            skip = case.find("skipped")
            if skip is not None:
                # JUnit's reason: the message, or the first line of the TestAbortedException.
                reason = skip.get("message") or (skip.text or "").strip().split("\n")[0]
                reason = reason.split("Assumption failed: ", 1)[-1]
                print(case.get("classname").rsplit(".", 1)[-1] + "." + case.get("name") + ": " + reason, file=skips)
print(*totals, *live)
PY
    )
    exec_path=$(fact exec_path "$out")
    allowed_skip="(ExecPrepareExecKernelTest\\.|ExporterKernelTest\\..*: memfd_create has no MFD_NOEXEC_SEAL or MFD_EXEC before Linux 6\\.3)"
    unexpected_skips=$(grep -v -E "^$allowed_skip" "$out/skipped" || true)
    prepare_exec_skips=$(grep -c -E "^ExecPrepareExecKernelTest\\." "$out/skipped" || true)
    noexec_seal_skips=$(grep -c -E "^ExporterKernelTest\\..*MFD_NOEXEC_SEAL" "$out/skipped" || true)
    if [ "$prepare_exec_skips" != 0 ] && [ "$exec_path" = sched:sched_prepare_exec ]; then
      unexpected_skips+=$'\n'"ExecPrepareExecKernelTest skipped although the exporter attached to sched_prepare_exec"
    fi
    [ "${tests:-0}" -gt 0 ] || problems+=("no test reports")
    [ "${failures:-0}" = 0 ] && [ "${errors:-0}" = 0 ] || problems+=("$failures failed, $errors errors (see $out/mvn.log)")
    [ -z "${unexpected_skips//$'\n'/}" ] || problems+=("skipped: ${unexpected_skips//$'\n'/; }")
    [ "$(fact suite_exit "$out")" = 0 ] || problems+=("mvn exited $(fact suite_exit "$out")")
    [ "$(fact counted "$out")" = "$CALLS" ] || problems+=("counted $(fact counted "$out") of $CALLS calls")
    [ "$(fact exporter_exit "$out")" = 0 ] || problems+=("the exporter exited $(fact exporter_exit "$out") on SIGTERM")
    [ "$(fact uid_after_start "$out")" = 65534 ] || problems+=("the exporter runs as uid $(fact uid_after_start "$out"), not 65534")
    [ "$(fact live_method "$out")" = bpf_iterator ] || problems+=("the live collector scans with '$(fact live_method "$out")', not the BPF iterators")
    [ "$(fact live_scanned "$out")" -gt 0 ] 2>/dev/null || problems+=("no live scan completed after the privilege drop")
    case "$kernel" in
      6.1) distribution="Debian 12 (bookworm)" ;;
      6.12) distribution="Debian 13 (trixie)" ;;
      *) distribution="Debian" ;;
    esac
    case "$exec_path" in
      sched:sched_prepare_exec) exec_text="\`sched_prepare_exec\`" ;;
      sched:sched_process_exec) exec_text="syscall stash (\`sys_enter_execve[at]\` + \`sched_process_exec\`)" ;;
      *) exec_text="not attached"; problems+=("the exporter's log names no exec tracepoint") ;;
    esac
    if [ "$(fact uid_after_start "$out")" = 65534 ] && [ "$(fact cap_eff_after_start "$out")" = 0000000000000000 ]; then
      drop_text="drops to uid 65534, no capabilities; scrapes exact"
    else
      drop_text="kept (uid $(fact uid_after_start "$out"), CapEff $(fact cap_eff_after_start "$out"))"
    fi
    differences="unprivileged_bpf_disabled=$(fact unprivileged_bpf_disabled "$out")"
    [ "$prepare_exec_skips" = 0 ] || differences+="; no \`sched_prepare_exec\` (6.10): \`ExecPrepareExecKernelTest\` skipped"
    [ "$noexec_seal_skips" = 0 ] || differences+="; memfd_create refuses \`MFD_NOEXEC_SEAL\`/\`MFD_EXEC\` (6.3) with EINVAL, counted as failures: $noexec_seal_skips tests using them skipped"
    [ "$(fact secret "$out")" = counted ] || differences+="; no memfd_secret"
    rows[$kernel]="| $release | $distribution | $((tests - skipped)) of $tests kernel tests pass ($skipped skipped), $(fact counted "$out") of $CALLS calls counted | $exec_text | $(fact live_method "$out" | tr _ ' ') scan of $(fact live_scanned "$out") processes, as uid 65534; $live_passed of $live_tests \`live\` tests pass (both methods) | $drop_text | $differences |"
    log "$kernel: exporter up in $(fact exporter_up_seconds "$out") s; suite $(fact suite_seconds "$out") s: $tests tests, $failures failed, $errors errors, $skipped skipped"
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    verdicts[$kernel]="PASS: $kernel ($release) in $seconds s"
  else
    verdicts[$kernel]="FAIL: $kernel ($release) in $seconds s: $(IFS=';'; echo "${problems[*]}")"
    failed=1
  fi
  log "${verdicts[$kernel]}"
done

echo "| Kernel | Distribution | What runs there | Exec path | Live collector | Privilege drop (live collector on) | Known differences |"
echo "|---|---|---|---|---|---|---|"
for kernel in "${kernels[@]}"; do
  echo "${rows[$kernel]}"
done
for kernel in "${kernels[@]}"; do
  echo "kernel-matrix: ${verdicts[$kernel]}"
done
exit "$failed"
