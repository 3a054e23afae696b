// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Counts memfd_create(2) calls per thread comm and per flags value, and
 * failures per comm and errno. Nothing is ever lost silently: what a full
 * hash map cannot hold is counted in the per-CPU totals (see memfd.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memfd.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* max_entries of the per-comm maps is set by the loader (--bpf.max-comms). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct comm_key);
	__type(value, __u64);
} calls_by_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLAGS_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} calls_by_flags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct failure_key);
	__type(value, __u64);
} failures_by_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct totals);
} totals SEC(".maps");

static __always_inline struct totals *this_cpu_totals(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&totals, &zero);
}

static __always_inline __u32 flags_key(__u64 flags)
{
	if (flags & ~(__u64)MFD_KNOWN_FLAGS)
		return FLAGS_KEY_INVALID;
	return (__u32)flags;
}

SEC("tracepoint/syscalls/sys_enter_memfd_create")
int sys_enter_memfd_create(struct trace_event_raw_sys_enter *ctx)
{
	struct totals *total = this_cpu_totals();
	struct comm_key comm = {};
	__u32 flags;

	if (!total) /* cannot happen: a per-CPU array always has index 0 */
		return 0;
	/* Atomic even per CPU: a preemptible kernel may interleave two callers. */
	__sync_fetch_and_add(&total->calls, 1);

	bpf_get_current_comm(comm.comm, sizeof(comm.comm));
	if (!increment(&calls_by_comm, &comm))
		__sync_fetch_and_add(&total->unrecorded_comm, 1);

	flags = flags_key(ctx->args[1]);
	if (!increment(&calls_by_flags, &flags))
		__sync_fetch_and_add(&total->unrecorded_flags, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_memfd_create")
int sys_exit_memfd_create(struct trace_event_raw_sys_exit *ctx)
{
	struct failure_key failure = {};
	struct totals *total;
	long ret = ctx->ret;

	if (ret >= 0)
		return 0;
	total = this_cpu_totals();
	if (!total)
		return 0;
	__sync_fetch_and_add(&total->failures, 1);

	bpf_get_current_comm(failure.comm, sizeof(failure.comm));
	failure.err = (__s32)-ret;
	if (!increment(&failures_by_comm, &failure))
		__sync_fetch_and_add(&total->unrecorded_failures, 1);
	return 0;
}
