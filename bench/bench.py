#!/usr/bin/env python3
"""
The measurements behind BENCHMARKS.md. Run it through scripts/bench.sh, which
builds what it needs and runs this inside a private mount namespace (where it
may mount tracefs without the host seeing it).

Phases (all by default):
  probe       memfd_create+close and getpid cost, and N-process memfd throughput
              (N = CPUs), with nothing / an empty program on sys_enter / empty
              programs on sys_enter and sys_exit / bpftrace / the exporter
              (/ --baseline-jar) attached: interleaved rounds, the order rotated
              every round, medians of per-round differences and ratios; then
              per-program run time with BPF stats on
  mappings    mmap+munmap of an anonymous page, mprotect of one page, and mmap+munmap
              of an executable anonymous / memfd page, with nothing / empty programs on
              sys_exit_mmap and sys_exit_mprotect (the floor) / the exporter attached,
              interleaved as for probe; the exporter must count every memfd mapping
  throughput  the exporter counts every call exactly at the highest rate the
              machine makes them (1..N processes)
  scrape      /metrics latency under wrk with 10k+ comms in the map, and the GCs
              meanwhile; the exporter (/ --baseline-jar), a fresh one per cell,
              configs interleaved
  footprint   RSS and time to first scrape, per JVM flag set
  levers      RSS idle and under 200 clients with 10,240 comms, per JVM setting tried
              on top of the launcher's flags (FOOTPRINT_LEVERS), interleaved rounds
  abuse       1..200 concurrent scrapers on a full default map (10,240 comms): latency,
              responses by status, RSS; the exporter (/ --baseline-jar), a fresh one per
              (config, clients) cell, configs interleaved
  jmh         batch vs per-key map reads vs slot arrays (ScrapeBenchmark)

Performance is never asserted (the host may be shared and noisy); exactness
is: every count the exporter reports for the load generator's comm must equal
the calls it made, and wrk must see no error (in the abuse phase, where a 503 or
a timeout is a result: the exporter must stay alive, answer and keep its counts).
Exit status 1 otherwise.
"""
import argparse
import atexit
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

MODES = {
    # quick: a smoke test for CI, well under 5 minutes with the build.
    "quick": dict(rounds=2, memfd_calls=100_000, getpid_calls=500_000, chunks=50, stats_calls=20_000,
                  throughput_calls=50_000, scaling=[2], wrk_seconds=3, wrk_keys=[10_000], wrk_connections=[2],
                  scrape_rounds=1,
                  footprint_rounds=1, footprint_variants="ends", footprint_load_seconds=2,
                  abuse=dict(rounds=1, clients=[1, 40], seconds=3, settle_seconds=0, warmup_seconds=0),
                  jmh=dict(keys="1000,10000", benchmarks="scrape", warmups=1, iterations=2, rounds=1),
                  levers=dict(rounds=1, clients=200, seconds=2),
                  mapping_calls=50_000,
                  foreign_wait=0),
    # full: the numbers of BENCHMARKS.md.
    "full": dict(rounds=12, memfd_calls=300_000, getpid_calls=2_000_000, chunks=100, stats_calls=100_000,
                 throughput_calls=200_000, scaling=[1, 2, 4], wrk_seconds=10, wrk_keys=[100, 10_000, 100_000],
                 wrk_connections=[1, 2], scrape_rounds=3,
                 footprint_rounds=3, footprint_variants="all", footprint_load_seconds=5,
                 abuse=dict(rounds=3, clients=[1, 2, 40, 200], seconds=10, settle_seconds=3, warmup_seconds=2),
                 jmh=dict(keys="100,1000,10000,100000", benchmarks="read|scrape", warmups=2, iterations=3, rounds=3),
                 levers=dict(rounds=3, clients=200, seconds=8),
                 mapping_calls=300_000,
                 foreign_wait=10),
}
PHASES = ["probe", "mappings", "throughput", "scrape", "footprint", "levers", "abuse", "jmh"]
# JVM settings tried one at a time on top of the launcher's flags by the levers phase (none adopted yet: see
# BENCHMARKS.md, "Footprint levers").
FOOTPRINT_LEVERS = [
    ("launcher flags", []),
    ("no CDS archive (-Xshare:off)", ["-Xshare:off"]),
    ("one Netty arena per kind", ["-Dio.netty.allocator.numDirectArenas=1", "-Dio.netty.allocator.numHeapArenas=1"]),
    ("Netty unpooled buffers", ["-Dio.netty.allocator.type=unpooled"]),
    ("-Xmx32m", ["-Xmx32m"]),
    ("heap shrinks after GC", ["-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20"]),
]
BPFTRACE_PROGRAM = "tracepoint:syscalls:sys_enter_memfd_create { @[comm, args->flags] = count(); }"
LAT_COMM = "mfdlat"      # the load generator's comm in the latency loops
TPUT_COMM = "mfdtput"    # ... in the throughput runs
FILL_PREFIX = "bc"       # ... renaming itself to fill the per-comm map
ABUSE_COMM = "mfdabuse"  # ... before the fill in the abuse phase: its count must survive the load
ABUSE_MARKED_CALLS = 1000
DEFAULT_MAX_COMMS = 10240  # the exporter's default --bpf.max-comms: the map the abuse phase fills
# loadgen latency calls of the mappings phase: unrelated (mmap, mprotect), then PROT_EXEC ones.
MAPPING_CALLS = ["mmap", "mprotect", "mmapexec", "memfdexec"]
STATUS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "status.lua")

children = []  # every process we start, reaped at exit


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def start(command, **kwargs):
    process = subprocess.Popen(command, **kwargs)
    children.append(process)
    return process


def reap_all():
    for process in children:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run(command, timeout=600):
    """Runs a command to completion; returns its last stdout line's key=value pairs."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
    line = result.stdout.strip().splitlines()[-1]
    return {k: (float(v) if re.fullmatch(r"[-0-9.]+", v) else v) for k, v in (p.split("=", 1) for p in line.split())}


def median(values):
    return statistics.median(values) if values else float("nan")


# --- what the kernel has attached --------------------------------------------------------------

def bpftool_json(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def foreign_syscall_probes(ours):
    """Syscall tracepoint programs attached by processes other than ours: they slow every syscall we time."""
    found = [f"pid {e['pid']} {e.get('tracepoint', '?')}" for e in bpftool_json("perf", "list")
             if e.get("pid") not in ours and e.get("tracepoint", "").startswith(("sys_enter", "sys_exit"))]
    found += [f"raw_tracepoint {e['tp_name']}" for e in bpftool_json("link", "list")
              if e.get("type") == "raw_tracepoint" and e.get("tp_name") in ("sys_enter", "sys_exit")]
    return sorted(found)


def attached_tracepoints(pid):
    return sorted(e["tracepoint"] for e in bpftool_json("perf", "list") if e.get("pid") == pid)


def program_stats(pid):
    """{program id: (name, run_cnt, run_time_ns)} of the BPF programs a process holds, from /proc fdinfo."""
    stats = {}
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(f"{fd_dir}/{fd}") != "anon_inode:bpf-prog":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        except OSError:
            continue
        prog_id = int(info["prog_id"])
        stats[prog_id] = (int(info.get("run_cnt", 0)), int(info.get("run_time_ns", 0)))
    names = {p["id"]: p.get("name", "?") for p in bpftool_json("prog", "show") if p["id"] in stats}
    return {i: (names.get(i, "?"), *v) for i, v in stats.items()}


class BpfStats:
    """BPF run-time stats on while in the block (bpf_enable_stats: released with the helper's fd)."""

    def __init__(self, bin_dir):
        self.bin_dir = bin_dir

    def __enter__(self):
        self.process = start([f"{self.bin_dir}/attach", "--stats"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("could not enable BPF stats")
        return self

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.wait(10)


# --- what a measurement runs under ------------------------------------------------------------

class Nothing:
    name = "none"
    pid = None

    def start(self):
        pass

    def stop(self):
        pass


class Helper:
    """Programs of bench/empty.bpf.o, attached by bench/attach."""

    def __init__(self, name, bin_dir, programs):
        self.name, self.bin_dir, self.programs = name, bin_dir, programs

    def start(self):
        self.process = start([f"{self.bin_dir}/attach", f"{self.bin_dir}/empty.bpf.o", *self.programs],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{self.name}: bench/attach failed")
        self.pid = self.process.pid

    def stop(self):
        self.process.stdin.close()
        self.process.wait(10)


class Bpftrace:
    name = "bpftrace"

    def start(self):
        self.process = start(["bpftrace", "-e", BPFTRACE_PROGRAM], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.pid = self.process.pid
        deadline = time.time() + 60
        while attached_tracepoints(self.pid) != ["sys_enter_memfd_create"]:  # "Attaching 1 probe" comes first
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError("bpftrace did not attach")
            time.sleep(0.05)

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)


class Exporter:
    """The exporter jar, as the launcher runs it, on an ephemeral loopback port."""

    def __init__(self, name, jar, jvm_flags, args=()):
        self.name, self.jar, self.jvm_flags, self.args = name, jar, list(jvm_flags), list(args)

    def start(self):
        self.started = time.monotonic()
        self.process = start(["java", *self.jvm_flags, "-jar", self.jar, "--web.listen-address=127.0.0.1:0",
                              *self.args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        self.pid = self.process.pid
        self.log = []
        for line in self.process.stderr:
            self.log.append(line)
            found = re.search(r"listening on \S+:(\d+),", line)
            if found:
                self.port = int(found.group(1))
                break
        else:
            raise RuntimeError(f"{self.name} did not start: {''.join(self.log)}")
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()

    def first_scrape_seconds(self):
        """Scrapes until one succeeds; seconds from process start to that success."""
        while self.process.poll() is None:
            try:
                self.scrape()
                return time.monotonic() - self.started
            except OSError:
                time.sleep(0.005)
        raise RuntimeError(f"{self.name} exited: {''.join(self.log)}")

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=30) as response:
            return parse_exposition(response.read().decode())

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.pid}/status") as f:
            return int(re.search(field + r":\s+(\d+) kB", f.read()).group(1))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RssPeak:
    """The highest VmRSS of a process, sampled every 100 ms while in the block (and once on entry)."""

    def __init__(self, exporter):
        self.exporter = exporter

    def __enter__(self):
        self.samples = [self.exporter.rss_kib()]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample)
        self.thread.start()
        return self

    def sample(self):
        while not self.stopping.wait(0.1):
            try:
                self.samples.append(self.exporter.rss_kib())
            except (OSError, AttributeError):  # the process is gone (or a zombie, without VmRSS)
                return

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()

    def mib(self):
        return max(self.samples) / 1024


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    samples = {}
    for line in text.splitlines():
        found = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if found and not line.startswith("#"):
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group(2) or ""))
            samples[(found.group(1), labels)] = float(found.group(3))
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def family_sum(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


# --- the measurements -------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = MODES[args.mode]
        self.loadgen = f"{args.bin}/loadgen"
        self.cpus = os.cpu_count()
        self.results = {"mode": args.mode, "machine": machine(), "jvm_flags": args.jvm_flags}
        self.failures = []

    def check(self, ok, message):
        if not ok:
            self.failures.append(message)
            log("FAILED: " + message)

    def exporter(self, name="exporter", jar=None, flags=None, args=()):
        return Exporter(name, jar or self.args.jar, self.args.jvm_flags if flags is None else flags, args)

    def wait_for_quiet(self):
        """Waits (up to foreign_wait s) until no other process has a syscall tracepoint attached."""
        deadline = time.time() + self.mode["foreign_wait"]
        foreign = foreign_syscall_probes(set())
        while foreign and time.time() < deadline:
            time.sleep(1)
            foreign = foreign_syscall_probes(set())
        return foreign

    # 1, 2 and the N-process throughput of 5.
    def probe(self):
        m = self.mode
        configs = [Nothing(), Helper("empty", self.args.bin, ["empty_enter"]),
                   Helper("empty-enter+exit", self.args.bin, ["empty_enter", "empty_exit"]), Bpftrace(),
                   self.exporter()]
        if self.args.baseline_jar:
            configs.append(self.exporter("baseline", jar=self.args.baseline_jar))
        samples = []
        for r in range(m["rounds"]):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            log(f"probe round {r + 1}/{m['rounds']}: {', '.join(c.name for c in order)}")
            for config in order:
                samples.append(self.probe_sample(r, config))
        self.results["probe_samples"] = samples
        self.results["probe"] = summarize_probe(samples, [c.name for c in configs])

    def probe_sample(self, round_, config):
        m = self.mode
        foreign = self.wait_for_quiet()
        config.start()
        try:
            ours = {config.pid} if config.pid else set()
            sample = {"round": round_, "config": config.name, "tracepoints": attached_tracepoints(config.pid)
                      if config.pid else [], "foreign": foreign}
            memfd = run([self.loadgen, "latency", "memfd", str(m["memfd_calls"]), str(m["chunks"]), LAT_COMM])
            getpid = run([self.loadgen, "latency", "getpid", str(m["getpid_calls"]), str(m["chunks"]), LAT_COMM])
            tput = run([self.loadgen, "throughput", str(self.cpus), str(m["throughput_calls"]), TPUT_COMM])
            sample["foreign"] = sorted(set(foreign) | set(foreign_syscall_probes(ours)))
            sample.update(memfd_ns=memfd["ns_median"], getpid_ns=getpid["ns_median"],
                          memfd_calls_per_second=tput["calls_per_second"])
            made = memfd["made"]
            if config.pid:
                with BpfStats(self.args.bin):
                    before = program_stats(config.pid)
                    stats_run = run([self.loadgen, "latency", "memfd", str(m["stats_calls"]), "10", LAT_COMM])
                    after = program_stats(config.pid)
                made += stats_run["made"]
                sample["programs"] = {after[i][0]: {"runs": after[i][1] - before[i][1],
                                                    "run_time_ns": after[i][2] - before[i][2]}
                                      for i in after if i in before}
                sample["stats_calls"] = stats_run["made"]
            if isinstance(config, Exporter):
                scraped = config.scrape()
                counted = value(scraped, "memfd_create_calls_total", comm=LAT_COMM)
                self.check(counted == made, f"{config.name}: counted {counted} calls of {LAT_COMM}, made {made}")
                counted = value(scraped, "memfd_create_calls_total", comm=TPUT_COMM)
                self.check(counted == tput["calls"], f"{config.name}: counted {counted} calls of {TPUT_COMM}, "
                                                     f"made {tput['calls']}")
            return sample
        finally:
            config.stop()
            if config.pid:
                self.check(not attached_tracepoints(config.pid), f"{config.name} left programs attached")

    # The exec-mappings probe's cost: unrelated mmap/mprotect calls, and those asking for PROT_EXEC.
    def mappings(self):
        m = self.mode
        configs = [Nothing(), Helper("empty", self.args.bin, ["empty_exit_mmap", "empty_exit_mprotect"]),
                   self.exporter()]
        samples = []
        for r in range(m["rounds"]):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            log(f"mappings round {r + 1}/{m['rounds']}: {', '.join(c.name for c in order)}")
            for config in order:
                samples.append(self.mappings_sample(r, config))
        self.results["mappings_samples"] = samples
        self.results["mappings"] = summarize_mappings(samples, [c.name for c in configs])

    def mappings_sample(self, round_, config):
        m = self.mode
        foreign = self.wait_for_quiet()
        config.start()
        try:
            ours = {config.pid} if config.pid else set()
            sample = {"round": round_, "config": config.name, "ns": {}}
            made = {}
            for call in MAPPING_CALLS:
                result = run([self.loadgen, "latency", call, str(m["mapping_calls"]), str(m["chunks"]), LAT_COMM])
                sample["ns"][call] = result["ns_median"]
                made[call] = result["made"]
            sample["foreign"] = sorted(set(foreign) | set(foreign_syscall_probes(ours)))
            if config.pid:
                # Each program's own run time per run, per kind of call, with BPF stats on.
                sample["programs"] = {}
                for call in MAPPING_CALLS:
                    with BpfStats(self.args.bin):
                        before = program_stats(config.pid)
                        result = run([self.loadgen, "latency", call, str(m["stats_calls"]), "10", LAT_COMM])
                        after = program_stats(config.pid)
                    made[call] += result["made"]
                    sample["programs"][call] = {after[i][0]: (after[i][2] - before[i][2]) / (after[i][1] - before[i][1])
                                                for i in after if i in before and after[i][1] > before[i][1]}
            if isinstance(config, Exporter):
                scraped = config.scrape()
                counted = sum(v for (n, labels), v in scraped.items()
                              if n == "memfd_exec_mappings_total" and ("comm", LAT_COMM) in labels)
                expected = value(scraped, "memfd_exec_mappings_total", comm=LAT_COMM, syscall="mmap", kind="plain")
                self.check(counted == expected == made["memfdexec"],
                           f"{config.name}: counted {counted} executable memfd mappings of {LAT_COMM} ({expected} mmap/plain),"
                           f" made {made['memfdexec']}")
            return sample
        finally:
            config.stop()
            if config.pid:
                self.check(not attached_tracepoints(config.pid), f"{config.name} left programs attached")

    # 5.
    def throughput(self):
        exporter = self.exporter()
        exporter.start()
        rows = []
        try:
            for processes in self.mode["scaling"]:
                comm = f"{TPUT_COMM}{processes}"
                before = exporter.scrape()
                made = run([self.loadgen, "throughput", str(processes), str(self.mode["throughput_calls"]), comm])
                after = exporter.scrape()
                delta = {name: family_sum(after, name) - family_sum(before, name) for name in (
                    "memfd_create_observed_calls_total", "memfd_create_calls_total", "memfd_create_unrecorded_total")}
                counted = value(after, "memfd_create_calls_total", comm=comm)
                self.check(counted == made["calls"], f"throughput {processes}: counted {counted}, made {made['calls']}")
                rows.append(dict(processes=processes, calls=made["calls"], seconds=made["seconds"],
                                 calls_per_second=made["calls_per_second"], counted_for_comm=counted,
                                 observed_delta=delta["memfd_create_observed_calls_total"],
                                 all_comms_delta=delta["memfd_create_calls_total"],
                                 unrecorded_delta=delta["memfd_create_unrecorded_total"]))
                log(f"throughput {processes} processes: {rows[-1]}")
        finally:
            exporter.stop()
        self.results["throughput"] = rows

    # 3, end to end.
    def scrape(self):
        """/metrics under wrk for the exporter (and --baseline-jar), interleaved: each cell a fresh exporter."""
        configs = [("exporter", self.args.jar)]
        if self.args.baseline_jar:
            configs.append(("baseline", self.args.baseline_jar))
        samples = []
        for r in range(self.mode["scrape_rounds"]):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for keys in self.mode["wrk_keys"]:
                for name, jar in order:
                    samples.extend(self.scrape_cell(name, jar, keys, r))
        self.results["scrape_samples"] = samples
        cells = sorted({(s["config"], s["keys"], s["connections"]) for s in samples},
                       key=lambda c: (c[1], c[2], c[0] != "exporter"))
        self.results["scrape"] = [
            dict(config=config, keys=keys, connections=connections, rounds=len(cell),
                 **{key: median([s[key] for s in cell]) for key in (
                     "map_entries", "collector_ms", "requests", "requests_per_second", "p50_ms", "p99_ms",
                     "full_gcs", "young_gcs")},
                 errors=sum(s["errors"] for s in cell))
            for config, keys, connections in cells
            for cell in [[s for s in samples if (s["config"], s["keys"], s["connections"]) == (config, keys, connections)]]]

    def scrape_cell(self, name, jar, keys, r):
        gc_log = f"{self.args.out}/gc-scrape-{name}-{keys}-{r}.log"
        exporter = self.exporter(name, jar=jar, flags=self.args.jvm_flags + [f"-Xlog:gc:file={gc_log}"],
                                 args=[f"--bpf.max-comms={max(10240, keys + 1024)}"])
        exporter.start()
        rows = []
        try:
            run([self.loadgen, "comms", str(keys), FILL_PREFIX], timeout=1200)
            entries = value(exporter.scrape(), "memfd_exporter_bpf_map_entries", map="calls_by_comm")
            self.check(entries >= keys, f"scrape {name}: calls_by_comm has {entries} entries, filled {keys}")
            wrk(exporter, 2, connections=1)  # warm-up: the JIT compiles the scrape path
            collector_ms = median([1000 * value(exporter.scrape(), "memfd_exporter_collector_duration_seconds",
                                                collector="memfd") for _ in range(5)])
            for connections in self.mode["wrk_connections"]:
                before = gc_pauses(gc_log)
                result = wrk(exporter, self.mode["wrk_seconds"], connections)
                after = gc_pauses(gc_log)
                result.update(config=name, round=r, keys=keys, map_entries=entries, collector_ms=collector_ms,
                              full_gcs=after["full"] - before["full"], young_gcs=after["young"] - before["young"])
                self.check(result["errors"] == 0, f"scrape {name} {keys} keys: {result['errors']} wrk errors")
                self.check(result["requests"] > 0, f"scrape {name} {keys} keys: no request completed")
                rows.append(result)
                log(f"wrk, {name}, {keys} keys: {result}")
        finally:
            exporter.stop()
        return rows

    # 4.
    def footprint(self):
        flags = self.args.jvm_flags
        variants = [("JVM defaults", [])] + [(f"+ {flag}", flags[:i + 1]) for i, flag in enumerate(flags)]
        if self.mode["footprint_variants"] == "ends":
            variants = [variants[0], variants[-1]]
        else:
            variants.append(("+ AppCDS archive", flags + [f"-XX:SharedArchiveFile={self.app_cds_archive(flags)}"]))
        samples = []
        for r in range(self.mode["footprint_rounds"]):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for name, jvm_flags in order:
                samples.append(dict(round=r, variant=name, **self.footprint_sample(jvm_flags)))
                log(f"footprint {name}: {samples[-1]}")
        self.results["footprint_samples"] = samples
        self.results["footprint"] = [
            dict(variant=name, flags=" ".join(jvm_flags), **{key: median([s[key] for s in samples if s["variant"] == name])
                                                              for key in ("first_scrape_s", "rss_idle_mib",
                                                                          "rss_load_mib", "hwm_mib", "p50_ms",
                                                                          "p99_ms")})
            for name, jvm_flags in variants]

    def app_cds_archive(self, flags):
        """A dynamic AppCDS archive of the classes one start and scrape load (written at exit)."""
        archive = f"{self.args.out}/app.jsa"
        exporter = self.exporter(flags=flags + [f"-XX:ArchiveClassesAtExit={archive}"])
        exporter.start()
        exporter.first_scrape_seconds()
        exporter.stop()
        self.check(os.path.exists(archive), "the AppCDS archive was not written")
        return archive

    def footprint_sample(self, jvm_flags):
        exporter = self.exporter(flags=jvm_flags)
        exporter.start()
        try:
            first = exporter.first_scrape_seconds()
            run([self.loadgen, "comms", "10000", FILL_PREFIX])  # the default map capacity, nearly full
            time.sleep(3)
            idle = exporter.rss_kib()
            with RssPeak(exporter) as peak:
                result = wrk(exporter, self.mode["footprint_load_seconds"], connections=2)
            self.check(result["errors"] == 0, f"footprint {jvm_flags}: {result['errors']} wrk errors")
            return dict(first_scrape_s=first, rss_idle_mib=idle / 1024, rss_load_mib=peak.mib(),
                        hwm_mib=exporter.rss_kib("VmHWM") / 1024, p50_ms=result["p50_ms"], p99_ms=result["p99_ms"])
        finally:
            exporter.stop()

    def levers(self):
        """Each FOOTPRINT_LEVERS setting alone on top of the launcher's flags: a fresh exporter per sample."""
        lv = self.mode["levers"]
        samples = []
        for r in range(lv["rounds"]):
            order = FOOTPRINT_LEVERS[r % len(FOOTPRINT_LEVERS):] + FOOTPRINT_LEVERS[:r % len(FOOTPRINT_LEVERS)]
            for name, extra in order:
                exporter = self.exporter(flags=self.args.jvm_flags + extra)
                exporter.start()
                try:
                    first = exporter.first_scrape_seconds()
                    started = exporter.rss_kib() / 1024
                    run([self.loadgen, "comms", str(DEFAULT_MAX_COMMS), FILL_PREFIX])
                    exporter.scrape()
                    time.sleep(3)
                    idle = exporter.rss_kib() / 1024
                    with RssPeak(exporter) as peak:
                        result = wrk(exporter, lv["seconds"], connections=lv["clients"], timeout_s=10,
                                     script=STATUS_SCRIPT)
                    samples.append(dict(round=r, lever=name, first_scrape_s=first, rss_start_mib=started,
                                        rss_idle_mib=idle, rss_peak_mib=peak.mib(),
                                        hwm_mib=exporter.rss_kib("VmHWM") / 1024,
                                        ok_per_second=result["statuses"].get(200, 0) / lv["seconds"],
                                        threads=len(os.listdir(f"/proc/{exporter.pid}/task"))))
                    log(f"levers {name}: {samples[-1]}")
                finally:
                    exporter.stop()
        self.results["levers_samples"] = samples
        self.results["levers"] = [
            dict(lever=name, flags=" ".join(extra), clients=lv["clients"], rounds=lv["rounds"],
                 **{key: median([s[key] for s in samples if s["lever"] == name]) for key in (
                     "first_scrape_s", "rss_start_mib", "rss_idle_mib", "rss_peak_mib", "hwm_mib", "ok_per_second",
                     "threads")})
            for name, extra in FOOTPRINT_LEVERS]

    # Load and abuse: what many concurrent scrapers do to a full default map.
    def abuse(self):
        a = self.mode["abuse"]
        configs = [("exporter", self.args.jar)]
        if self.args.baseline_jar:
            configs.append(("baseline", self.args.baseline_jar))
        samples = []
        for r in range(a["rounds"]):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for clients in a["clients"]:
                log(f"abuse round {r + 1}/{a['rounds']}, {clients} clients: {', '.join(n for n, _ in order)}")
                for name, jar in order:
                    samples.append(dict(round=r, config=name, clients=clients, **self.abuse_sample(name, jar, clients)))
                    log(f"abuse {name}, {clients} clients: {samples[-1]}")
        self.results["abuse_samples"] = samples
        self.results["abuse"] = summarize_abuse(samples, [n for n, _ in configs], a["clients"])

    def abuse_sample(self, name, jar, clients):
        """
        A fresh exporter (so that VmHWM is this cell's): a marked comm's calls, then the default map
        filled, RSS idle, a 1-connection warm-up (the JIT), then `clients` scrapers for the cell's
        seconds with Prometheus's default scrape timeout (10 s). After the load the exporter must be
        alive, answer and report the marked comm's count unchanged. (No 200 within the load is a
        result: with 40 clients in --quick's 3 s on a busy host, every request can still be in flight.)
        """
        a = self.mode["abuse"]
        exporter = self.exporter(name, jar=jar)
        exporter.start()
        try:
            exporter.first_scrape_seconds()
            marked = run([self.loadgen, "latency", "memfd", str(ABUSE_MARKED_CALLS), "10", ABUSE_COMM])["made"]
            before = exporter.scrape()
            # Another process on a shared host can fill the map first (a test spraying comms): then
            # the marked calls are unrecorded, and only "the load changed no count" can be checked.
            marked_counted = value(before, "memfd_create_calls_total", comm=ABUSE_COMM)
            if marked_counted != marked:
                log(f"abuse {name}: {ABUSE_COMM} counted {marked_counted:.0f} of {marked:.0f} calls before the fill: "
                    f"another process filled calls_by_comm first; exactness through the load not checked")
            capacity = value(before, "memfd_exporter_bpf_map_capacity", map="calls_by_comm")
            run([self.loadgen, "comms", str(DEFAULT_MAX_COMMS), FILL_PREFIX], timeout=1200)
            entries = value(exporter.scrape(), "memfd_exporter_bpf_map_entries", map="calls_by_comm")
            self.check(capacity == DEFAULT_MAX_COMMS and entries == capacity,
                       f"abuse {name}: calls_by_comm holds {entries:.0f} of {capacity:.0f}, not a full default map")
            time.sleep(a["settle_seconds"])
            idle = exporter.rss_kib()
            if a["warmup_seconds"]:
                wrk(exporter, a["warmup_seconds"], connections=1)
            with RssPeak(exporter) as peak:
                result = wrk(exporter, a["seconds"], clients, timeout_s=10, script=STATUS_SCRIPT)
            where = f"abuse {name}, {clients} clients"
            alive = exporter.process.poll() is None
            self.check(alive, f"{where}: the exporter died ({exporter.process.poll()})")
            hwm_mib = exporter.rss_kib("VmHWM") / 1024 if alive else float("nan")
            try:
                counted = value(scrape_after_load(exporter), "memfd_create_calls_total", comm=ABUSE_COMM)
            except OSError as e:
                counted = f"no answer ({e})"
            self.check(counted == marked_counted, f"{where}: counted {counted} calls of {ABUSE_COMM} after the "
                                                  f"load, {marked_counted:.0f} before it (made {marked:.0f})")
            ok = result["statuses"].get(200, 0)
            self.check(sum(result["statuses"].values()) == result["requests"],
                       f"{where}: bench/status.lua counted {result['statuses']} of {result['requests']} responses")
            return dict(map_entries=entries, exact_checked=marked_counted == marked, requests=result["requests"], ok=ok,
                        unavailable=result["statuses"].get(503, 0), other=result["requests"] - ok -
                        result["statuses"].get(503, 0), statuses=result["statuses"],
                        socket_errors=result["socket_errors"], requests_per_second=result["requests_per_second"],
                        ok_per_second=ok / result["seconds"],
                        # wrk prints percentiles of 0 when no response completed: none to report
                        p50_ms=result["p50_ms"] if result["requests"] else float("nan"),
                        p99_ms=result["p99_ms"] if result["requests"] else float("nan"),
                        rss_idle_mib=idle / 1024, rss_peak_mib=peak.mib(), hwm_mib=hwm_mib)
        finally:
            exporter.stop()

    # 3, the map read itself.
    def jmh(self):
        """ScrapeBenchmark (with -prof gc), and the baseline build's batch method in the same rounds if given."""
        j = self.mode["jmh"]
        runs = [("this", self.args.jmh_classpath, [])]
        if self.args.baseline_jmh_classpath:
            runs.append(("baseline", self.args.baseline_jmh_classpath, ["-p", "method=batch"]))
        rounds = []
        for r in range(j["rounds"]):
            scores = {}
            for name, classpath, extra in (runs if r % 2 == 0 else runs[::-1]):
                out = f"{self.args.out}/jmh-{name}-{r}.json"
                log(f"jmh round {r + 1}/{j['rounds']}, {name} build (keys {j['keys']})")
                subprocess.run(["java", "-cp", classpath, "org.openjdk.jmh.Main",
                                f"ScrapeBenchmark.({j['benchmarks']})$", "-p", f"keys={j['keys']}", *extra, "-f", "1",
                                "-wi", str(j["warmups"]), "-i", str(j["iterations"]), "-w", "1s", "-r", "1s",
                                "-prof", "gc", "-rf", "json", "-rff", out], check=True, stdout=subprocess.DEVNULL)
                with open(out) as f:
                    for b in json.load(f):
                        method = b["params"]["method"] if name == "this" else "baseline"
                        key = (b["benchmark"].rsplit(".", 1)[1], int(b["params"]["keys"]), method)
                        scores[key] = (b["primaryMetric"]["score"],
                                       b["secondaryMetrics"].get("gc.alloc.rate.norm", {}).get("score", float("nan")))
            rounds.append(scores)
        rows = []
        for (bench, keys, method) in sorted(rounds[0]):
            if method != "batch":
                continue
            def ms(m):
                return [r[(bench, keys, m)][0] for r in rounds]
            def alloc(m):
                return median([r[(bench, keys, m)][1] for r in rounds])
            batch, per_key, slots = ms("batch"), ms("perKey"), ms("slots")
            row = dict(benchmark=bench, keys=keys, batch_ms=median(batch), per_key_ms=median(per_key),
                       speedup=median([p / b for p, b in zip(per_key, batch)]), slots_ms=median(slots),
                       slots_speedup=median([b / s for b, s in zip(batch, slots)]),
                       batch_bytes=alloc("batch"), slots_bytes=alloc("slots"))
            if (bench, keys, "baseline") in rounds[0]:
                baseline = ms("baseline")
                row.update(baseline_ms=median(baseline), baseline_bytes=alloc("baseline"),
                           baseline_speedup=median([b / s for b, s in zip(baseline, slots)]))
            rows.append(row)
        self.results["jmh"] = rows


def gc_pauses(path):
    """Full and young collections so far in a -Xlog:gc log (the JVM writes a line per pause)."""
    try:
        with open(path) as f:
            lines = [line for line in f if "Pause" in line]
    except FileNotFoundError:
        return dict(full=0, young=0)
    full = sum("Pause Full" in line for line in lines)
    return dict(full=full, young=len(lines) - full)


def scrape_after_load(exporter, seconds=10):
    """A scrape, retried for a while on 503: requests of a load that just ended may still hold the exporter."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return exporter.scrape()
        except urllib.error.HTTPError as e:
            if e.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def wrk(exporter, seconds, connections, timeout_s=5, script=None):
    """
    wrk --latency on /metrics. errors: socket errors (connect, read, write, timeout) plus non-2xx
    responses; with script=bench/status.lua, statuses: responses by HTTP status. Latency
    percentiles are over responses within the timeout (wrk counts slower ones as timeouts).
    """
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout",
                          f"{timeout_s}s", *(["-s", script] if script else []),
                          f"http://127.0.0.1:{exporter.port}/metrics"], capture_output=True, text=True,
                         check=True).stdout

    def ms(percentile):
        found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(found.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[found.group(2)] if found else float("nan")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket = dict(zip(("connect", "read", "write", "timeout"), map(int, found.groups()) if found else (0,) * 4))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = int(non2xx.group(1)) if non2xx else 0
    return dict(connections=connections, seconds=seconds, requests=requests, errors=sum(socket.values()) + non2xx,
                socket_errors=socket, non2xx=non2xx,
                statuses={int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", out, re.M)},
                requests_per_second=requests / seconds, p50_ms=ms(50), p99_ms=ms(99))


def summarize_probe(samples, names):
    """
    Per-round differences and ratios to the round's 'none' sample, then medians over the rounds in
    which other processes' syscall probes (which slow every call) stayed the same throughout;
    over all rounds if fewer than half did.
    """
    rounds = sorted({s["round"] for s in samples})
    foreign = {r: {tuple(s["foreign"]) for s in samples if s["round"] == r} for r in rounds}
    clean = [r for r in rounds if foreign[r] == {()}]
    stable = [r for r in rounds if len(foreign[r]) == 1]
    used = stable if len(stable) >= max(1, len(rounds) // 2) else rounds
    by = {(s["round"], s["config"]): s for s in samples}
    summary = {"rounds": len(rounds), "clean_rounds": len(clean), "stable_rounds": len(stable),
               "rounds_used": len(used), "configs": {}}
    for name in names:
        rows = [(by[(r, name)], by[(r, "none")]) for r in used]
        entry = {key: median([s[key] for s, _ in rows]) for key in ("memfd_ns", "getpid_ns", "memfd_calls_per_second")}
        entry["memfd_added_ns"] = median([s["memfd_ns"] - n["memfd_ns"] for s, n in rows])
        entry["memfd_ratio"] = median([s["memfd_ns"] / n["memfd_ns"] for s, n in rows])
        entry["getpid_ratio"] = median([s["getpid_ns"] / n["getpid_ns"] for s, n in rows])
        entry["throughput_ratio"] = median([s["memfd_calls_per_second"] / n["memfd_calls_per_second"] for s, n in rows])
        for other in ("bpftrace", "empty"):
            if name not in (other, "none") and other in names:
                entry[f"memfd_added_vs_{other}"] = median([
                    (s["memfd_ns"] - n["memfd_ns"]) / (by[(r, other)]["memfd_ns"] - n["memfd_ns"])
                    for r, (s, n) in zip(used, rows)])
                entry[f"getpid_vs_{other}"] = median([s["getpid_ns"] / by[(r, other)]["getpid_ns"]
                                                      for r, (s, _) in zip(used, rows)])
        programs = {}
        for s, _ in rows:
            for program, p in s.get("programs", {}).items():
                if p["runs"] > 0:
                    programs.setdefault(program, []).append((p["run_time_ns"] / p["runs"], p["runs"] / s["stats_calls"]))
        entry["programs"] = {p: {"ns_per_run": median([ns for ns, _ in v]), "runs_per_call": median([rc for _, rc in v])}
                             for p, v in programs.items()}
        entry["bpf_ns_per_memfd_call"] = sum(p["ns_per_run"] * min(1.0, round(p["runs_per_call"]))
                                             for p in entry["programs"].values())
        summary["configs"][name] = entry
    return summary


def summarize_mappings(samples, names):
    """
    Per call and config: the median ns, and medians over rounds of the ns added to the round's 'none'
    sample and of that added cost over the empty programs' (the floor), rounds chosen as in summarize_probe.
    """
    rounds = sorted({s["round"] for s in samples})
    foreign = {r: {tuple(s["foreign"]) for s in samples if s["round"] == r} for r in rounds}
    stable = [r for r in rounds if len(foreign[r]) == 1]
    used = stable if len(stable) >= max(1, len(rounds) // 2) else rounds
    by = {(s["round"], s["config"]): s for s in samples}
    summary = {"rounds": len(rounds), "rounds_used": len(used), "calls": {}}
    for call in MAPPING_CALLS:
        entry = {}
        for name in names:
            added = [by[(r, name)]["ns"][call] - by[(r, "none")]["ns"][call] for r in used]
            floor = [by[(r, "empty")]["ns"][call] - by[(r, "none")]["ns"][call] for r in used]
            entry[name] = {"ns": median([by[(r, name)]["ns"][call] for r in used]), "added_ns": median(added),
                           "vs_floor": median([a / f for a, f in zip(added, floor) if f > 0]) if name != "none"
                           and any(f > 0 for f in floor) else float("nan")}
            programs = {}
            for r in used:
                for program, ns in by[(r, name)].get("programs", {}).get(call, {}).items():
                    programs.setdefault(program, []).append(ns)
            entry[name]["program_ns_per_run"] = {p: median(v) for p, v in programs.items()}
        summary["calls"][call] = entry
    return summary


def summarize_abuse(samples, names, clients):
    """Per (clients, config): counts summed over the rounds, everything else the median of rounds."""
    rows = []
    for n in clients:
        for name in names:
            cell = [s for s in samples if s["clients"] == n and s["config"] == name]
            row = dict(clients=n, config=name, rounds=len(cell), exact_checked=sum(s["exact_checked"] for s in cell))
            for key in ("requests", "ok", "unavailable", "other"):
                row[key] = sum(s[key] for s in cell)
            row["socket_errors"] = sum(sum(s["socket_errors"].values()) for s in cell)
            row["timeouts"] = sum(s["socket_errors"]["timeout"] for s in cell)
            for key in ("requests_per_second", "ok_per_second", "p50_ms", "p99_ms", "rss_idle_mib", "rss_peak_mib",
                        "hwm_mib"):
                row[key] = median([s[key] for s in cell if s[key] == s[key]])  # nan: no response in a round
            rows.append(row)
    return rows


def machine():
    with open("/proc/cpuinfo") as f:
        model = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return dict(kernel=os.uname().release, cpus=os.cpu_count(), cpu=model, java=java,
                memory_gib=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                loadavg_at_start=" ".join(load))


def table(title, columns, rows):
    """A markdown table, under a heading when title is given; rows hold formatted cells."""
    heading = ["", f"### {title}"] if title else []
    return heading + ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)] + \
        ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def markdown(results):
    """The tables of BENCHMARKS.md, from one run."""
    m = results["machine"]
    out = [f"Mode {results['mode']}, {results['seconds']} s. Linux {m['kernel']}, {m['cpus']} CPUs ({m['cpu']}), "
           f"{m['memory_gib']} GiB, {m['java']}, load average at start {m['loadavg_at_start']}. "
           f"Launcher JVM flags: {' '.join(results['jvm_flags'])}"]
    probe = results.get("probe")
    if probe:
        out += table(f"Probe cost ({probe['rounds_used']} of {probe['rounds']} rounds used: "
                     f"{probe['clean_rounds']} without other processes' syscall probes, {probe['stable_rounds']} "
                     f"with the same ones throughout)",
                     ["attached", "memfd_create+close ns", "added ns", "ratio", "added / bpftrace's", "getpid ns",
                      "getpid ratio", "getpid / empty's", "2-process calls/s", "ratio", "BPF ns per call"],
                     [[name, f"{e['memfd_ns']:.0f}", f"{e['memfd_added_ns']:.0f}", f"{e['memfd_ratio']:.3f}",
                       f"{e.get('memfd_added_vs_bpftrace', float('nan')):.2f}", f"{e['getpid_ns']:.0f}",
                       f"{e['getpid_ratio']:.3f}", f"{e.get('getpid_vs_empty', float('nan')):.3f}",
                       f"{e['memfd_calls_per_second']:.0f}", f"{e['throughput_ratio']:.3f}",
                       f"{e['bpf_ns_per_memfd_call']:.0f}"] for name, e in probe["configs"].items()])
        out += table(None, ["attached", "program", "ns per run", "runs per memfd call"],
                     [[name, program, f"{p['ns_per_run']:.0f}", f"{p['runs_per_call']:.2f}"]
                      for name, e in probe["configs"].items() for program, p in sorted(e["programs"].items())])
    mappings = results.get("mappings")
    if mappings:
        out += table(f"Executable-mapping probe cost ({mappings['rounds_used']} of {mappings['rounds']} rounds used; "
                     f"mmap: mmap+munmap of one anonymous read-write page; mprotect: one page toggled read-only / "
                     f"read-write; mmapexec, memfdexec: mmap+munmap of one PROT_READ|PROT_EXEC anonymous / memfd page)",
                     ["call", "attached", "ns per call", "added ns", "added / floor's"],
                     [[call, name, f"{e['ns']:.0f}", f"{e['added_ns']:.0f}", f"{e['vs_floor']:.2f}"]
                      for call, entries in mappings["calls"].items() for name, e in entries.items()])
        out += table(None, ["call", "attached", "program", "ns per run (BPF stats)"],
                     [[call, name, program, f"{ns:.0f}"] for call, entries in mappings["calls"].items()
                      for name, e in entries.items() for program, ns in sorted(e["program_ns_per_run"].items())
                      if program.endswith("_exit_" + ("mprotect" if call == "mprotect" else "mmap"))])
    if results.get("throughput"):
        out += table("Counting throughput (exporter attached)",
                     ["processes", "calls made", "calls/s", "counted for the comm", "observed delta",
                      "all comms delta", "unrecorded delta"],
                     [[t["processes"], f"{t['calls']:.0f}", f"{t['calls_per_second']:.0f}",
                       f"{t['counted_for_comm']:.0f}", f"{t['observed_delta']:.0f}", f"{t['all_comms_delta']:.0f}",
                       f"{t['unrecorded_delta']:.0f}"] for t in results["throughput"]])
    if results.get("scrape"):
        out += table("/metrics under wrk (back to back, after a 2 s warm-up; a fresh exporter per cell, configs "
                     "interleaved; medians of rounds; GCs: collections during the wrk run, from -Xlog:gc)",
                     ["comms in map", "exporter", "memfd collector ms", "connections", "rounds", "requests", "errors",
                      "req/s", "p50 ms", "p99 ms", "full GCs", "young GCs"],
                     [[f"{s['map_entries']:.0f}", s["config"], f"{s['collector_ms']:.2f}", s["connections"],
                       s["rounds"], f"{s['requests']:.0f}", s["errors"], f"{s['requests_per_second']:.0f}",
                       f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}", f"{s['full_gcs']:.0f}", f"{s['young_gcs']:.0f}"]
                      for s in results["scrape"]])
    if results.get("footprint"):
        out += table("Footprint per JVM flag set (medians; 10k comms in the map; load: wrk, 2 connections)",
                     ["flags", "first scrape s", "RSS idle MiB", "RSS under load MiB", "VmHWM MiB", "p50 ms", "p99 ms"],
                     [[f["variant"], f"{f['first_scrape_s']:.2f}", f"{f['rss_idle_mib']:.0f}",
                       f"{f['rss_load_mib']:.0f}", f"{f['hwm_mib']:.0f}", f"{f['p50_ms']:.2f}", f"{f['p99_ms']:.2f}"]
                      for f in results["footprint"]])
    if results.get("levers"):
        lv = results["levers"]
        out += table(f"Footprint levers, each alone on top of the launcher's flags (medians of {lv[0]['rounds']} "
                     f"round(s); RSS at the first scrape, then idle after filling 10,240 comms and one scrape, then "
                     f"under {lv[0]['clients']} wrk clients)",
                     ["lever", "flags", "first scrape s", "RSS at start MiB", "RSS idle MiB", "RSS peak MiB",
                      "VmHWM MiB", "200/s", "threads"],
                     [[l["lever"], f"`{l['flags']}`" if l["flags"] else "", f"{l['first_scrape_s']:.2f}",
                       f"{l['rss_start_mib']:.0f}", f"{l['rss_idle_mib']:.0f}", f"{l['rss_peak_mib']:.0f}",
                       f"{l['hwm_mib']:.0f}", f"{l['ok_per_second']:.0f}", f"{l['threads']:.0f}"] for l in lv])
    if results.get("abuse"):
        a = results["abuse"]
        out += table(f"Concurrent scrapers on a full default map (10,240 comms; a fresh exporter per cell; "
                     f"{a[0]['rounds']} round(s) of {MODES[results['mode']]['abuse']['seconds']} s: counts are "
                     f"totals of the rounds, the rest medians)",
                     ["clients", "exporter", "requests", "200", "503", "other status", "socket errors (timeouts)",
                      "req/s", "200/s", "p50 ms", "p99 ms", "RSS idle MiB", "RSS peak MiB", "VmHWM MiB",
                      "count checked"],
                     [[r["clients"], r["config"], r["requests"], r["ok"], r["unavailable"], r["other"],
                       f"{r['socket_errors']} ({r['timeouts']})", f"{r['requests_per_second']:.0f}",
                       f"{r['ok_per_second']:.0f}", *(f"{r[k]:.1f}" if r[k] == r[k] else "–" for k in ("p50_ms", "p99_ms")),
                       f"{r['rss_idle_mib']:.0f}", f"{r['rss_peak_mib']:.0f}", f"{r['hwm_mib']:.0f}",
                       f"{r['exact_checked']}/{r['rounds']}"] for r in a])
    if results.get("jmh"):
        baseline = "baseline_ms" in results["jmh"][0]
        out += table("JMH: batch vs per-key hash map reads vs mmapped slot arrays (ms and bytes allocated per "
                     "operation, -prof gc, medians of rounds" + ("; baseline: the baseline build's batch method, "
                                                                "same rounds)" if baseline else ")"),
                     ["benchmark", "keys", "batch ms", "per-key ms", "per-key / batch", "slots ms", "batch / slots",
                      "batch B/op", "slots B/op"] + (["baseline ms", "baseline / slots", "baseline B/op"]
                                                      if baseline else []),
                     [[j["benchmark"], j["keys"], f"{j['batch_ms']:.3f}", f"{j['per_key_ms']:.3f}",
                       f"{j['speedup']:.1f}", f"{j['slots_ms']:.3f}", f"{j['slots_speedup']:.1f}",
                       f"{j['batch_bytes']:,.0f}", f"{j['slots_bytes']:,.0f}"]
                      + ([f"{j['baseline_ms']:.3f}", f"{j['baseline_speedup']:.1f}", f"{j['baseline_bytes']:,.0f}"]
                         if baseline else [])
                      for j in results["jmh"]])
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=MODES, default="quick")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset of " + ",".join(PHASES))
    parser.add_argument("--jar", required=True)
    parser.add_argument("--jvm-flags", default="", help="the launcher's JVM flags (scripts/lib.sh)")
    parser.add_argument("--bin", required=True, help="directory of loadgen, attach, empty.bpf.o")
    parser.add_argument("--jmh-classpath")
    parser.add_argument("--baseline-jmh-classpath",
                        help="the classpath of another build's JMH benchmarks: its batch method joins the jmh rounds")
    parser.add_argument("--baseline-jar",
                        help="another exporter jar to measure in the probe, scrape and abuse phases (before/after)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    args.jvm_flags = args.jvm_flags.split()
    os.makedirs(args.out, exist_ok=True)

    atexit.register(reap_all)
    def interrupted(signum, _frame):
        log(f"stopped by signal {signum}: cleaning up")
        sys.exit(128 + signum)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, interrupted)
    stats_before = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    bench = Bench(args)
    began = time.monotonic()
    for phase in args.phases.split(","):
        phase_began = time.monotonic()
        getattr(bench, phase)()
        bench.results.setdefault("phase_seconds", {})[phase] = round(time.monotonic() - phase_began, 1)
    bench.results["seconds"] = round(time.monotonic() - began, 1)
    reap_all()
    bench.check(open("/proc/sys/kernel/bpf_stats_enabled").read().strip() == stats_before,
                "kernel.bpf_stats_enabled was not restored")
    bench.check(not [p for p in children if p.poll() is None], "a child process is still running")
    bench.results["failures"] = bench.failures

    with open(f"{args.out}/results.json", "w") as f:
        json.dump(bench.results, f, indent=1, default=str)
    summary = markdown(bench.results)
    with open(f"{args.out}/summary.md", "w") as f:
        f.write(summary)
    print(summary)
    log(f"{args.mode} run took {bench.results['seconds']} s; results in {args.out}")
    if bench.failures:
        log(f"{len(bench.failures)} sanity check(s) failed:\n  " + "\n  ".join(bench.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
