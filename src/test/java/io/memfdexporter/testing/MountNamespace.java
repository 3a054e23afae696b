package io.memfdexporter.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private mount namespace that outlives the children run in it: a holder
 * process keeps it, so exporters started one after another see the same
 * mounts (a bpffs and its pins) while the host sees none of them. Closing it
 * ends the holder; the namespace, and every mount and pin in it, goes away
 * with its last process. The holder also ends if this JVM dies (its stdin closes).
 */
public final class MountNamespace implements AutoCloseable {
    private final Process holder;

    private MountNamespace(Process holder) {
        this.holder = holder;
    }

    /**
     * Where {@link #withOwnCgroup2()} mounts cgroup2: a place no host uses, so a test passing with it shows that
     * the exporter finds cgroup2 wherever it is mounted.
     */
    public static final String CGROUP2 = "/mnt/memfd-test-cgroup2";

    /** A copy of the host's mounts without anything at /sys/fs/bpf, whatever the host has there. */
    public static MountNamespace withoutBpffs() throws IOException {
        return start("while umount /sys/fs/bpf 2>/dev/null; do :; done");
    }

    /**
     * A copy of the host's mounts whose only cgroup2 mount is a fresh one at {@link #CGROUP2}, whether the host
     * has cgroup2 at /sys/fs/cgroup, at /sys/fs/cgroup/unified or nowhere: tests that name cgroups do not depend on
     * the runner's mounts. (It is the host's cgroup hierarchy: cgroups made in it are the host's, and must be removed.)
     */
    public static MountNamespace withOwnCgroup2() throws IOException {
        return start("grep ' - cgroup2 ' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | while read -r m; do umount -l \"$m\";"
                + " done && mount -t tmpfs -o size=64k,mode=755 none /mnt && mkdir " + CGROUP2 + " && mount -t cgroup2 none " + CGROUP2);
    }

    /**
     * A copy of the host's mounts with a fresh, executable 16 MiB tmpfs at {@code mountPoint}: whatever the
     * runner has there (containers and hardened hosts mount /dev/shm noexec), a test sees a tmpfs it may
     * execute from.
     */
    public static MountNamespace withExecutableTmpfsAt(String mountPoint) throws IOException {
        return start("mount -t tmpfs -o exec,nosuid,nodev,mode=1777,size=16m memfd-exporter-test " + mountPoint);
    }

    /** Starts the holder: a private copy of the host's mounts, changed by the shell command {@code setup}. */
    private static MountNamespace start(String setup) throws IOException {
        Process holder = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
                setup + " && echo ready; read _")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        MountNamespace namespace = new MountNamespace(holder);
        BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
        if (!"ready".equals(out.readLine())) {
            namespace.close();
            throw new IllegalStateException("unshare --mount or its setup failed (needs CAP_SYS_ADMIN): " + setup);
        }
        return namespace;
    }

    /** Prefix for ChildExporter: runs the command in this namespace, in this JVM's working directory. */
    public List<String> wrapper() {
        return List.of("nsenter", "--mount=/proc/" + holder.pid() + "/ns/mnt", "--wd=" + System.getProperty("user.dir"),
                "--");
    }

    /** Where a path of the namespace can be reached from here. */
    public Path path(String inside) {
        return Path.of("/proc/" + holder.pid() + "/root" + inside);
    }

    /** The namespace's /proc/PID/mountinfo. */
    public String mountinfo() {
        try {
            return Files.readString(Path.of("/proc/" + holder.pid() + "/mountinfo"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            holder.getOutputStream().close();
            if (!holder.waitFor(10, TimeUnit.SECONDS)) {
                holder.destroyForcibly();
                holder.waitFor();
            }
        } catch (IOException e) {
            holder.destroyForcibly();
        } catch (InterruptedException e) {
            holder.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
