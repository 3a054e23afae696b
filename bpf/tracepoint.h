/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The few kernel types memfd.bpf.c reads, declared for CO-RE: libbpf
 * relocates every field access against the running kernel's BTF, so no
 * generated vmlinux.h is needed and the build does not depend on the build
 * machine's kernel.
 */
#ifndef MEMFD_EXPORTER_TRACEPOINT_H
#define MEMFD_EXPORTER_TRACEPOINT_H

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
} __attribute__((preserve_access_index));

/* Context of every syscalls:sys_enter_* tracepoint: each argument takes 8 bytes. */
struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
} __attribute__((preserve_access_index));

/* Context of every syscalls:sys_exit_* tracepoint. */
struct trace_event_raw_sys_exit {
	struct trace_entry ent;
	long id;
	long ret;
} __attribute__((preserve_access_index));

#endif /* MEMFD_EXPORTER_TRACEPOINT_H */
