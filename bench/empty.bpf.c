// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of probe cost for scripts/bench.sh: programs that do nothing, on
 * the tracepoints the exporter uses. Not part of the exporter (bpf/build.sh
 * does not see this directory).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tracepoint/syscalls/sys_enter_memfd_create")
int empty_enter(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_memfd_create")
int empty_exit(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int empty_exit_mmap(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int empty_exit_mprotect(void *ctx)
{
	return 0;
}
