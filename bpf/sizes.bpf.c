// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sizes requested for memfds: every successful ftruncate(2) (the new length)
 * and fallocate(2) (offset + len, the end of the allocated range) on a memfd,
 * as a log2 histogram and as bytes per thread comm. Other files are ignored.
 *
 * Only the exit tracepoints are used: a call is counted once it has
 * succeeded (ftruncate on a sealed memfd fails with EPERM and is not counted),
 * and its arguments are read back from the caller's saved registers, so no
 * per-thread state has to carry them from entry to exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "memfd.h"
#include "maps.bpf.h"
#include "cgroup.bpf.h"
#include "slots.bpf.h"
#include "memfd_file.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define FALLOC_FL_PUNCH_HOLE 0x02

/* Requested bytes per comm: a slot table (struct slot_table in memfd.h). */
SLOT_TABLE(size_comm, struct comm_key);
SLOT_COUNTS(requested_bytes_by_slot);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct log2_histogram);
} requested_sizes SEC(".maps");

/* Requested bytes per cgroup v2 id of the calling process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGROUP_MAP_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} requested_bytes_by_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgroup_bytes_totals);
} cgroup_bytes_totals SEC(".maps");

/*
 * Requested bytes not in requested_bytes_by_slot: their comm had no slot (the
 * table was full), or its sum had reached U64_MAX. Saturates too.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unrecorded_bytes SEC(".maps");

/* Requested bytes that requested_sizes' sum (this CPU's) could not add: it had reached U64_MAX. Saturates too. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unsummed_bytes SEC(".maps");

static __always_inline void record_cgroup(__u64 size)
{
	struct cgroup_bytes_totals *totals;
	__u32 zero = 0;
	__u64 lost;

	totals = bpf_map_lookup_elem(&cgroup_bytes_totals, &zero);
	if (!totals) /* cannot happen: a per-CPU array always has index 0 */
		return;
	switch (sum_in_cgroup(&requested_bytes_by_cgroup, bpf_get_current_cgroup_id(), size, &lost)) {
	case CGROUP_REMOVED:
		saturating_add(&totals->removed, size);
		break;
	case CGROUP_UNRECORDED:
		saturating_add(&totals->unrecorded, size);
		break;
	default:
		if (lost)
			saturating_add(&totals->unrecorded, lost);
		break;
	}
}

static __always_inline void record(__u64 fd, __u64 size)
{
	struct log2_histogram *histogram;
	struct comm_key comm = {};
	__u32 zero = 0;
	__u64 *unrecorded, *unsummed, lost;

	if (!is_memfd_file(fd_file(bpf_get_current_task_btf(), fd)))
		return;
	histogram = bpf_map_lookup_elem(&requested_sizes, &zero);
	unrecorded = bpf_map_lookup_elem(&unrecorded_bytes, &zero);
	unsummed = bpf_map_lookup_elem(&unsummed_bytes, &zero);
	if (!histogram || !unrecorded || !unsummed) /* cannot happen: a per-CPU array always has index 0 */
		return;
	/*
	 * One call may request up to 2^63 - 1 bytes, so every byte sum here
	 * saturates rather than wrap; what a sum cannot hold goes to the
	 * counter of what it missed. Once that one is saturated as well, the
	 * excess is dropped: the counters stop there, they never go backwards.
	 */
	lost = log2_observe_saturating(histogram, size);
	if (lost)
		saturating_add(unsummed, lost);
	bpf_get_current_comm(comm.comm, sizeof(comm.comm));
	lost = SATURATING_ADD_SLOT(size_comm, requested_bytes_by_slot, &comm, size);
	if (lost)
		saturating_add(unrecorded, lost);
	record_cgroup(size);
}

/* The caller's saved user registers: the syscall's arguments, still there at exit. */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

SEC("tracepoint/syscalls/sys_exit_ftruncate")
int sys_exit_ftruncate(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;

	if (ctx->ret != 0)
		return 0;
	regs = syscall_regs();
	/* ftruncate(unsigned int fd, off_t length): length >= 0, or the call failed. */
	record((__u32)PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_fallocate")
int sys_exit_fallocate(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	__u64 offset, len;

	if (ctx->ret != 0)
		return 0;
	regs = syscall_regs();
	/* fallocate(int fd, int mode, loff_t offset, loff_t len). A punched hole frees memory: not a request. */
	if (PT_REGS_PARM2_CORE_SYSCALL(regs) & FALLOC_FL_PUNCH_HOLE)
		return 0;
	offset = PT_REGS_PARM3_CORE_SYSCALL(regs);
	len = PT_REGS_PARM4_CORE_SYSCALL(regs);
	/* Success implies offset >= 0, len > 0 and offset + len <= s_maxbytes: no overflow. */
	record((__u32)PT_REGS_PARM1_CORE_SYSCALL(regs), offset + len);
	return 0;
}

/* A cgroup v2 directory was removed: its slot in requested_bytes_by_cgroup is free again (cgroup.bpf.h). */
SEC("tracepoint/cgroup/cgroup_rmdir")
int sizes_cgroup_rmdir(struct trace_event_raw_cgroup *ctx)
{
	struct cgroup_bytes_totals *totals;
	__u32 zero = 0;

	totals = bpf_map_lookup_elem(&cgroup_bytes_totals, &zero);
	if (totals && ctx->root == CGROUP2_HIERARCHY)
		retire_cgroup_sum(&requested_bytes_by_cgroup, ctx->id, &totals->removed);
	return 0;
}
