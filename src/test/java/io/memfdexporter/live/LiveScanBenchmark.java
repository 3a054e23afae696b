package io.memfdexporter.live;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

import io.memfdexporter.probe.CommKey;

/**
 * Times the two live scan methods against each other on the same host state:
 * one python3 parent forks PROCESSES children that each hold FDS fds, cycling
 * through KINDS (pipe, file, memfd, joined by +), then the BPF iterator scan
 * and the /proc scan run alternately, ROUNDS timed scans each after WARMUP
 * untimed ones. Prints, per method, the median wall time and the median CPU
 * time of the scanning thread (the iterators' kernel work runs in that thread,
 * inside read(), so it is counted), and their ratio; and what each method
 * found of the children's memfds (the same, unless a child was mid-exit). Run as root; see docs/live-memfd.md "Cost":
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.memfdexporter.live.LiveScanBenchmark -Dexec.arguments=1000,50,pipe+file+memfd
 * </pre>
 */
public final class LiveScanBenchmark {
    private static final int WARMUP = 3;
    private static final int ROUNDS = 15;

    /** Forks argv[1] children holding argv[2] fds each; every child ends when stdin closes. */
    private static final String HOLDERS = """
            import os, sys
            processes, count, kinds, regular = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split("+"), sys.argv[4]
            ready_r, ready_w = os.pipe()
            children = []
            for _ in range(processes):
                pid = os.fork()
                if pid == 0:
                    os.close(ready_r)
                    fds = []
                    while len(fds) < count:
                        kind = kinds[len(fds) % len(kinds)]
                        if kind == "pipe":
                            fds.extend(os.pipe())
                        elif kind == "file":
                            fds.append(os.open(regular, os.O_RDONLY))
                        else:
                            fd = os.memfd_create("bench")
                            os.write(fd, b"x" * 4096)
                            fds.append(fd)
                    os.write(ready_w, b"x")
                    sys.stdin.read()
                    os._exit(0)
                children.append(pid)
            os.close(ready_w)
            got = 0
            while got < processes:
                got += len(os.read(ready_r, processes))
            print("ready", flush=True)
            sys.stdin.read()
            for pid in children:
                os.waitpid(pid, 0)
            """;

    private LiveScanBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        int processes = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int fdsEach = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        String kinds = args.length > 2 ? args[2] : "pipe+file+memfd";
        Path regular = Files.createTempFile("live-bench", ".dat");
        Map<LiveScan.Method, LiveScanner> scanners = new EnumMap<>(LiveScan.Method.class);
        try (PythonChild holders = PythonChild.start(HOLDERS, Integer.toString(processes), Integer.toString(fdsEach), kinds,
                regular.toString())) {
            for (LiveScan.Method method : LiveScan.Method.values()) {
                scanners.put(method, LiveMemfdScannerTest.scanner(method, Long.MAX_VALUE));
            }
            Map<LiveScan.Method, double[]> wallMs = new EnumMap<>(LiveScan.Method.class);
            Map<LiveScan.Method, double[]> cpuMs = new EnumMap<>(LiveScan.Method.class);
            Map<LiveScan.Method, LiveScan> last = new EnumMap<>(LiveScan.Method.class);
            scanners.keySet().forEach(method -> {
                wallMs.put(method, new double[ROUNDS]);
                cpuMs.put(method, new double[ROUNDS]);
            });
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            for (int round = -WARMUP; round < ROUNDS; round++) {
                for (Map.Entry<LiveScan.Method, LiveScanner> scanner : scanners.entrySet()) {
                    long cpu = threads.getCurrentThreadCpuTime();
                    long wall = System.nanoTime();
                    LiveScan scan = scanner.getValue().scan();
                    if (round >= 0) {
                        wallMs.get(scanner.getKey())[round] = (System.nanoTime() - wall) / 1e6;
                        cpuMs.get(scanner.getKey())[round] = (threads.getCurrentThreadCpuTime() - cpu) / 1e6;
                    }
                    last.put(scanner.getKey(), scan);
                }
            }
            System.out.printf("host: %d processes x %d fds (%s) held by the benchmark's children%n", processes, fdsEach, kinds);
            for (LiveScan.Method method : scanners.keySet()) {
                LiveScan scan = last.get(method);
                System.out.printf("%-12s %d processes, %d fds, %d memfds: median %.1f ms/scan wall (min %.1f, max %.1f),"
                                + " %.1f ms CPU of the scanning thread%n", method.label(), scan.processes(), scan.fds(),
                        memfds(scan), median(wallMs.get(method)), min(wallMs.get(method)), max(wallMs.get(method)),
                        median(cpuMs.get(method)));
            }
            System.out.printf("proc / bpf_iterator: %.1fx wall, %.1fx CPU (medians of %d alternating rounds)%n",
                    median(wallMs.get(LiveScan.Method.PROC)) / median(wallMs.get(LiveScan.Method.BPF_ITERATOR)),
                    median(cpuMs.get(LiveScan.Method.PROC)) / median(cpuMs.get(LiveScan.Method.BPF_ITERATOR)), ROUNDS);
            CommKey comm = new CommKey(holders.comm().getBytes(StandardCharsets.UTF_8));
            System.out.printf("the children's memfds: bpf_iterator %s, proc %s%n",
                    last.get(LiveScan.Method.BPF_ITERATOR).byComm().get(comm), last.get(LiveScan.Method.PROC).byComm().get(comm));
        } finally {
            scanners.values().forEach(LiveScanner::close);
            Files.deleteIfExists(regular);
        }
    }

    private static long memfds(LiveScan scan) {
        return scan.byComm().values().stream().mapToLong(LiveScan.Usage::files).sum();
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double min(double[] values) {
        return Arrays.stream(values).min().orElseThrow();
    }

    private static double max(double[] values) {
        return Arrays.stream(values).max().orElseThrow();
    }
}
