/*
 * Load generator for scripts/bench.sh. Every mode names the calling thread
 * COMM first (prctl), so the exporter's per-comm count of this run can be
 * checked exactly, and prints one line of key=value pairs.
 *
 *   loadgen latency memfd|getpid|mmap|mprotect|mmapexec|memfdexec CALLS CHUNKS COMM
 *       One thread makes CALLS calls in CHUNKS equal chunks (memfd: memfd_create
 *       + close; mmap: mmap + munmap of one anonymous read-write page;
 *       mprotect: one page toggled between PROT_READ and PROT_READ|PROT_WRITE;
 *       mmapexec: mmap + munmap of one anonymous PROT_READ|PROT_EXEC page;
 *       memfdexec: the same of one page of a memfd, each one an executable
 *       memfd mapping the exporter counts), after a tenth of a chunk to warm
 *       up, and reports the median,
 *       min and max over chunks of the thread's CPU time per call: CPU time
 *       leaves out the time other work on a shared machine preempts us for,
 *       the median chunk the caches it spoils. made= counts every call.
 *   loadgen throughput PROCESSES CALLS COMM
 *       PROCESSES processes, released together, each make CALLS memfd_create +
 *       close calls as fast as they can; reports the calls and calls/s overall.
 *   loadgen comms N PREFIX
 *       One thread renames itself PREFIX0000000, PREFIX0000001, ... and makes one
 *       memfd_create call under each of N names: fills the per-comm maps.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void set_comm(const char *comm)
{
	if (prctl(PR_SET_NAME, comm) != 0)
		die("prctl(PR_SET_NAME)");
}

static long long clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* One memfd_create + close; the raw syscall so no libc wrapper differs between hosts. */
static void memfd_call(void)
{
	int fd = syscall(SYS_memfd_create, "bench", MFD_CLOEXEC);

	if (fd < 0)
		die("memfd_create");
	close(fd);
}

static void getpid_call(void)
{
	/* The raw syscall: glibc no longer caches getpid, but make sure. */
	syscall(SYS_getpid);
}

static void *page; /* mprotect's page */
static int code_memfd = -1; /* memfdexec's memfd */

static void map_and_unmap(int prot, int flags, int fd)
{
	void *p = mmap(NULL, 4096, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	if (munmap(p, 4096) != 0)
		die("munmap");
}

static void mmap_call(void)
{
	map_and_unmap(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
}

static void mmapexec_call(void)
{
	map_and_unmap(PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1);
}

static void memfdexec_call(void)
{
	map_and_unmap(PROT_READ | PROT_EXEC, MAP_PRIVATE, code_memfd);
}

/* One call per toggle: alternately PROT_READ and PROT_READ|PROT_WRITE. */
static void mprotect_call(void)
{
	static int writable;

	writable = !writable;
	if (mprotect(page, 4096, writable ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
		die("mprotect");
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int latency(const char *what, long calls, int chunks, const char *comm)
{
	static const struct {
		const char *name;
		void (*call)(void);
	} calls_by_name[] = {
		{"memfd", memfd_call}, {"getpid", getpid_call}, {"mmap", mmap_call}, {"mprotect", mprotect_call},
		{"mmapexec", mmapexec_call}, {"memfdexec", memfdexec_call},
	};
	void (*call)(void) = NULL;
	long per_chunk = calls / chunks;
	double *ns = calloc(chunks, sizeof(*ns));

	for (size_t i = 0; i < sizeof(calls_by_name) / sizeof(calls_by_name[0]); i++) {
		if (strcmp(what, calls_by_name[i].name) == 0)
			call = calls_by_name[i].call;
	}
	if (!ns || per_chunk < 1 || !call)
		die("latency: bad arguments");
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	code_memfd = syscall(SYS_memfd_create, "bench", MFD_CLOEXEC);
	if (page == MAP_FAILED || code_memfd < 0 || ftruncate(code_memfd, 4096) != 0)
		die("latency: setup");
	set_comm(comm);
	for (long i = 0; i < per_chunk / 10 + 1; i++) /* warm the caches and the fd table */
		call();
	for (int c = 0; c < chunks; c++) {
		long long start = clock_ns(CLOCK_THREAD_CPUTIME_ID);

		for (long i = 0; i < per_chunk; i++)
			call();
		ns[c] = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - start) / per_chunk;
	}
	qsort(ns, chunks, sizeof(*ns), compare_doubles);
	printf("mode=latency call=%s timed=%ld made=%ld ns_median=%.1f ns_min=%.1f ns_max=%.1f\n", what,
	       per_chunk * chunks, per_chunk * chunks + per_chunk / 10 + 1, ns[chunks / 2], ns[0], ns[chunks - 1]);
	return 0;
}

static int throughput(int processes, long calls, const char *comm)
{
	int go[2];
	long long start;
	int failed = 0;

	if (processes < 1 || calls < 1 || pipe(go) != 0)
		die("throughput: bad arguments");
	for (int p = 0; p < processes; p++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			char byte;

			close(go[1]);
			set_comm(comm);
			if (read(go[0], &byte, 1) != 0) /* EOF: released */
				_exit(2);
			for (long i = 0; i < calls; i++)
				memfd_call();
			_exit(0);
		}
	}
	close(go[0]);
	usleep(100000); /* let every child reach read() */
	start = now_ns();
	close(go[1]);
	for (int p = 0; p < processes; p++) {
		int status;

		if (wait(&status) < 0)
			die("wait");
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	if (failed) {
		fprintf(stderr, "throughput: a child failed\n");
		return 1;
	}
	double seconds = (now_ns() - start) / 1e9;
	printf("mode=throughput processes=%d calls=%ld seconds=%.3f calls_per_second=%.0f\n", processes,
	       calls * processes, seconds, calls * processes / seconds);
	return 0;
}

static int comms(long n, const char *prefix)
{
	char comm[16];

	if (n < 1 || n > 10000000 || strlen(prefix) > 7)
		die("comms: N in 1..10^7, PREFIX at most 7 bytes");
	for (long i = 0; i < n; i++) {
		snprintf(comm, sizeof(comm), "%s%07ld", prefix, i);
		set_comm(comm);
		memfd_call();
	}
	printf("mode=comms calls=%ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && strcmp(argv[1], "latency") == 0)
		return latency(argv[2], atol(argv[3]), atoi(argv[4]), argv[5]);
	if (argc == 5 && strcmp(argv[1], "throughput") == 0)
		return throughput(atoi(argv[2]), atol(argv[3]), argv[4]);
	if (argc == 4 && strcmp(argv[1], "comms") == 0)
		return comms(atol(argv[2]), argv[3]);
	fprintf(stderr, "usage: loadgen latency memfd|getpid|mmap|mprotect|mmapexec|memfdexec CALLS CHUNKS COMM\n"
			"       loadgen throughput PROCESSES CALLS COMM\n"
			"       loadgen comms N PREFIX\n");
	return 2;
}
