package io.memfdexporter.bpf;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Runs an attached BPF iterator ({@code SEC("iter/...")}) whose program
 * writes fixed-size records with {@code bpf_seq_write}: each run creates a
 * new iteration ({@code bpf_iter_create} on the link) and reads its output
 * into one direct buffer, reused by every run. Creating an iteration needs no
 * capability once the link exists, so runs go on after the exporter dropped
 * its privileges.
 *
 * <p>Not thread-safe: one run at a time (the buffer is shared).
 */
public final class BpfIterator {
    /* Enough for a few thousand records per read(); the kernel fills at most its seq_file buffer per call. */
    private static final int BUFFER_RECORDS = 2048;

    /** Receives each record, at {@code offset} in {@code buffer}; returns false to end the run early. */
    public interface RecordConsumer {
        boolean accept(Pointer buffer, long offset);
    }

    private final Native nat;
    private final BpfLink link;
    private final int recordSize;
    private final Pointer buffer;

    /** @param recordSize the size of the struct the program writes, sizeof included padding */
    public BpfIterator(BpfLink link, int recordSize) {
        this.nat = Native.get();
        this.link = link;
        this.recordSize = recordSize;
        this.buffer = Memory.allocateDirect(nat.runtime(), (long) recordSize * BUFFER_RECORDS);
    }

    /**
     * Runs one iteration to its end, or until {@code consumer} returns false
     * (closing the iteration fd then stops the kernel from visiting more).
     *
     * @return false when the consumer ended the run
     * @throws BpfException when the iteration cannot be created or read
     */
    public boolean run(RecordConsumer consumer) {
        int fd = nat.libbpf().bpf_iter_create(link.fd());
        if (fd < 0) {
            throw new BpfException("creating an iteration of BPF iterator " + link.programName(), -fd);
        }
        try {
            long size = buffer.size();
            long filled = 0;
            while (true) {
                long read = nat.libc().read(fd, buffer.slice(filled), size - filled);
                if (read < 0) {
                    int errno = nat.lastLibcErrno();
                    if (errno == Errnos.EINTR) {
                        continue;
                    }
                    throw new BpfException("reading BPF iterator " + link.programName(), errno);
                }
                if (read == 0) {
                    if (filled != 0) {
                        throw new IllegalStateException("BPF iterator " + link.programName() + " ended inside a record ("
                                + filled + " of " + recordSize + " bytes)");
                    }
                    return true;
                }
                filled += read;
                long whole = filled - filled % recordSize;
                for (long offset = 0; offset < whole; offset += recordSize) {
                    if (!consumer.accept(buffer, offset)) {
                        return false;
                    }
                }
                // The kernel may split a record across reads: keep its head for the next one.
                if (whole < filled) {
                    byte[] head = new byte[(int) (filled - whole)];
                    buffer.get(whole, head, 0, head.length);
                    buffer.put(0, head, 0, head.length);
                }
                filled -= whole;
            }
        } finally {
            nat.libc().close(fd);
        }
    }
}
