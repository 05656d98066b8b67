/*
 * spawn - time COUNT runs of a command, one after another, for `make bench`.
 *
 *   spawn COUNT PROGRAM [ARG ...]
 *
 * Each run is timed with CLOCK_MONOTONIC from just before posix_spawn to just
 * after waitpid returns, so the figure includes process creation, exec,
 * dynamic linking and exit: what a shell script pays per invocation. The
 * command's stdin and stdout are /dev/null, its stderr is ours. Prints one line,
 * "MEDIAN P90 MEAN" in milliseconds; exits 1 if any run fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	double *ms, sum = 0;
	char *end;
	long n, i;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn COUNT PROGRAM [ARG ...]\n");
		return 2;
	}
	n = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || n < 1 || n > 10000000) {
		fprintf(stderr, "spawn: bad count '%s'\n", argv[1]);
		return 2;
	}
	if ((ms = malloc((size_t)n * sizeof *ms)) == NULL) {
		perror("spawn");
		return 1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);

	for (i = 0; i < n; i++) {
		struct timespec t0, t1;
		pid_t pid;
		int err, status;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ);
		if (err != 0) {
			fprintf(stderr, "spawn: %s: %s\n", argv[2], strerror(err));
			return 1;
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				perror("spawn: waitpid");
				return 1;
			}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (WIFSIGNALED(status))
				fprintf(stderr, "spawn: %s: killed by signal %d at run %ld\n",
				    argv[2], WTERMSIG(status), i + 1);
			else
				fprintf(stderr, "spawn: %s: exit status %d at run %ld\n",
				    argv[2], WEXITSTATUS(status), i + 1);
			return 1;
		}
		ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		sum += ms[i];
	}
	qsort(ms, (size_t)n, sizeof *ms, cmp);
	/* nearest-rank percentiles */
	printf("%.3f %.3f %.3f\n", ms[(n + 1) / 2 - 1],
	    ms[(9 * n + 9) / 10 - 1], sum / (double)n);
	return 0;
}
