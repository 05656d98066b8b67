/*
 * tail_drive - append events one process at a time at a steady rate, for
 * bench/tail.sh.
 *
 *   tail_drive COUNT RATE EVT-APPEND DB
 *
 * Runs `EVT-APPEND -q -d DB bench a1 EVENT` COUNT times, starting a run every
 * 1/RATE s (RATE may have a fraction: 0.5 is one run every 2 s) on an absolute schedule (a late run does not push the later ones
 * back). EVENT is {"type":"t","i":I,"sent":NS}, NS being CLOCK_MONOTONIC in
 * nanoseconds just before the spawn. After waitpid the time is taken again:
 * the commit time, the moment evt-append is known to be done. Prints one line
 * per run on stdout, "I SENT COMMIT" (nanoseconds, CLOCK_MONOTONIC, which is
 * the same clock in every process of the machine). Exits 1 if a run fails.
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

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	long count, i;
	double rate;
	long long period, next;
	char *end, event[128];
	char *args[] = { argv[3], "-q", "-d", argv[4], "bench", "a1", event,
	    NULL };

	if (argc != 5) {
		fprintf(stderr, "usage: tail_drive COUNT RATE EVT-APPEND DB\n");
		return 2;
	}
	count = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || count < 1) {
		fprintf(stderr, "tail_drive: bad count '%s'\n", argv[1]);
		return 2;
	}
	rate = strtod(argv[2], &end);
	if (*argv[2] == '\0' || *end != '\0' || !(rate >= 0.01) ||
	    rate > 100000) {
		fprintf(stderr, "tail_drive: bad rate '%s'\n", argv[2]);
		return 2;
	}
	period = (long long)(1e9 / rate);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);

	next = now_ns();
	for (i = 1; i <= count; i++) {
		struct timespec ts;
		long long sent, commit;
		pid_t pid;
		int err, status;

		ts.tv_sec = (time_t)(next / 1000000000LL);
		ts.tv_nsec = (long)(next % 1000000000LL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR)
			;
		next += period;
		sent = now_ns();
		snprintf(event, sizeof event, "{\"type\":\"t\",\"i\":%ld,"
		    "\"sent\":%lld}", i, sent);
		err = posix_spawn(&pid, argv[3], &fa, NULL, args, environ);
		if (err != 0) {
			fprintf(stderr, "tail_drive: %s: %s\n", argv[3],
			    strerror(err));
			return 1;
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				perror("tail_drive: waitpid");
				return 1;
			}
		commit = now_ns();
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "tail_drive: evt-append failed at run "
			    "%ld\n", i);
			return 1;
		}
		printf("%ld %lld %lld\n", i, sent, commit);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("tail_drive: stdout");
		return 1;
	}
	return 0;
}
