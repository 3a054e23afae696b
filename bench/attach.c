/*
 * Holds BPF state for scripts/bench.sh until its stdin closes (or it is
 * killed), so nothing outlives the benchmark: the kernel detaches the
 * programs and drops the stats reference with the process's fds.
 *
 *   attach --stats                 BPF run-time stats on (bpf_enable_stats), like
 *                                  kernel.bpf_stats_enabled=1 but restored on exit
 *   attach OBJECT PROGRAM...       load OBJECT, attach the named programs as their
 *                                  SEC() names say
 *
 * Prints "ready" once everything is in place.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int hold(void)
{
	char buffer[64];

	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buffer, sizeof(buffer)) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *object;

	if (argc == 2 && strcmp(argv[1], "--stats") == 0) {
		int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

		if (fd < 0) {
			fprintf(stderr, "bpf_enable_stats: %s\n", strerror(-fd));
			return 1;
		}
		return hold();
	}
	if (argc < 3) {
		fprintf(stderr, "usage: attach --stats | attach OBJECT PROGRAM...\n");
		return 2;
	}
	object = bpf_object__open_file(argv[1], NULL);
	if (!object || bpf_object__load(object) != 0) {
		fprintf(stderr, "loading %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		struct bpf_program *program = bpf_object__find_program_by_name(object, argv[i]);

		if (!program || !bpf_program__attach(program)) {
			fprintf(stderr, "attaching %s: %s\n", argv[i], program ? strerror(errno) : "no such program");
			return 1;
		}
	}
	return hold();
}
