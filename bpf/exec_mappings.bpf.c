// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Counts the mmap, mprotect and pkey_mprotect calls that leave a memfd mapped
 * executable: code loaded from a memfd without exec (in-process ELF loaders,
 * dlopen("/proc/self/fd/N"), JITs that double-map code through a memfd, and
 * the way around MemoryDenyWriteExecute=: write through the fd, map the pages
 * executable, never writable). Per comm of the calling thread, syscall and
 * kind (memfd.h EXEC_MAPPING_KIND_*).
 *
 * Exit tracepoints only, one per call: the arguments are read back from the
 * caller's saved registers, and every call that failed or does not ask for
 * execution returns at once, so unrelated calls pay one tracepoint's floor.
 * What is examined is the kernel's result, the VMAs as they are once the call
 * has succeeded, not the fd argument: swapping the fd behind the call's back
 * changes nothing (except in mmap's fallback below).
 *
 * The VMAs are found with bpf_find_vma() (Linux >= 5.17), which needs the
 * address space's lock without waiting for it: when the lock is contended
 * (another thread is mapping or unmapping at that moment) or the mapping is
 * already gone, mmap falls back to the file behind its fd argument, and an
 * mprotect is counted as unchecked instead (struct exec_mapping_totals), so
 * it is never silently lost. (Trying again does not help: the lock's holder
 * keeps it far longer than a retry takes, measured.) An mprotect range may
 * span several VMAs (its pages must all be mapped, or it fails); at most
 * MAX_VMAS are examined, a range with more VMAs before its first executable
 * memfd is unchecked too.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "memfd.h"
#include "maps.bpf.h"
#include "slots.bpf.h"
#include "cgroup.bpf.h"
#include "memfd_file.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/uapi/asm-generic/mman-common.h, include/uapi/linux/mman.h */
#define PROT_READ  0x1
#define PROT_EXEC  0x4
#define MAP_SHARED          0x01
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE            0x0f
#define MAP_ANONYMOUS       0x20
/* include/linux/fs.h */
#define FMODE_WRITE 0x2
/* include/uapi/linux/personality.h */
#define READ_IMPLIES_EXEC 0x0400000
/* include/linux/mm.h */
#define VM_EXEC     0x00000004UL
#define VM_SHARED   0x00000008UL
#define VM_MAYWRITE 0x00000020UL
/* include/uapi/linux/fcntl.h */
#define F_SEAL_WRITE        0x0008
#define F_SEAL_FUTURE_WRITE 0x0010
/* include/linux/err.h: a syscall returning an address fails with -MAX_ERRNO..-1 */
#define MAX_ERRNO 4095
#define PAGE_SIZE 4096ULL
/* VMAs of one mprotect range examined at most: each costs a bpf_find_vma(). */
#define MAX_VMAS 8

/* Calls per comm, syscall and kind: a slot table (struct slot_table in memfd.h). */
SLOT_TABLE(exec_mapping, struct exec_mapping_key);
SLOT_COUNTS(exec_mappings_by_slot);

/* The same calls per cgroup v2 id of the calling process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGROUP_MAP_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} exec_mappings_by_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_mapping_totals);
} exec_mapping_totals SEC(".maps");

/*
 * Whether a call with these protection bits asks for execution: PROT_EXEC,
 * or PROT_READ under personality(READ_IMPLIES_EXEC), to which mmap and
 * mprotect add PROT_EXEC themselves (mm/mmap.c do_mmap, mm/mprotect.c).
 */
static __always_inline bool asks_exec(struct task_struct *task, __u64 prot)
{
	if (prot & PROT_EXEC)
		return true;
	return (prot & PROT_READ) && (task->personality & READ_IMPLIES_EXEC);
}

/*
 * The memfd's seals (mm/memfd.c memfd_file_seals_ptr): in the shmem or
 * hugetlbfs inode info that embeds the VFS inode. is_memfd_file() has
 * checked the file is on one of the two.
 */
static __always_inline __u32 memfd_seals(struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	__u32 seals = 0;
	void *info;

	if (BPF_CORE_READ(inode, i_sb, s_magic) == TMPFS_MAGIC) {
		info = (void *)inode - bpf_core_field_offset(struct shmem_inode_info, vfs_inode);
		bpf_probe_read_kernel(&seals, sizeof(seals), info + bpf_core_field_offset(struct shmem_inode_info, seals));
	} else {
		info = (void *)inode - bpf_core_field_offset(struct hugetlbfs_inode_info, vfs_inode);
		bpf_probe_read_kernel(&seals, sizeof(seals), info + bpf_core_field_offset(struct hugetlbfs_inode_info, seals));
	}
	return seals;
}

/*
 * EXEC_MAPPING_KIND_* of a memfd now mapped executable by a VMA with vm_flags.
 *
 * i_mmap_writable counts the shared mappings of the memfd, in any process,
 * that are writable or may be made so (VM_SHARED and VM_MAYWRITE: the fd was
 * opened for writing and no write seal forbids it); negative once F_SEAL_WRITE
 * is set. The executable VMA itself is one of them when it is shared and may
 * be written, so it is left out: what counts is another view of the same pages.
 * F_SEAL_FUTURE_WRITE leaves existing shared writable mappings in place, so
 * both can hold at once: double_mapped wins, the code can still change.
 */
static __always_inline __u32 exec_mapping_kind(struct file *file, unsigned long vm_flags)
{
	int writable = BPF_CORE_READ(file, f_mapping, i_mmap_writable.counter);

	if ((vm_flags & (VM_SHARED | VM_MAYWRITE)) == (VM_SHARED | VM_MAYWRITE))
		writable--;
	if (writable > 0)
		return EXEC_MAPPING_KIND_DOUBLE_MAPPED;
	if (memfd_seals(file) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return EXEC_MAPPING_KIND_SEALED;
	return EXEC_MAPPING_KIND_PLAIN;
}

/* bpf_find_vma() callback state. */
struct vma_walk {
	__u64 next; /* the end of the VMA examined: where the next one starts */
	int kind;   /* of the first executable memfd VMA, or -1 */
};

static long examine_vma(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_walk *walk = data;
	unsigned long vm_flags = BPF_CORE_READ(vma, vm_flags);
	struct file *file;

	walk->next = BPF_CORE_READ(vma, vm_end);
	if (!(vm_flags & VM_EXEC))
		return 0;
	file = BPF_CORE_READ(vma, vm_file);
	if (is_memfd_file(file))
		walk->kind = exec_mapping_kind(file, vm_flags);
	return 0;
}

/*
 * mmap's answer when its VMA could not be examined: the file behind its fd
 * argument, with the VMA flags the call gave it, or -1. A thread that replaces
 * the fd during the call while the lock is contended escapes this; one that
 * only does either does not.
 */
static __always_inline int mmap_fd_kind(struct task_struct *task, struct pt_regs *regs)
{
	__u64 flags = PT_REGS_PARM4_SYSCALL(regs);
	struct file *file;
	unsigned long vm_flags = 0;

	if (flags & MAP_ANONYMOUS)
		return -1;
	file = fd_file(task, (__u32)PT_REGS_PARM5_SYSCALL(regs));
	if (!is_memfd_file(file))
		return -1;
	if (((flags & MAP_TYPE) == MAP_SHARED || (flags & MAP_TYPE) == MAP_SHARED_VALIDATE) &&
	    (BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		vm_flags = VM_SHARED | VM_MAYWRITE;
	return exec_mapping_kind(file, vm_flags);
}

/*
 * Counts one call when a VMA in [start, end) of the caller's address space is
 * an executable mapping of a memfd, under the kind of the first such VMA.
 * mmap_regs is mmap's saved registers (NULL for mprotect): when its VMA cannot
 * be examined, the fd argument answers instead (mmap_fd_kind()).
 */
static __always_inline void count_call(__u32 syscall, __u64 start, __u64 end, struct pt_regs *mmap_regs)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct vma_walk walk = { .next = start, .kind = -1 };
	struct exec_mapping_key key = {};
	struct exec_mapping_totals *totals;
	__u32 zero = 0;
	bool unchecked = false;

	totals = bpf_map_lookup_elem(&exec_mapping_totals, &zero);
	if (!totals) /* cannot happen: a per-CPU array always has index 0 */
		return;
	for (int i = 0; i < MAX_VMAS && walk.kind < 0 && walk.next < end; i++) {
		/* -EBUSY: the mmap lock is contended; -ENOENT: unmapped since the call returned. */
		if (bpf_find_vma(task, walk.next, examine_vma, &walk, 0)) {
			unchecked = true;
			break;
		}
	}
	if (unchecked && mmap_regs)
		walk.kind = mmap_fd_kind(task, mmap_regs);
	if (walk.kind < 0) {
		if (unchecked || walk.next < end)
			__sync_fetch_and_add(&totals->unchecked, 1);
		return;
	}
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.syscall = syscall;
	key.kind = walk.kind;
	__sync_fetch_and_add(&totals->observed, 1);
	if (!INCREMENT_SLOT(exec_mapping, exec_mappings_by_slot, &key))
		__sync_fetch_and_add(&totals->unrecorded, 1);
	add_to_cgroup(&exec_mappings_by_cgroup, bpf_get_current_cgroup_id(), 1, &totals->removed_cgroup,
		      &totals->unrecorded_cgroup);
}

/* A cgroup v2 directory was removed: its slot in exec_mappings_by_cgroup is free again (cgroup.bpf.h). */
SEC("tracepoint/cgroup/cgroup_rmdir")
int exec_mappings_cgroup_rmdir(struct trace_event_raw_cgroup *ctx)
{
	struct exec_mapping_totals *totals;
	__u32 zero = 0;

	totals = bpf_map_lookup_elem(&exec_mapping_totals, &zero);
	if (totals && ctx->root == CGROUP2_HIERARCHY)
		retire_cgroup(&exec_mappings_by_cgroup, ctx->id, &totals->removed_cgroup);
	return 0;
}

/*
 * The caller's saved registers are read directly (PT_REGS_PARMn_SYSCALL: a
 * load from the trusted pointer bpf_task_pt_regs() returns), not through
 * bpf_probe_read_kernel as PT_REGS_PARMn_CORE_SYSCALL does: these programs
 * run on every mmap and mprotect of every process, and a helper call is most
 * of what they cost on the calls they ignore.
 */
SEC("tracepoint/syscalls/sys_exit_mmap")
int sys_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	long addr = ctx->ret;
	struct task_struct *task;
	struct pt_regs *regs;

	if (addr < 0 && addr >= -MAX_ERRNO)
		return 0;
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	/* mmap(addr, len, prot, flags, fd, off): one new VMA at the address returned (perhaps merged with a neighbour). */
	if (!asks_exec(task, PT_REGS_PARM3_SYSCALL(regs)))
		return 0;
	count_call(EXEC_MAPPING_SYSCALL_MMAP, addr, addr + 1, regs);
	return 0;
}

/* mprotect(start, len, prot) and pkey_mprotect(start, len, prot, pkey) after success. */
static __always_inline void mprotected(__u32 syscall)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 start, len;

	if (!asks_exec(task, PT_REGS_PARM3_SYSCALL(regs)))
		return;
	start = PT_REGS_PARM1_SYSCALL(regs);
	len = PT_REGS_PARM2_SYSCALL(regs);
	/* Success implies start is page aligned and [start, start + len rounded up to pages) is mapped. */
	count_call(syscall, start, start + ((len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)), NULL);
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int sys_exit_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret == 0)
		mprotected(EXEC_MAPPING_SYSCALL_MPROTECT);
	return 0;
}

/* The same operation with a protection key: not counting it would be a trivial way around. */
SEC("tracepoint/syscalls/sys_exit_pkey_mprotect")
int sys_exit_pkey_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret == 0)
		mprotected(EXEC_MAPPING_SYSCALL_PKEY_MPROTECT);
	return 0;
}
