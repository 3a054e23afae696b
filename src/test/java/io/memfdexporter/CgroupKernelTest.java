package io.memfdexporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;

/** Calls are attributed to the caller's cgroup v2 path. */
@ExtendWith(RequiresBpf.class)
class CgroupKernelTest {
    @Test
    void countsCallsUnderTheCallersCgroupPath() throws Exception {
        Optional<Path> mount = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(line -> line.contains(" - cgroup2 ")).map(line -> Path.of(line.split(" ")[4])).findFirst();
        assertTrue(mount.isPresent(), "a cgroup2 mount (all supported hosts have one)");
        String name = "mfdtest-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100_000;
        Path cgroup = Files.createDirectory(mount.get().resolve(name));
        try (Exporter exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)))) {
            Python.named("mfdcg").run("""
                    import os
                    with open(%s, 'w') as procs: procs.write(str(os.getpid()))
                    for _ in range(77): os.close(os.memfd_create('x'))
                    """.formatted("'" + cgroup.resolve("cgroup.procs") + "'"));
            Exposition metrics = Http.scrape(exporter.port());
            assertEquals(77, metrics.value("memfd_create_calls_by_cgroup_total", "cgroup", "/" + name));
        } finally {
            Files.delete(cgroup); // empty again: the child exited
        }
    }
}
