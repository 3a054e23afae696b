/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Structures shared between the BPF programs (bpf/NAME.bpf.c) and the Java
 * exporter, which mirrors each of them in src/main/java/io/memfdexporter/probe.
 * Every struct is laid out without implicit padding: padding bytes would
 * become part of hash keys.
 */
#ifndef MEMFD_EXPORTER_H
#define MEMFD_EXPORTER_H

#define COMM_LEN 16

/* memfd_create(2) flag bits the kernel defines (include/uapi/linux/memfd.h). */
#define MFD_CLOEXEC        0x0001U
#define MFD_ALLOW_SEALING  0x0002U
#define MFD_HUGETLB        0x0004U
#define MFD_NOEXEC_SEAL    0x0008U
#define MFD_EXEC           0x0010U
#define MFD_BIT_FLAGS      0x001FU /* the five above */
#define MFD_BIT_FLAGS_COUNT 5
#define MFD_HUGE_SHIFT     26
#define MFD_HUGE_MASK      0x3FU
#define MFD_KNOWN_FLAGS    (MFD_BIT_FLAGS | (MFD_HUGE_MASK << MFD_HUGE_SHIFT))
/*
 * calls_by_flags is an array indexed by the flags argument packed into 11
 * bits: the five flag bits, then the 6-bit huge page size field. Any value
 * with an undefined bit counts at FLAGS_INDEX_INVALID, so a caller looping
 * over random flags touches at most 2^11 + 1 entries.
 */
#define FLAGS_INDEX_INVALID 2048U
#define FLAGS_MAP_ENTRIES  (FLAGS_INDEX_INVALID + 1)

/* Key of the comm and secret_comm slot tables: the calling thread's comm, NUL-padded. */
struct comm_key {
	char comm[COMM_LEN];
};

/* Key of the failure and secret_failure slot tables: comm and the positive errno the call returned. */
struct failure_key {
	char comm[COMM_LEN];
	__s32 err;
};

/*
 * The single entry of the per-CPU totals map. Updating it cannot fail, so
 *   sum(calls_by_slot) + unrecorded_comm         == calls (the per-comm calls, see struct slot_table)
 *   sum(calls_by_flags) + unrecorded_flags       == calls (unrecorded_flags stays 0: an array never fills)
 *   sum(failures_by_slot) + unrecorded_failures  == failures (per comm and errno, a slot table too)
 *   sum(calls_by_cgroup) + removed_cgroup + unrecorded_cgroup                   == calls
 *   sum(failures_by_cgroup) + removed_failures_cgroup + unrecorded_failures_cgroup == failures
 * hold exactly whatever happens to the hash maps (removed_*: counts of
 * cgroups since removed, see cgroup.bpf.h).
 */
struct totals {
	__u64 calls;
	__u64 failures;
	__u64 unrecorded_comm;
	__u64 unrecorded_flags;
	__u64 unrecorded_failures;
	__u64 unrecorded_windows; /* calls not in the rate histogram: rate_windows full or contended */
	__u64 unrecorded_cgroup;
	__u64 removed_cgroup;
	__u64 unrecorded_failures_cgroup;
	__u64 removed_failures_cgroup;
};

/*
 * Per-comm slot arrays (docs/performance.md, "Per-comm slot arrays"): each
 * comm gets a slot once, the first time it is counted, and its counts live in
 * BPF_F_MMAPABLE arrays indexed by slot, which the exporter maps read-only and
 * reads without a syscall. A slot table is four maps: a hash map comm ->
 * slot (the index), an array slot -> comm (so the exporter learns a slot's
 * comm from memory too), this single entry, also mmapped, and each CPU's
 * last slot found (bpf/slots.bpf.h slot_of()).
 *
 * A new comm takes the next slot with one atomic add on taken, writes its
 * comm there, and only then publishes comm -> slot in the index
 * (BPF_NOEXIST). Two CPUs first-seeing one comm both take a slot; one
 * publishes, the other finds the winner's slot, counts there, and its own slot
 * stays unused for good (wasted): every call is counted once. A slot's count
 * becomes non-zero only after its comm is written, so the exporter reads a
 * slot's comm only once its count is non-zero. When no slot is left, calls of
 * new comms are counted as unrecorded, as for a full hash map:
 *   comms in the index == min(taken, capacity) - wasted
 */
struct slot_table {
	__u64 taken;  /* slots handed out; can pass the capacity by the CPUs that raced for the last one */
	__u64 wasted; /* slots taken below the capacity whose comm was never published (a lost race) */
};

/* Capacity of every per-cgroup map: cgroups alive at once that made a counted call, not cgroups ever seen. */
#define CGROUP_MAP_ENTRIES 4096

/*
 * rate_windows value: one process's current one-second window, packed in one
 * word so that the tracepoint, the exit hook and the user-space-triggered
 * flush can hand it over with a single compare-and-swap: the start in
 * milliseconds since boot (high 40 bits) and the calls in it (low 24 bits).
 * A window whose count is 0 has been recorded already.
 */
#define WINDOW_COUNT_BITS 24
#define WINDOW_COUNT_MAX  ((1ULL << WINDOW_COUNT_BITS) - 1)
#define WINDOW_MS         1000
#define RATE_WINDOWS_ENTRIES 16384

/*
 * The single entry of secret.bpf.c's per-CPU secret_totals map: memfd_secret
 * calls and failures a full per-comm map could not record, so that
 *   sum(secret_calls_by_slot) + unrecorded_calls       == all calls
 *   sum(secret_failures_by_slot) + unrecorded_failures == all failures
 */
struct secret_totals {
	__u64 unrecorded_calls;
	__u64 unrecorded_failures;
};

/*
 * The single entry of sizes.bpf.c's per-CPU cgroup_bytes_totals map: bytes
 * requested_bytes_by_cgroup moved out when their cgroup was removed, and bytes
 * it could not record (full map, or a cgroup's sum at its maximum), so that
 *   sum(requested_bytes_by_cgroup) + removed + unrecorded == all requested bytes
 * while nothing saturates. Both saturate at 2^64 - 1.
 */
struct cgroup_bytes_totals {
	__u64 removed;
	__u64 unrecorded;
};

/*
 * A histogram of non-negative integers with power-of-two buckets: slot 0
 * counts zeros, slot i (1..65) counts values in (2^(i-2), 2^(i-1)], which is
 * Prometheus' native histogram schema 0 (bucket index i-1). sum is the sum of
 * all observed values.
 */
#define LOG2_SLOTS 66
struct log2_histogram {
	__u64 slots[LOG2_SLOTS];
	__u64 sum;
};

/*
 * exec.bpf.c: executions whose executable is a memfd. The memfd's name is
 * chosen by its creator, so it is reduced to a kind: runc copies itself into
 * a memfd named "runc_cloned:..." and re-executes it on every container start.
 * RUNC needs that name and a caller the kernel shows to be root's runc
 * (caller_is_runc()); any other execution is OTHER.
 */
#define MEMFD_NAME_KIND_OTHER 0
#define MEMFD_NAME_KIND_RUNC  1

/*
 * How the memfd was executed: BINARY, it is the executable the kernel loads;
 * INTERPRETER, a binfmt handler (binfmt_script's "#!", binfmt_misc) handed it
 * to an interpreter, which the kernel loads instead and which reads the memfd
 * through the fd path it was executed by (exec.bpf.c interpreted_memfd()).
 */
#define EXEC_VIA_BINARY      0
#define EXEC_VIA_INTERPRETER 1

/* Key of the exec slot table (executions per comm): the exec caller's comm before exec renamed it, the memfd name kind and how it was executed. */
struct exec_key {
	char comm[COMM_LEN];  /* all zero when comm_known is 0 */
	__u32 name_kind;      /* MEMFD_NAME_KIND_* */
	__u32 comm_known;     /* 0: no execve/execveat entry was seen (a 32-bit compat exec before Linux 6.10) */
	__u32 via;            /* EXEC_VIA_* */
};

/*
 * The single entry of exec.bpf.c's per-CPU totals map:
 *   sum(execs_by_slot) + unrecorded                                == execs
 *   sum(execs_by_cgroup) + removed_cgroup + unrecorded_cgroup      == execs
 */
struct exec_totals {
	__u64 execs;
	__u64 unrecorded;
	__u64 removed_cgroup;
	__u64 unrecorded_cgroup;
};

/*
 * live.bpf.c: one record per memfd an iterator finds, written to the
 * iterator's output with bpf_seq_write (LiveRecord in Java mirrors it).
 * LIVE_FD: task_file found the memfd in a process's fd table;
 * LIVE_VMA: task_vma found a mapping of it (vma_bytes, LIVE_VMA_* flags);
 * LIVE_END: written once when an iteration ends, with what it visited, so
 * that user space knows the output is complete.
 */
#define LIVE_FD  1
#define LIVE_VMA 2
#define LIVE_END 3
#define LIVE_VMA_EXEC     0x1 /* the mapping is executable (VM_EXEC) */
#define LIVE_VMA_EXE_FILE 0x2 /* the memfd is the process's own executable (mm->exe_file) */
struct live_record {
	__u64 ino;             /* the memfd's inode number */
	__u64 allocated_bytes; /* i_blocks * 512 */
	__u64 apparent_bytes;  /* i_size */
	__u64 cgroup_id;       /* the process's cgroup v2 id */
	__u64 vma_bytes;       /* LIVE_VMA: vm_end - vm_start */
	__u64 visited;         /* LIVE_END: fds (task_file) or VMAs (task_vma) the iteration visited */
	__u32 dev;             /* the superblock's s_dev: kernel dev_t, major << 20 | minor */
	__u32 tgid;            /* the process */
	__u32 tid;             /* the task visited: a thread with an fd table of its own is visited apart */
	__u32 kind;            /* LIVE_FD, LIVE_VMA, LIVE_END */
	__u32 vma_flags;       /* LIVE_VMA: LIVE_VMA_* */
	__u32 processes;       /* LIVE_END: processes the iteration visited */
	char comm[COMM_LEN];   /* the process's main thread's comm, as /proc/PID/comm */
};

/*
 * exec_mappings.bpf.c: mmap/mprotect/pkey_mprotect calls that left a memfd
 * mapped executable. The syscall that did it, and a kind from kernel
 * evidence about the memfd at that moment (never its name), checked in this
 * order, so each call has exactly one kind:
 *   DOUBLE_MAPPED: the memfd also has another shared mapping that is or may
 *                  be made writable (address_space i_mmap_writable): the code
 *                  can change while it runs;
 *   SEALED:        F_SEAL_WRITE or F_SEAL_FUTURE_WRITE: contents frozen;
 *   PLAIN:         neither.
 */
#define EXEC_MAPPING_SYSCALL_MMAP          0
#define EXEC_MAPPING_SYSCALL_MPROTECT      1
#define EXEC_MAPPING_SYSCALL_PKEY_MPROTECT 2
#define EXEC_MAPPING_KIND_PLAIN            0
#define EXEC_MAPPING_KIND_SEALED           1
#define EXEC_MAPPING_KIND_DOUBLE_MAPPED    2

/* Key of the exec_mapping slot table: the calling thread's comm, the syscall and the kind. */
struct exec_mapping_key {
	char comm[COMM_LEN];
	__u32 syscall; /* EXEC_MAPPING_SYSCALL_* */
	__u32 kind;    /* EXEC_MAPPING_KIND_* */
};

/*
 * The single entry of exec_mappings.bpf.c's per-CPU totals map:
 *   sum(exec_mappings_by_slot) + unrecorded                           == observed
 *   sum(exec_mappings_by_cgroup) + removed_cgroup + unrecorded_cgroup == observed
 * unchecked counts successful calls asking for PROT_EXEC whose mappings could
 * not be examined (see exec_mappings.bpf.c): not in observed, memfd or not.
 */
struct exec_mapping_totals {
	__u64 observed;
	__u64 unrecorded;
	__u64 unchecked;
	__u64 removed_cgroup;
	__u64 unrecorded_cgroup;
};

#endif /* MEMFD_EXPORTER_H */
