// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The memfds alive on the host, for the live collector: two BPF iterators
 * that user space runs once per scan (bpf_iter_create on the attached link,
 * then read() until the end) and that write one struct live_record per memfd
 * they find, and a LIVE_END record when the iteration is complete.
 *
 * - iter/task_file visits every open file of every process: memfds held by an fd.
 * - iter/task_vma visits every mapping of every process: memfds only mapped
 *   (their fd closed), and which of them are executable.
 *
 * The kernel visits a thread apart from its process only when the thread has
 * an fd table of its own (clone without CLONE_FILES, or unshare(CLONE_FILES)):
 * task_file then lists that table, which is right, and task_vma lists the
 * shared address space a second time, which user space drops (it keeps the
 * mappings of the first task visited per tgid). Each record names the tgid,
 * so a memfd is counted once per process however it is reached.
 *
 * Reading another process's files and mappings normally needs ptrace rights;
 * here the kernel reads them, and the reader needs only the link's fd: the
 * exporter attaches as root and scans with no privilege at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "memfd.h"
#include "memfd_file.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/linux/mm.h */
#define VM_EXEC 0x00000004UL

/*
 * Processes the iteration in progress visited. Tasks come in ascending tid
 * order and a process's tasks are visited together, so a tgid other than the
 * last one seen is a new process: one load per object, a store per process.
 * Reset when an iteration starts (seq_num 0). Scans never run concurrently:
 * one scan thread per exporter, and only it holds the links. Objects are not
 * counted here (a store per object costs ~10% of a scan): the last call's
 * meta->seq_num is the number of the last object shown, one less than the
 * objects visited (the program never skips one).
 */
struct visits {
	__u32 last_tgid;
	__u32 processes;
};
struct visits file_visits = {};
struct visits vma_visits = {};

static __always_inline void visit(struct visits *visits, __u64 seq_num, __u32 tgid)
{
	if (seq_num == 0) {
		visits->last_tgid = 0;
		visits->processes = 0;
	}
	if (tgid != visits->last_tgid) {
		visits->last_tgid = tgid;
		visits->processes++;
	}
}

/*
 * Most files are on neither tmpfs nor hugetlbfs. This test reads through the
 * iterator's BTF pointers (plain loads the verifier guards, no helper call),
 * so it costs a fraction of is_memfd_file()'s probe reads and rules out nearly
 * every fd and mapping of a host before them. It decides nothing on its own:
 * is_memfd_file() is the test.
 */
static __always_inline bool on_memfd_fs_type(struct file *file)
{
	unsigned long magic = file->f_inode->i_sb->s_magic;

	return magic == TMPFS_MAGIC || magic == HUGETLBFS_MAGIC;
}

/*
 * task and file come from the iterator's context (or the VMA it passed): BTF
 * pointers the verifier lets this program walk with plain loads, cheaper than
 * a probe-read helper call per field.
 */
static __always_inline void fill_record(struct live_record *record, struct task_struct *task, struct file *file,
					__u32 kind)
{
	struct inode *inode = file->f_inode;

	record->ino = inode->i_ino;
	record->allocated_bytes = (__u64)inode->i_blocks * 512;
	record->apparent_bytes = inode->i_size;
	record->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	record->dev = inode->i_sb->s_dev;
	record->tgid = task->tgid;
	record->tid = task->pid;
	record->kind = kind;
	/* /proc/PID/comm is the main thread's: a thread may have renamed itself. */
	bpf_probe_read_kernel_str(&record->comm, sizeof(record->comm), task->group_leader->comm);
}

static __always_inline void write_end(struct seq_file *seq, __u64 seq_num, struct visits *visits)
{
	struct live_record record = {};

	record.kind = LIVE_END;
	/* Never empty: the exporter reading it has fds and mappings itself. */
	record.visited = seq_num + 1;
	record.processes = visits->processes;
	bpf_seq_write(seq, &record, sizeof(record));
}

SEC("iter/task_file")
int live_task_file(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct live_record record = {};

	/* The last call of an iteration has no task: everything was visited. */
	if (!task || !file) {
		write_end(seq, ctx->meta->seq_num, &file_visits);
		return 0;
	}
	visit(&file_visits, ctx->meta->seq_num, task->tgid);
	if (!on_memfd_fs_type(file) || !is_memfd_file(file))
		return 0;
	fill_record(&record, task, file, LIVE_FD);
	bpf_seq_write(seq, &record, sizeof(record));
	return 0;
}

SEC("iter/task_vma")
int live_task_vma(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct live_record record = {};
	struct file *file;

	if (!task || !vma) {
		write_end(seq, ctx->meta->seq_num, &vma_visits);
		return 0;
	}
	visit(&vma_visits, ctx->meta->seq_num, task->tgid);
	file = vma->vm_file;
	if (!file || !on_memfd_fs_type(file) || !is_memfd_file(file))
		return 0;
	fill_record(&record, task, file, LIVE_VMA);
	record.vma_bytes = vma->vm_end - vma->vm_start;
	if (vma->vm_flags & VM_EXEC)
		record.vma_flags |= LIVE_VMA_EXEC;
	if (vma->vm_mm->exe_file && vma->vm_mm->exe_file->f_inode == file->f_inode)
		record.vma_flags |= LIVE_VMA_EXE_FILE;
	bpf_seq_write(seq, &record, sizeof(record));
	return 0;
}
