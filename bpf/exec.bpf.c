// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Counts executions of memfds ("fileless" execution), per comm of the thread
 * that called execve/execveat, memfd name kind, and whether the memfd was the
 * executable or a script handed to an interpreter (interpreted_memfd()).
 *
 * The loader attaches one of two sets of programs (ExecProbe.CommSource):
 *
 * - Linux >= 6.10: sched_prepare_exec alone. It runs in the calling thread
 *   once the exec is committed, before exec renames the task, so the file and
 *   the caller's comm are both at hand, for 32-bit compat execs too.
 *
 * - Older kernels: sched_process_exec sees the file being executed, but exec
 *   has already renamed the task by then ("3" for execv("/proc/self/fd/3")).
 *   So the caller's comm is stashed per thread id when execve/execveat is
 *   entered and read back by the tracepoint's old_pid: the thread id before
 *   exec, which differs from the current one when a non-leader thread execs.
 *   Every exec removes its stash entry: a successful one in
 *   sched_process_exec, a failed one when the syscall returns. The price: a
 *   sys_enter tracepoint makes every syscall of every process pay a second
 *   dispatch (BENCHMARKS.md), and 32-bit compat execs, which syscall
 *   tracepoints do not see, are counted with an unknown comm.
 *
 * A memfd's name is chosen by whoever creates it, so a name alone proves
 * nothing: the "runc" kind also needs evidence about the caller that only a
 * privileged process can arrange (caller_is_runc()). It is read from the
 * caller as it is before exec replaces it: at sched_prepare_exec directly,
 * on older kernels at sys_enter_execve{,at}, stashed with the comm, because
 * sched_process_exec runs once the caller's creds and memory map are gone.
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

/* include/uapi/linux/magic.h */
#define FUSE_SUPER_MAGIC 0x65735546
/* The name runc gives the memfd it copies itself into. */
#define RUNC_PREFIX      MEMFD_PREFIX "runc_cloned:"
/* The file name runc is installed under (Debian: /usr/sbin/runc; Docker, containerd: /usr/bin/runc). */
#define RUNC_EXE         "runc"
/* include/uapi/linux/stat.h */
#define S_IWGRP          00020
#define S_IWOTH          00002

/* exec_comm_stash value: what sched_process_exec can no longer learn about the caller. */
struct exec_caller {
	struct comm_key comm;
	__u32 is_runc; /* caller_is_runc() */
	__u32 pad;
};

/*
 * Threads inside execve/execveat (older kernels only, see above). LRU: an entry whose exec never reported
 * back (the exporter attached mid-exec) is evicted rather than kept forever.
 * Its size bounds concurrent execs, not comms.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct exec_caller);
} exec_comm_stash SEC(".maps");

/* Executions per comm, name kind and way: a slot table (struct slot_table in memfd.h). */
SLOT_TABLE(exec, struct exec_key);
SLOT_COUNTS(execs_by_slot);

/* Executions of memfds per cgroup v2 id of the executing process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGROUP_MAP_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} execs_by_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_totals);
} exec_totals SEC(".maps");

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/*
 * Whether the calling thread is a runc that root started, judged only by
 * what the kernel knows and an unprivileged caller cannot set:
 *
 * - its effective uid is the host's root (a kuid: root inside a user
 *   namespace that an unprivileged user made maps to that user's uid) and it
 *   is in the initial pid namespace (runc clones itself before it enters the
 *   container's namespaces; a process inside a container is not). Without
 *   this, any user could run the real runc binary with LD_PRELOAD, or under
 *   ptrace, and make it execute a memfd of their choosing;
 * - the file its memory map was executed from is named "runc", belongs to the
 *   host's root, is writable by nobody else, and is not on FUSE (whose server,
 *   any user, says what owner a file has). A user cannot make such a file. (A
 *   user can point their exe link at the real runc with prctl PR_SET_MM_MAP
 *   inside a user namespace of their own, but their kernel uid stays theirs.)
 *
 * Root on the host can forge all of it; root is not what this defends against.
 * A container's root (the host's uid 0 when there is no user namespace) can
 * make a root-owned file named runc in its own file system: against it, the
 * pid namespace check is what holds (unless the container shares the host's).
 */
static __always_inline bool caller_is_runc(struct task_struct *task)
{
	struct mm_struct *mm = task->mm;
	struct inode *inode;
	struct file *exe;
	char name[sizeof(RUNC_EXE) + 1] = {};

	if (task->cred->euid.val != 0 || task->thread_pid->level != 0)
		return false;
	if (!mm) /* a kernel thread */
		return false;
	exe = mm->exe_file;
	if (!exe)
		return false;
	inode = exe->f_inode;
	if (inode->i_uid.val != 0 || (inode->i_mode & (S_IWGRP | S_IWOTH)))
		return false;
	if (inode->i_sb->s_magic == FUSE_SUPER_MAGIC)
		return false;
	/* The whole name: sizeof(RUNC_EXE) bytes read, "runc" and its NUL, and not one more. */
	if (bpf_probe_read_kernel_str(name, sizeof(name), exe->f_path.dentry->d_name.name) != sizeof(RUNC_EXE))
		return false;
	return has_prefix(name, RUNC_EXE, sizeof(RUNC_EXE) - 1);
}

static __always_inline void stash_caller(void)
{
	struct exec_caller caller = {};
	__u32 tid = current_tid();

	bpf_get_current_comm(caller.comm.comm, sizeof(caller.comm.comm));
	caller.is_runc = caller_is_runc(bpf_get_current_task_btf());
	/* Cannot fail on an LRU map: the least recently used entry makes room. */
	bpf_map_update_elem(&exec_comm_stash, &tid, &caller, BPF_ANY);
}

static __always_inline void unstash_failed(long ret)
{
	__u32 tid;

	if (ret >= 0) /* success: sched_process_exec has removed the entry */
		return;
	tid = current_tid();
	bpf_map_delete_elem(&exec_comm_stash, &tid);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	stash_caller();
	return 0;
}

/* fexecve(3) is execveat(fd, "", ..., AT_EMPTY_PATH). */
SEC("tracepoint/syscalls/sys_enter_execveat")
int sys_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	stash_caller();
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	unstash_failed(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int sys_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	unstash_failed(ctx->ret);
	return 0;
}

/*
 * MEMFD_NAME_KIND_* when file is a memfd, else -1: RUNC when runc's name for
 * its clone comes with the evidence of caller_is_runc(), OTHER otherwise.
 */
static __always_inline int memfd_name_kind(struct file *file, bool caller_is_runc)
{
	char name[sizeof(RUNC_PREFIX)] = {};

	if (!is_memfd_file(file))
		return -1;
	if (caller_is_runc && bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name)) > 0 &&
	    has_prefix(name, RUNC_PREFIX, sizeof(RUNC_PREFIX) - 1))
		return MEMFD_NAME_KIND_RUNC;
	return MEMFD_NAME_KIND_OTHER;
}

/* The paths through which a process reaches its own fd N. */
#define DEV_FD          "/dev/fd/"
#define PROC_SELF_FD    "/proc/self/fd/"
#define PROC_THREAD_FD  "/proc/thread-self/fd/"
#define FD_DIGITS_MAX   10
#define FD_PATH_MAX     (sizeof(PROC_THREAD_FD) + FD_DIGITS_MAX)

/* The number that ends a path at digits (up to its NUL), or -1. */
static __always_inline long fd_number(const char *digits)
{
	long fd = 0;

	for (int i = 0; i < FD_DIGITS_MAX; i++) {
		char c = digits[i];

		if (c == 0)
			return i > 0 ? fd : -1;
		if (c < '0' || c > '9')
			return -1;
		fd = fd * 10 + (c - '0');
	}
	return -1;
}

/* N when path is DEV_FD "N", PROC_SELF_FD "N" or PROC_THREAD_FD "N", else -1. */
static __always_inline long fd_of_path(const char *kernel_path)
{
	char path[FD_PATH_MAX] = {};

	if (bpf_probe_read_kernel_str(path, sizeof(path), kernel_path) <= 0)
		return -1;
	if (has_prefix(path, DEV_FD, sizeof(DEV_FD) - 1))
		return fd_number(path + sizeof(DEV_FD) - 1);
	if (has_prefix(path, PROC_SELF_FD, sizeof(PROC_SELF_FD) - 1))
		return fd_number(path + sizeof(PROC_SELF_FD) - 1);
	if (has_prefix(path, PROC_THREAD_FD, sizeof(PROC_THREAD_FD) - 1))
		return fd_number(path + sizeof(PROC_THREAD_FD) - 1);
	return -1;
}

/* Whether fd is marked close-on-exec in task's fd table. */
static __always_inline bool is_close_on_exec(struct task_struct *task, __u64 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	unsigned long *bits = BPF_CORE_READ(fdt, close_on_exec);
	unsigned long word = 0;

	bpf_probe_read_kernel(&word, sizeof(word), &bits[fd / 64]);
	return word & (1UL << (fd % 64));
}

/*
 * The memfd a binfmt handler gave to an interpreter in this exec, or NULL.
 * By then bprm->file is the interpreter and the script's own file has been
 * released (fs/binfmt_script.c load_script), so the evidence is:
 *
 * - bprm->interp no longer is bprm->filename: a handler replaced it
 *   (bprm_change_interp()) and passes bprm->filename to the interpreter, which
 *   opens it after exec;
 * - bprm->filename names one of the caller's own fds: "/dev/fd/N", which the
 *   kernel writes itself for execveat(N, "", AT_EMPTY_PATH) and fexecve(3)
 *   (fs/exec.c alloc_bprm), or "/proc/self/fd/N", "/proc/thread-self/fd/N",
 *   "/dev/fd/N" as given to execve;
 * - fd N of the task is a memfd and is not close-on-exec: it is the file the
 *   interpreter will open. (A close-on-exec one is gone when it tries; the
 *   kernel refuses such an execveat with ENOENT itself.) At sched_process_exec
 *   the fd table is the new program's, at sched_prepare_exec still the
 *   caller's, before exec unshares it and closes the close-on-exec fds.
 *
 * binfmt_misc's "O" (open-binary) handlers instead pass the file itself to
 * the interpreter as an fd: bprm->executable.
 */
static __always_inline struct file *interpreted_memfd(struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *executable = BPF_CORE_READ(bprm, executable);
	const char *filename = BPF_CORE_READ(bprm, filename);
	struct file *file;
	long fd;

	if (is_memfd_file(executable))
		return executable;
	if (BPF_CORE_READ(bprm, interp) == filename)
		return NULL;
	fd = fd_of_path(filename);
	if (fd < 0)
		return NULL;
	file = fd_file(task, fd); /* NULL unless fd < max_fds, which bounds is_close_on_exec()'s read too */
	if (!is_memfd_file(file) || is_close_on_exec(task, fd))
		return NULL;
	return file;
}

/*
 * Fills key->name_kind and key->via when this exec runs a memfd, as the
 * executable or through an interpreter; returns false otherwise.
 */
static __always_inline bool exec_of_memfd(struct linux_binprm *bprm, bool caller_is_runc, struct exec_key *key)
{
	struct file *script;
	int kind = memfd_name_kind(BPF_CORE_READ(bprm, file), caller_is_runc);

	if (kind >= 0) {
		key->name_kind = kind;
		key->via = EXEC_VIA_BINARY;
		return true;
	}
	script = interpreted_memfd(bprm);
	if (!script)
		return false;
	key->name_kind = memfd_name_kind(script, caller_is_runc);
	key->via = EXEC_VIA_INTERPRETER;
	return true;
}

static __always_inline void count_exec(struct exec_key *key)
{
	struct exec_totals *total;
	__u32 zero = 0;

	total = bpf_map_lookup_elem(&exec_totals, &zero);
	if (!total) /* cannot happen: a per-CPU array always has index 0 */
		return;
	__sync_fetch_and_add(&total->execs, 1);
	if (!INCREMENT_SLOT(exec, execs_by_slot, key))
		__sync_fetch_and_add(&total->unrecorded, 1);
	add_to_cgroup(&execs_by_cgroup, bpf_get_current_cgroup_id(), 1, &total->removed_cgroup, &total->unrecorded_cgroup);
}

/* A cgroup v2 directory was removed: its slot in execs_by_cgroup is free again (cgroup.bpf.h). */
SEC("tracepoint/cgroup/cgroup_rmdir")
int exec_cgroup_rmdir(struct trace_event_raw_cgroup *ctx)
{
	struct exec_totals *total;
	__u32 zero = 0;

	total = bpf_map_lookup_elem(&exec_totals, &zero);
	if (total && ctx->root == CGROUP2_HIERARCHY)
		retire_cgroup(&execs_by_cgroup, ctx->id, &total->removed_cgroup);
	return 0;
}

SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(sched_prepare_exec, struct task_struct *task, struct linux_binprm *bprm)
{
	struct exec_key key = {};

	/* The exec is committed but nothing is replaced yet: current still has the caller's creds and mm. */
	if (!exec_of_memfd(bprm, caller_is_runc(bpf_get_current_task_btf()), &key))
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.comm_known = 1;
	count_exec(&key);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_key key = {};
	struct exec_caller *caller;
	__u32 tid = old_pid;

	/* No stash entry (a 32-bit compat exec): nothing vouches for the caller. */
	caller = bpf_map_lookup_elem(&exec_comm_stash, &tid);
	if (exec_of_memfd(bprm, caller && caller->is_runc, &key)) {
		if (caller) {
			__builtin_memcpy(key.comm, caller->comm.comm, sizeof(key.comm));
			key.comm_known = 1;
		}
		count_exec(&key);
	}
	if (caller)
		bpf_map_delete_elem(&exec_comm_stash, &tid);
	return 0;
}
