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
#include "slots.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Calls per comm and failures per comm and errno, in slot tables (struct slot_table in memfd.h). */
SLOT_TABLE(secret_comm, struct comm_key);
SLOT_COUNTS(secret_calls_by_slot);
SLOT_TABLE(secret_failure, struct failure_key);
SLOT_COUNTS(secret_failures_by_slot);

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
	if (!INCREMENT_SLOT(secret_comm, secret_calls_by_slot, &comm))
		__sync_fetch_and_add(&total->unrecorded_calls, 1);
	if (ret >= 0)
		return 0;

	__builtin_memcpy(failure.comm, comm.comm, sizeof(failure.comm));
	failure.err = (__s32)-ret;
	if (!INCREMENT_SLOT(secret_failure, secret_failures_by_slot, &failure))
		__sync_fetch_and_add(&total->unrecorded_failures, 1);
	return 0;
}
