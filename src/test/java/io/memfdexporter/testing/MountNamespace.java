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

    /** A copy of the host's mounts without anything at /sys/fs/bpf, whatever the host has there. */
    public static MountNamespace withoutBpffs() throws IOException {
        return start("while umount /sys/fs/bpf 2>/dev/null; do :; done");
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
