package io.memfdexporter.bpf;

import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/** Routes libbpf's messages (verifier logs included) to java.util.logging. */
public final class LibbpfLogging {
    private static final Logger LOG = Logger.getLogger("libbpf");
    private static final int LIBBPF_WARN = 0;
    private static final int LIBBPF_INFO = 1;
    private static final int MAX_MESSAGE = 8192;

    /* libbpf keeps only the function pointer: this reference keeps the callback alive. */
    private static LibBpf.PrintCallback installed;

    private LibbpfLogging() {
    }

    public static synchronized void install(Native nat) {
        if (installed != null) {
            return;
        }
        jnr.ffi.Runtime runtime = nat.runtime();
        installed = (level, format, vaList) -> {
            Level julLevel = level == LIBBPF_WARN ? Level.WARNING : level == LIBBPF_INFO ? Level.FINE : Level.FINEST;
            if (!LOG.isLoggable(julLevel)) {
                return 0;
            }
            Pointer buffer = Memory.allocateDirect(runtime, MAX_MESSAGE, true);
            int length = nat.libc().vsnprintf(buffer, MAX_MESSAGE, format, vaList);
            String message = buffer.getString(0, MAX_MESSAGE, StandardCharsets.UTF_8).stripTrailing();
            // libbpf blames RLIMIT_MEMLOCK on any EPERM; our own error names the real cause.
            LOG.log(message.contains("ulimit -l") ? Level.FINE : julLevel, message);
            return Math.max(length, 0);
        };
        nat.libbpf().libbpf_set_print(installed);
    }
}
