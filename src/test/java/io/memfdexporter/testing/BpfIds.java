package io.memfdexporter.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import jnr.ffi.LibraryLoader;

/**
 * BPF programs and links as the kernel sees them, without bpftool: the ids a
 * process holds (its /proc/PID/fdinfo), and whether a program id still exists.
 */
public final class BpfIds {
    private static final LibBpfIds LIBBPF = LibraryLoader.create(LibBpfIds.class).failImmediately().load("bpf");

    /** The libbpf call the tests need beyond the exporter's bindings. */
    public interface LibBpfIds {
        /** A new fd for the program with this id, or {@code -errno} (ENOENT once it is freed). */
        int bpf_prog_get_fd_by_id(int id);
    }

    private BpfIds() {
    }

    /** Ids of the programs a process holds, through program or link fds. */
    public static Set<Integer> programIds(long pid) {
        Set<Integer> ids = new HashSet<>();
        for (List<String> fdinfo : fdinfos(pid)) {
            for (String line : fdinfo) {
                if (line.startsWith("prog_id:")) {
                    ids.add(Integer.parseInt(line.substring("prog_id:".length()).trim()));
                }
            }
        }
        return ids;
    }

    /** How many BPF link fds a process holds. */
    public static long linkCount(long pid) {
        return fdinfos(pid).stream().filter(fdinfo -> fdinfo.stream().anyMatch(line -> line.startsWith("link_id:"))).count();
    }

    /** True while the kernel still has a program with this id, attached or pinned or held anywhere. */
    public static boolean programExists(int id) {
        int fd = LIBBPF.bpf_prog_get_fd_by_id(id);
        if (fd >= 0) {
            TestLibC.INSTANCE.close(fd);
            return true;
        }
        return false;
    }

    /** Waits until none of the programs exists any more (the kernel frees detached links asynchronously). */
    public static boolean awaitGone(Set<Integer> ids) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ids.stream().anyMatch(BpfIds::programExists)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    private static List<List<String>> fdinfos(long pid) {
        List<List<String>> fdinfos = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fdinfo"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    fdinfos.add(Files.readAllLines(fd));
                } catch (NoSuchFileException closedMeanwhile) {
                    // an fd the process closed while we listed them
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return fdinfos;
    }
}
