/*
 * tail_stamp - stamp each line of evt-tail's output with its arrival time,
 * for bench/tail.sh.
 *
 *   evt-tail ... | tail_stamp
 *
 * Reads stdin with read(2), no stdio buffering, and takes CLOCK_MONOTONIC
 * right after the read that completed a line. For each line prints
 * "I ARRIVAL" (nanoseconds), I being the event's "i" member (0 when the line
 * has none, as the readiness markers of the script), and flushes at once so
 * the script can watch the file. Ends at end of input.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
stamp(const char *line, long long arrival)
{
	const char *p = strstr(line, "\"i\":");

	printf("%ld %lld\n", p ? strtol(p + 4, NULL, 10) : 0L, arrival);
	fflush(stdout);
}

int
main(void)
{
	static char buf[1 << 20];
	size_t len = 0;

	for (;;) {
		ssize_t n = read(0, buf + len, sizeof buf - 1 - len);
		long long t;
		char *start, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("tail_stamp: read");
			return 1;
		}
		if (n == 0)
			break;
		t = now_ns();
		len += (size_t)n;
		buf[len] = '\0';
		start = buf;
		while ((nl = strchr(start, '\n')) != NULL) {
			*nl = '\0';
			stamp(start, t);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof buf - 1) {
			fprintf(stderr, "tail_stamp: line too long\n");
			return 1;
		}
	}
	if (ferror(stdout)) {
		fprintf(stderr, "tail_stamp: write error\n");
		return 1;
	}
	return 0;
}
