// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Counts memfd_secret(2) calls per thread comm, and failures per comm and
 * errno. A separate object from memfd.bpf.c and sizes.bpf.c: kernels built
 * without CONFIG_SECRETMEM have no such tracepoint, and the exporter then
 * runs without this object alone.
 *
 * One program at exit sees every call and its result; the call has no
 * argument worth a label (flags may only be 0 or O_CLOEXEC).
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
} secret_calls_by_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct failure_key);
	__type(value, __u64);
} secret_failures_by_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct secret_totals);
} secret_totals SEC(".maps");

SEC("tracepoint/syscalls/sys_exit_memfd_secret")
int sys_exit_memfd_secret(struct trace_event_raw_sys_exit *ctx)
{
	struct failure_key failure = {};
	struct comm_key comm = {};
	struct secret_totals *total;
	long ret = ctx->ret;
	__u32 zero = 0;

	total = bpf_map_lookup_elem(&secret_totals, &zero);
	if (!total) /* cannot happen: a per-CPU array always has index 0 */
		return 0;
	bpf_get_current_comm(comm.comm, sizeof(comm.comm));
	if (!increment(&secret_calls_by_comm, &comm))
		__sync_fetch_and_add(&total->unrecorded_calls, 1);
	if (ret >= 0)
		return 0;

	__builtin_memcpy(failure.comm, comm.comm, sizeof(failure.comm));
	failure.err = (__s32)-ret;
	if (!increment(&secret_failures_by_comm, &failure))
		__sync_fetch_and_add(&total->unrecorded_failures, 1);
	return 0;
}
