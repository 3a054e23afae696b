package io.memfdexporter.live;

import java.io.InterruptedIOException;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.memfdexporter.bpf.BpfIterator;
import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.CommKey;
import jnr.ffi.Pointer;

/**
 * Finds the memfds alive on the host with bpf/live.bpf.c's iterators: the
 * kernel visits every fd (task_file) and every mapping (task_vma) of every
 * process in the exporter's pid namespace and writes a {@link LiveRecord}
 * per memfd; this class only aggregates. Attached once at startup (as root);
 * each scan then needs nothing but the links' fds, so scans go on after the
 * exporter dropped every privilege.
 *
 * <p>Each memfd counts once, by device and inode, under the lowest tgid
 * holding or mapping it, as with /proc. The iterators are never pinned: they
 * keep no state between scans, so there is nothing for a restart to continue.
 *
 * <p>{@code maxRecords} bounds the memfd records read per scan (fds holding
 * memfds plus mappings of memfds; the kernel's visit of other fds costs no
 * record): past it the iteration is closed, which stops the kernel, and the
 * scan reports {@link LiveScan.Skip#BUDGET}.
 */
public final class LiveIteratorScanner implements LiveScanner {
    static final String OBJECT_RESOURCE = "/bpf/live.bpf.o";
    static final String FILE_PROGRAM = "live_task_file";
    static final String VMA_PROGRAM = "live_task_vma";

    private final BpfObject object;
    private final BpfIterator files;
    private final BpfIterator mappings;
    private final long maxRecords;

    private LiveIteratorScanner(BpfObject object, BpfIterator files, BpfIterator mappings, long maxRecords) {
        this.object = object;
        this.files = files;
        this.mappings = mappings;
        this.maxRecords = maxRecords;
    }

    /**
     * Loads and attaches both iterators (task_file: Linux 5.8; task_vma: 5.12).
     *
     * @throws io.memfdexporter.bpf.BpfUnavailableException when this process or kernel cannot load them
     * @throws io.memfdexporter.bpf.BpfException when the kernel refuses them
     */
    public static LiveIteratorScanner attach(long maxRecords) {
        if (maxRecords < 1) {
            throw new IllegalArgumentException("maxRecords must be positive, got " + maxRecords);
        }
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "live");
        try {
            List<BpfLink> links = object.loadAndAttach(BpfPins.NONE, FILE_PROGRAM, VMA_PROGRAM);
            return new LiveIteratorScanner(object, new BpfIterator(links.get(0), LiveRecord.SIZE),
                    new BpfIterator(links.get(1), LiveRecord.SIZE), maxRecords);
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    @Override
    public LiveScan scan() throws InterruptedIOException {
        long started = System.nanoTime();
        Pass pass = new Pass();
        boolean complete = files.run(pass::accept) && pass.end != null;
        LiveRecord fileEnd = pass.end;
        pass.end = null;
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("live memfd scan interrupted");
        }
        complete &= mappings.run(pass::accept) && pass.end != null;
        return pass.result(fileEnd, complete, (System.nanoTime() - started) / 1e9, System.currentTimeMillis() / 1e3);
    }

    @Override
    public LiveScan.Method method() {
        return LiveScan.Method.BPF_ITERATOR;
    }

    /** Detaches the iterators. */
    @Override
    public void close() {
        object.close();
    }

    /** A memfd and the process it is attributed to so far. */
    private record Held(int tgid, CommKey comm, long cgroupId, long allocatedBytes, long apparentBytes) {
    }

    /** Executable memfd mappings of one process and kind. */
    private record ProcessExecutable(int tgid, LiveScan.ExecutableKind kind) {
    }

    /** The state of one scan. */
    private final class Pass {
        private final Map<FileId, Held> held = new HashMap<>();
        /* The first task whose mappings were listed, per process: a thread with its own fd table lists them again. */
        private final Map<Integer, Integer> mappingTask = new HashMap<>();
        private final Map<ProcessExecutable, Long> executableBytes = new HashMap<>();
        private final Map<Integer, CommKey> comms = new HashMap<>();
        private long records;
        LiveRecord end;

        boolean accept(Pointer buffer, long offset) {
            LiveRecord record = LiveRecord.read(buffer, offset);
            if (record.kind() == LiveRecord.Kind.END) {
                end = record;
                return true;
            }
            if (records == maxRecords) {
                return false;
            }
            records++;
            if (record.kind() == LiveRecord.Kind.VMA
                    && mappingTask.computeIfAbsent(record.tgid(), tgid -> record.tid()) != record.tid()) {
                return true;
            }
            held.merge(record.file(), new Held(record.tgid(), record.comm(), record.cgroupId(), record.allocatedBytes(),
                    record.apparentBytes()), (old, found) -> Integer.compareUnsigned(found.tgid(), old.tgid()) < 0 ? found : old);
            if (record.kind() == LiveRecord.Kind.VMA && record.executable()) {
                LiveScan.ExecutableKind kind = record.exeFile() ? LiveScan.ExecutableKind.EXE : LiveScan.ExecutableKind.MAPPED;
                executableBytes.merge(new ProcessExecutable(record.tgid(), kind), record.vmaBytes(), U64::add);
                comms.put(record.tgid(), record.comm());
            }
            return true;
        }

        LiveScan result(LiveRecord fileEnd, boolean complete, double durationSeconds, double finishedAtSeconds) {
            Map<CommKey, LiveScan.Usage> byComm = new HashMap<>();
            Map<Long, Long> byCgroup = new HashMap<>();
            held.values().forEach(h -> {
                byComm.merge(h.comm(), new LiveScan.Usage(1, h.allocatedBytes(), h.apparentBytes()), LiveScan.Usage::plus);
                byCgroup.merge(h.cgroupId(), h.allocatedBytes(), U64::add);
            });
            Map<LiveScan.Executable, LiveScan.ExecutableUsage> executable = new HashMap<>();
            executableBytes.forEach((process, bytes) -> executable.merge(
                    new LiveScan.Executable(comms.get(process.tgid()), process.kind()),
                    new LiveScan.ExecutableUsage(1, bytes), LiveScan.ExecutableUsage::plus));
            Map<LiveScan.Skip, Integer> skipped = new EnumMap<>(LiveScan.Skip.class);
            if (!complete) {
                skipped.put(LiveScan.Skip.BUDGET, 1);
            }
            return new LiveScan(LiveScan.Method.BPF_ITERATOR, byComm, Optional.of(executable), Optional.of(byCgroup),
                    fileEnd == null ? 0 : fileEnd.processes(), fileEnd == null ? records : fileEnd.visited(), skipped,
                    durationSeconds, finishedAtSeconds);
        }
    }
}
