/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A syscall's arguments at its exit tracepoint, for programs that attach
 * only there: one tracepoint per call, no per-thread state carrying the
 * arguments from entry to exit.
 */
#ifndef MEMFD_EXPORTER_SYSCALL_REGS_BPF_H
#define MEMFD_EXPORTER_SYSCALL_REGS_BPF_H

#include <bpf/bpf_tracing.h>

/*
 * The caller's saved user registers: the syscall's arguments, still there at
 * exit (x86-64 native syscalls; read them with PT_REGS_PARMn_CORE_SYSCALL).
 */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

#endif /* MEMFD_EXPORTER_SYSCALL_REGS_BPF_H */
