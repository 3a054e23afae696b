package io.memfdexporter.live;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measures what a live scan costs as the host's fd count grows: scans the
 * idle host, then again while PROCESSES python3 children hold FDS fds each,
 * cycling through KINDS (pipe, file, memfd, joined by +), and prints the median, min and
 * max of ROUNDS timed scans after WARMUP untimed ones, per scan and per 1,000
 * fds examined. Run as root (other processes' fds); see docs/live-memfd.md:
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.memfdexporter.live.LiveScanBenchmark -Dexec.arguments=50,1000,pipe+file+memfd
 * </pre>
 */
public final class LiveScanBenchmark {
    private static final int WARMUP = 5;
    private static final int ROUNDS = 20;

    private static final String HOLDER = """
            import os, sys
            count, kinds, regular = int(sys.argv[1]), sys.argv[2].split("+"), sys.argv[3]
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
            print("ready", flush=True)
            sys.stdin.read()
            """;

    private LiveScanBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        int processes = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        int fdsEach = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        String kinds = args.length > 2 ? args[2] : "pipe+file+memfd";
        LiveMemfdScanner scanner = new LiveMemfdScanner(Long.MAX_VALUE);

        Result idle = measure(scanner);
        System.out.println("idle host:        " + idle);
        Path regular = Files.createTempFile("live-bench", ".dat");
        List<PythonChild> children = new ArrayList<>();
        try {
            for (int i = 0; i < processes; i++) {
                children.add(PythonChild.start(HOLDER, Integer.toString(fdsEach), kinds, regular.toString()));
            }
            Result loaded = measure(scanner);
            System.out.println(processes + " x " + fdsEach + " fds (" + kinds + "): " + loaded);
            double addedFds = loaded.fds - idle.fds;
            System.out.printf("marginal cost: %.2f ms per 1k added fds (median scans, %d fds added)%n",
                    (loaded.medianMs - idle.medianMs) / addedFds * 1000, (long) addedFds);
        } finally {
            for (PythonChild child : children) {
                child.close();
            }
            Files.deleteIfExists(regular);
        }
    }

    private record Result(long fds, int processes, long memfds, double medianMs, double minMs, double maxMs) {
        @Override
        public String toString() {
            return String.format("%d processes, %d fds, %d memfds: median %.1f ms/scan (min %.1f, max %.1f),"
                    + " %.2f ms per 1k fds", processes, fds, memfds, medianMs, minMs, maxMs, medianMs / fds * 1000);
        }
    }

    private static Result measure(LiveMemfdScanner scanner) throws IOException {
        for (int i = 0; i < WARMUP; i++) {
            scanner.scan();
        }
        double[] ms = new double[ROUNDS];
        LiveScan last = null;
        for (int i = 0; i < ROUNDS; i++) {
            long start = System.nanoTime();
            last = scanner.scan();
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        long memfds = last.byComm().values().stream().mapToLong(LiveScan.Usage::files).sum();
        return new Result(last.fds(), last.processes(), memfds, ms[ROUNDS / 2], ms[0], ms[ROUNDS - 1]);
    }
}
