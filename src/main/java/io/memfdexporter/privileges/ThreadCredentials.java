package io.memfdexporter.privileges;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One thread's credentials, as /proc/PID/task/TID/status shows them (capability sets are per thread). */
record ThreadCredentials(String thread, List<Integer> uids, List<Integer> gids, long inheritable, long permitted,
                         long effective, long ambient, boolean noNewPrivs) {

    static ThreadCredentials ofCallingThread() {
        return read(Path.of("/proc/thread-self/status"));
    }

    /** The process's main thread: what /proc/self/status shows. */
    static ThreadCredentials ofMainThread() {
        return read(Path.of("/proc/self/status"));
    }

    /** Every thread of this process; threads that exit while being read are left out. */
    static List<ThreadCredentials> ofAllThreads() {
        List<ThreadCredentials> threads = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    threads.add(read(task.resolve("status")));
                } catch (UncheckedIOException e) {
                    if (!(e.getCause() instanceof NoSuchFileException)) {
                        throw e;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return threads;
    }

    boolean isRoot() {
        return uids.contains(0);
    }

    private static ThreadCredentials read(Path status) {
        Map<String, String> fields = new HashMap<>();
        try {
            for (String line : Files.readAllLines(status)) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ThreadCredentials(fields.get("Name") + " (" + fields.get("Pid") + ")", ids(fields.get("Uid")),
                ids(fields.get("Gid")), Long.parseUnsignedLong(fields.get("CapInh"), 16),
                Long.parseUnsignedLong(fields.get("CapPrm"), 16), Long.parseUnsignedLong(fields.get("CapEff"), 16),
                Long.parseUnsignedLong(fields.get("CapAmb"), 16), "1".equals(fields.get("NoNewPrivs")));
    }

    /** real, effective, saved and file system ids. */
    private static List<Integer> ids(String field) {
        return Arrays.stream(field.split("\\s+")).map(Integer::valueOf).toList();
    }
}
