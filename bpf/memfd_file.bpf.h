/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Is this file a memfd? The one answer every program here uses (sizes,
 * exec, and whatever maps or iterates files), so that a file one program
 * calls a memfd is one for all of them.
 */
#ifndef MEMFD_EXPORTER_MEMFD_FILE_BPF_H
#define MEMFD_EXPORTER_MEMFD_FILE_BPF_H

#include <stdbool.h>
#include <bpf/bpf_core_read.h>

/* include/uapi/linux/magic.h */
#define TMPFS_MAGIC      0x01021994
#define HUGETLBFS_MAGIC  0x958458f6
/* include/linux/fs.h: the superblock of a kern_mount(), where memfds live; never one a user mounted. */
#define SB_KERNMOUNT     (1UL << 22)
/* memfd_create(2) names every memfd "memfd:" + the caller's name (mm/memfd.c). */
#define MEMFD_PREFIX     "memfd:"
#define MEMFD_PREFIX_LEN (sizeof(MEMFD_PREFIX) - 1)

static __always_inline bool has_prefix(const char *name, const char *prefix, int prefix_len)
{
	for (int i = 0; i < prefix_len; i++) {
		if (name[i] != prefix[i])
			return false;
	}
	return true;
}

/*
 * A memfd is a pseudo file: on the kernel's internal tmpfs mount (hugetlbfs
 * with MFD_HUGETLB), a kern_mount() superblock no process can mount or
 * create a file on by path; its dentry is its own parent, never in a
 * directory; it is never linked; and it is named "memfd:NAME". The name
 * alone proves nothing: an unlinked /dev/shm/memfd:x has that name, nlink 0
 * and a tmpfs superblock too, but its tmpfs was mounted by user space and its
 * parent is the /dev/shm directory.
 *
 * Reads go through BPF_CORE_READ so that file may be a pointer the verifier
 * trusts (a tp_btf argument) or one read from kernel memory (an fd table).
 */
static __always_inline bool is_memfd_file(struct file *file)
{
	struct dentry *dentry;
	struct super_block *sb;
	char name[MEMFD_PREFIX_LEN];
	unsigned long magic;

	if (!file)
		return false;
	dentry = BPF_CORE_READ(file, f_path.dentry);
	sb = BPF_CORE_READ(dentry, d_sb);
	magic = BPF_CORE_READ(sb, s_magic);
	if (magic != TMPFS_MAGIC && magic != HUGETLBFS_MAGIC)
		return false;
	if (!(BPF_CORE_READ(sb, s_flags) & SB_KERNMOUNT))
		return false;
	if (BPF_CORE_READ(dentry, d_parent) != dentry || BPF_CORE_READ(dentry, d_inode, i_nlink) != 0)
		return false;
	if (bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(dentry, d_name.name)))
		return false;
	return has_prefix(name, MEMFD_PREFIX, MEMFD_PREFIX_LEN);
}

/* The file behind fd in task's fd table, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *task, __u64 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file *file = NULL;
	struct file **fds;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	/* fd[] is an array of pointers the verifier will not index directly. */
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

#endif /* MEMFD_EXPORTER_MEMFD_FILE_BPF_H */
