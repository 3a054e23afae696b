// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Counts memfd_create(2) calls per thread comm and per flags value, failures
 * per comm and errno, and how many calls each process makes per one-second
 * window (a histogram). Nothing is ever lost silently: what a full hash map
 * cannot hold is counted in the per-CPU totals (see memfd.h).
 *
 * One program on sys_exit_memfd_create does all of it: it sees the return
 * value and reads the flags argument from the caller's saved registers, so
 * no call pays for a second tracepoint (sys_enter; see BENCHMARKS.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "memfd.h"
#include "maps.bpf.h"
#include "cgroup.bpf.h"
#include "slots.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Calls per comm: a slot table (see struct slot_table in memfd.h) and the calls of each slot. */
SLOT_TABLE(comm, struct comm_key);
SLOT_COUNTS(calls_by_slot);

/*
 * Indexed by flags_index(): an array never fills and costs no hashing. Mmapable: the exporter reads
 * its 2,049 counts from memory (a batch lookup of an array copies entry by entry, ~1 ms here).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FLAGS_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} calls_by_flags SEC(".maps");

/* Failures per comm and errno: a slot table of failure keys, as for calls. */
SLOT_TABLE(failure, struct failure_key);
SLOT_COUNTS(failures_by_slot);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct totals);
} totals SEC(".maps");

/* Calls per cgroup v2 id (the inode number of the cgroup's directory). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGROUP_MAP_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} calls_by_cgroup SEC(".maps");

/* Failed calls per cgroup v2 id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGROUP_MAP_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} failures_by_cgroup SEC(".maps");

/* Per process (tgid): the open one-second window, see memfd.h. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RATE_WINDOWS_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} rate_windows SEC(".maps");

/* Calls per process per window, one observation per closed window. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct log2_histogram);
} rate_histogram SEC(".maps");

/* Compare-and-swap attempts before a call is given up as unrecorded (contention). */
#define CAS_ATTEMPTS 8

/* This CPU's clock reading in the current jiffy, see cached_now_ms(). */
struct clock_cache {
	__u64 jiffies;
	__u64 ms;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct clock_cache);
} clock_cache SEC(".maps");

static __always_inline __u64 now_ms(void)
{
	return bpf_ktime_get_ns() / 1000000;
}

/*
 * now_ms() read at most once per jiffy per CPU: bpf_ktime_get_ns() costs
 * 50-80 ns a call on a VM, bpf_jiffies64() next to nothing. The result is the time of
 * this CPU's first call in the current jiffy, less than one jiffy (10 ms at
 * HZ=100) behind the clock, which is how exact the one-second windows are.
 * Only for tracepoint programs: they run with preemption off, so no other
 * program updates this CPU's cache meanwhile.
 */
static __always_inline __u64 cached_now_ms(void)
{
	__u32 zero = 0;
	struct clock_cache *cache = bpf_map_lookup_elem(&clock_cache, &zero);
	__u64 jiffies = bpf_jiffies64();

	if (!cache) /* cannot happen: a per-CPU array always has index 0 */
		return now_ms();
	if (cache->jiffies != jiffies) {
		cache->ms = now_ms();
		cache->jiffies = jiffies;
	}
	return cache->ms;
}

static __always_inline __u64 window_start(__u64 window)
{
	return window >> WINDOW_COUNT_BITS;
}

static __always_inline __u64 window_count(__u64 window)
{
	return window & WINDOW_COUNT_MAX;
}

static __always_inline void record_window(__u64 calls)
{
	__u32 zero = 0;
	struct log2_histogram *histogram = bpf_map_lookup_elem(&rate_histogram, &zero);

	if (histogram && calls > 0)
		log2_observe(histogram, calls);
}

static __always_inline struct totals *this_cpu_totals(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&totals, &zero);
}

/* Counts one call in the calling process's window, recording the previous window if it closed. */
static __always_inline bool count_in_window(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 now = cached_now_ms(), fresh = (now << WINDOW_COUNT_BITS) | 1;
	__u64 *window, old, next;

	window = bpf_map_lookup_elem(&rate_windows, &tgid);
	if (!window) {
		if (bpf_map_update_elem(&rate_windows, &tgid, &fresh, BPF_NOEXIST) == 0)
			return true;
		window = bpf_map_lookup_elem(&rate_windows, &tgid);
		if (!window)
			return false; /* full */
	}
	for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
		old = *window;
		bool open = window_count(old) > 0 && now < window_start(old) + WINDOW_MS;
		if (open)
			next = window_count(old) < WINDOW_COUNT_MAX ? old + 1 : old;
		else
			next = fresh;
		if (__sync_val_compare_and_swap(window, old, next) == old) {
			if (!open)
				record_window(window_count(old));
			return true;
		}
	}
	return false;
}

/*
 * The calls_by_flags index of a flags argument, see memfd.h. The syscall's
 * flags parameter is an unsigned int: the kernel ignores the register's high
 * 32 bits, and so must we (a caller may set them through syscall(2)).
 */
static __always_inline __u32 flags_index(__u32 flags)
{
	if (flags & ~MFD_KNOWN_FLAGS)
		return FLAGS_INDEX_INVALID;
	return (flags & MFD_BIT_FLAGS) | ((flags >> MFD_HUGE_SHIFT) << MFD_BIT_FLAGS_COUNT);
}

SEC("tracepoint/syscalls/sys_exit_memfd_create")
int sys_exit_memfd_create(struct trace_event_raw_sys_exit *ctx)
{
	/*
	 * The caller's registers as it made the call. Syscall tracepoints see
	 * native calls only (not 32-bit compat ones), whose second argument is
	 * PT_REGS_PARM2_SYSCALL.
	 */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct totals *total = this_cpu_totals();
	struct comm_key comm = {};
	long ret = ctx->ret;
	__u32 flags;
	__u64 cgroup, *flags_count;

	if (!total) /* cannot happen: a per-CPU array always has index 0 */
		return 0;
	/* Atomic even per CPU: a preemptible kernel may interleave two callers. */
	__sync_fetch_and_add(&total->calls, 1);

	bpf_get_current_comm(comm.comm, sizeof(comm.comm));
	if (!INCREMENT_SLOT(comm, calls_by_slot, &comm))
		__sync_fetch_and_add(&total->unrecorded_comm, 1);

	flags = flags_index((__u32)PT_REGS_PARM2_SYSCALL(regs));
	flags_count = bpf_map_lookup_elem(&calls_by_flags, &flags);
	if (flags_count)
		__sync_fetch_and_add(flags_count, 1);
	else /* cannot happen: every index is below FLAGS_MAP_ENTRIES */
		__sync_fetch_and_add(&total->unrecorded_flags, 1);

	cgroup = bpf_get_current_cgroup_id();
	add_to_cgroup(&calls_by_cgroup, cgroup, 1, &total->removed_cgroup, &total->unrecorded_cgroup);

	if (!count_in_window())
		__sync_fetch_and_add(&total->unrecorded_windows, 1);

	if (ret < 0) {
		struct failure_key failure = {};

		__sync_fetch_and_add(&total->failures, 1);
		__builtin_memcpy(failure.comm, comm.comm, sizeof(failure.comm));
		failure.err = (__s32)-ret;
		if (!INCREMENT_SLOT(failure, failures_by_slot, &failure))
			__sync_fetch_and_add(&total->unrecorded_failures, 1);
		add_to_cgroup(&failures_by_cgroup, cgroup, 1, &total->removed_failures_cgroup,
			      &total->unrecorded_failures_cgroup);
	}
	return 0;
}

/* The last thread of a process exits: record its open window and free the entry. */
SEC("tracepoint/sched/sched_process_exit")
int sched_process_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *window, old;
	bool group_dead;

	if (bpf_core_field_exists(ctx->group_dead)) {
		group_dead = BPF_CORE_READ(ctx, group_dead);
	} else {
		/* Before Linux 6.x: do_exit() drops signal->live before this tracepoint. */
		struct task_struct *task = bpf_get_current_task_btf();
		group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
	}
	if (!group_dead)
		return 0;
	window = bpf_map_lookup_elem(&rate_windows, &tgid);
	if (!window)
		return 0;
	old = __sync_lock_test_and_set(window, 0);
	record_window(window_count(old));
	bpf_map_delete_elem(&rate_windows, &tgid);
	return 0;
}

/* A cgroup v2 directory was removed: its slots in the per-cgroup maps are free again. */
SEC("tracepoint/cgroup/cgroup_rmdir")
int memfd_cgroup_rmdir(struct trace_event_raw_cgroup *ctx)
{
	struct totals *total = this_cpu_totals();

	if (!total || ctx->root != CGROUP2_HIERARCHY)
		return 0;
	retire_cgroup(&calls_by_cgroup, ctx->id, &total->removed_cgroup);
	retire_cgroup(&failures_by_cgroup, ctx->id, &total->removed_failures_cgroup);
	return 0;
}

static long flush_if_closed(void *map, __u32 *tgid, __u64 *window, __u64 *now)
{
	__u64 old = *window;

	if (window_count(old) == 0 || *now < window_start(old) + WINDOW_MS)
		return 0;
	/* Keep the start, drop the count: the next call opens a fresh window. */
	if (__sync_val_compare_and_swap(window, old, old & ~WINDOW_COUNT_MAX) == old)
		record_window(window_count(old));
	return 0;
}

/*
 * Run by the exporter before a scrape (at most once a second): records every
 * window that closed without a later call to close it, so an idle process's
 * last second shows up by the next scrape.
 */
SEC("syscall")
int flush_idle_windows(void *ctx)
{
	__u64 now = now_ms();

	bpf_for_each_map_elem(&rate_windows, flush_if_closed, &now, 0);
	return 0;
}
