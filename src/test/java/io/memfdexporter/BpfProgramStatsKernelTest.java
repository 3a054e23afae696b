package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;
import jnr.ffi.LibraryLoader;

/** The exporter reports what its programs cost while the kernel measures it. */
@ExtendWith(RequiresBpf.class)
class BpfProgramStatsKernelTest {
    /** libbpf's bpf_enable_stats: stats stay on while the returned fd is open, so nothing is left changed. */
    public interface StatsLib {
        int BPF_STATS_RUN_TIME = 0;

        int bpf_enable_stats(int type);
    }

    @Test
    void reportsRunsAndRunTimeWhileStatsAreEnabled() {
        StatsLib libbpf = LibraryLoader.create(StatsLib.class).failImmediately().load("bpf");
        try (Exporter exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)))) {
            int statsFd = libbpf.bpf_enable_stats(StatsLib.BPF_STATS_RUN_TIME);
            assertTrue(statsFd >= 0, "bpf_enable_stats: " + statsFd);
            try {
                Exposition before = Http.scrape(exporter.port());
                CommThreads.runAs("mfdstats", calls(500, TestLibC.MFD_CLOEXEC));
                Exposition after = Http.scrape(exporter.port());

                String runs = "memfd_exporter_bpf_program_runs_total";
                assertEquals(500, after.value(runs, "program", "sys_exit_memfd_create")
                        - before.value(runs, "program", "sys_exit_memfd_create"));
                double seconds = after.value("memfd_exporter_bpf_program_run_time_seconds_total", "program", "sys_exit_memfd_create")
                        - before.value("memfd_exporter_bpf_program_run_time_seconds_total", "program", "sys_exit_memfd_create");
                assertTrue(seconds > 0 && seconds < 0.5, "500 runs took " + seconds + " s of program time");
            } finally {
                TestLibC.INSTANCE.close(statsFd);
            }
        }
    }
}
