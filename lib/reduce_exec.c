/* reduce_exec.c - the exec reducer: one co-process for the whole fold
 *
 * COMMAND runs once, by /bin/sh -c, at the first event.  Per event it reads
 * one line, {"event":..,"aggregate":..,"meta":..}, and answers one line:
 * the patch, an object or null.  evt writes a line, then reads the answer,
 * so neither side can block the other.  At the end its stdin is closed and
 * it must exit 0 without printing more.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "ndjson.h"
#include "proc.h"
#include "reduce.h"

struct execr {
	struct evt_reducer base;
	char *command;
	char *who;		/* "reducer 'COMMAND'" */
	struct evt_child c;
	int started;
	struct evt_lines out;
	struct evt_buf line, answer;
	int timeout_ms;		/* < 0: none */
	int64_t deadline;	/* evt_mono_ms() when it is stopped, or -1 */
	void (*note)(const char *msg);
	int noted;
};

static int spawn(struct execr *x, struct evt_err *e)
{
	char *argv[] = { "/bin/sh", "-c", x->command, NULL };
	struct evt_spawn sp = { .argv = argv, .pipe_in = 1, .pipe_out = 1 };
	int rc;

	if ((rc = evt_spawn(&sp, &x->c, e)))
		return rc;
	x->c.name = x->command;
	x->started = 1;
	x->deadline = x->timeout_ms >= 0 ? evt_mono_ms() + x->timeout_ms : -1;
	evt_lines_init(&x->out, x->c.out, x->command);
	return 0;
}

/* --timeout passed: stop the co-process (SIGTERM, SIGKILL later). */
static int stop(struct execr *x, struct evt_err *e)
{
	struct evt_err ignored;
	char how[128];
	int status, timed_out;

	evt_child_wait(&x->c, 0, EVT_KILL_MS, &status, &timed_out, &ignored);
	x->started = 0;
	return evt_errf(e, EVT_EPROG, "%s %s", x->who,
			evt_status_str(status, 1, x->timeout_ms, how,
				       sizeof(how)));
}

/* Wait until a whole answer line (or the end of its output) is there to
 * read, at most until the deadline; on a terminal, say so once when the
 * co-process keeps silent (a Python script without -u buffers its
 * answers). */
static int await(struct execr *x, int note, struct evt_err *e)
{
	int64_t note_at = evt_mono_ms() + EVT_NOTE_MS;

	while (!evt_lines_ready(&x->out)) {
		struct pollfd p = { x->c.out, POLLIN, 0 };
		int64_t now = evt_mono_ms(), wait = -1;
		int r;

		if (x->deadline >= 0) {
			if (now >= x->deadline)
				return stop(x, e);
			wait = x->deadline - now;
		}
		if (note && x->note && !x->noted) {
			if (now >= note_at) {
				char msg[sizeof(e->msg)];

				snprintf(msg, sizeof(msg), "waiting for %s (is "
					 "its output buffered?)", x->who);
				x->note(msg);
				x->noted = 1;
				continue;
			}
			if (wait < 0 || note_at - now < wait)
				wait = note_at - now;
		}
		r = poll(&p, 1, wait < 0 ? -1 : wait > INT_MAX ? INT_MAX :
			 (int)wait);
		if (r < 0 && errno != EINTR)
			return evt_errf(e, EVT_EFAIL, "cannot poll: %s",
					strerror(errno));
		if (r > 0 && evt_lines_fill(&x->out) < 0)
			return evt_errf(e, EVT_EFAIL, "cannot read from '%s': "
					"%s", x->command, strerror(errno));
	}
	return 0;
}

/* The co-process stopped answering: how it ended. */
static int ended(struct execr *x, struct evt_err *e)
{
	char how[128];
	int status, timed_out, rc;

	if ((rc = evt_child_wait(&x->c, evt_ms_until(x->deadline),
				 EVT_KILL_MS, &status, &timed_out, e)))
		return rc;
	x->started = 0;
	evt_shell_status_str(status, timed_out, x->timeout_ms, x->command,
			     how, sizeof(how));
	if (timed_out)
		return evt_errf(e, EVT_EPROG, "%s %s", x->who, how);
	return evt_errf(e, EVT_EPROG, "%s %s%s", x->who, how,
			status == 0 ? " before answering" : "");
}

static int exec_apply(struct evt_reducer *r, struct evt_agg *a,
		      const struct evt_record *ev, struct evt_err *e)
{
	struct execr *x = (struct execr *)r;
	const char *s, *why;
	size_t n, col;
	int got, rc, late;

	if (!x->started && (rc = spawn(x, e)))
		return rc;
	evt_buf_reset(&x->line);
	evt_buf_addstr(&x->line, "{\"event\":");
	evt_buf_add(&x->line, ev->event, ev->event_len);
	evt_buf_addstr(&x->line, ",\"aggregate\":");
	evt_agg_print(a, &x->line);
	evt_buf_addstr(&x->line, ",\"meta\":");
	evt_meta_print(&x->line, ev);
	evt_buf_add(&x->line, "}\n", 2);
	rc = evt_child_write_until(&x->c, x->line.p, x->line.len, x->deadline,
				   &late, e);
	if (rc)
		return rc;
	if (late)
		return stop(x, e);
	if ((x->deadline >= 0 || x->note) && (rc = await(x, 1, e)))
		return rc;
	got = evt_lines_next(&x->out, &s, &n);
	if (got < 0)
		return evt_errf(e, EVT_EFAIL, "cannot read from '%s': %s",
				x->command, strerror(errno));
	if (got == 0)
		return ended(x, e);
	evt_buf_reset(&x->answer);
	if (!n)
		return evt_errf(e, EVT_EINPUT, "%s answered an empty line",
				x->who);
	if (evt_json_compact(s, n, &x->answer, NULL, 0, &why, &col) ==
	    EVT_J_NONE)
		return evt_errf(e, EVT_EINPUT, "%s answered invalid JSON "
				"(column %zu: %s)", x->who, col, why);
	return evt_reducer_patch(a, x->answer.p, x->answer.len, x->who,
				 &r->tmp, e);
}

static int exec_finish(struct evt_reducer *r, struct evt_err *e)
{
	struct execr *x = (struct execr *)r;
	const char *s;
	char how[128];
	size_t n;
	int got, status, timed_out, rc, extra = 0;

	if (!x->started)
		return 0;
	evt_child_close_in(&x->c);
	do {
		if (x->deadline >= 0 && (rc = await(x, 0, e)))
			return rc;
		if ((got = evt_lines_next(&x->out, &s, &n)) > 0)
			extra = 1;
	} while (got > 0);
	if ((rc = evt_child_wait(&x->c, evt_ms_until(x->deadline),
				 EVT_KILL_MS, &status, &timed_out, e)))
		return rc;
	x->started = 0;
	if (timed_out)
		return evt_errf(e, EVT_EPROG, "%s %s", x->who,
				evt_status_str(status, 1, x->timeout_ms, how,
					       sizeof(how)));
	if (status != 0)
		return evt_errf(e, EVT_EPROG, "%s %s", x->who,
				evt_shell_status_str(status, 0, 0, x->command,
						     how, sizeof(how)));
	if (extra)
		return evt_errf(e, EVT_EINPUT, "%s answered more lines than "
				"it was given", x->who);
	return 0;
}

static void exec_free(struct evt_reducer *r)
{
	struct execr *x = (struct execr *)r;

	if (x->started) {
		struct evt_err e;
		int status, timed_out;

		/* A fold that failed: end the co-process, without waiting
		 * long for one that neither reads nor exits. */
		evt_child_close_in(&x->c);
		close(x->c.out);
		x->c.out = -1;
		evt_child_wait(&x->c, 1000, 1000, &status, &timed_out, &e);
	}
	evt_lines_release(&x->out);
	evt_buf_release(&x->line);
	evt_buf_release(&x->answer);
	free(x->command);
	free(x->who);
	free(x);
}

static const struct evt_reducer_ops exec_ops = {
	exec_apply, NULL, NULL, exec_finish, exec_free
};

/* Files a reducer script larger than this are known by their size and
 * modification time, not their contents (an interpreter named by path). */
#define HASH_MAX (1024 * 1024)

/* The hash of a file's contents into h; h unchanged if it cannot be
 * read. */
static uint64_t hash_file(uint64_t h, const char *path, const struct stat *sb)
{
	char buf[65536];
	ssize_t n;
	int fd;

	if (sb->st_size > HASH_MAX) {
		long long v[2] = { (long long)sb->st_size,
				   (long long)sb->st_mtime };

		return evt_fnv(h, v, sizeof(v));
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return h;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		h = evt_fnv(h, buf, (size_t)n);
	close(fd);
	return h;
}

/* What the reducer is, for snapshots: the command and the contents of
 * every word of it (split at blanks, one pair of quotes removed) that
 * names an existing file, such as the script of "python3 fold.py", and of
 * the program the first word finds in PATH ("myfold"): an edited script
 * does not resume from the snapshots of the old one.  A command that
 * names no file hashes as the command alone. */
static void name_exec(struct evt_reducer *r, const char *command)
{
	uint64_t h = evt_fnv(EVT_FNV0, command, strlen(command));
	const char *p = command;
	char word[4096];
	int first = 1;

	for (;;) {
		const char *start;
		size_t n;
		struct stat sb;

		p += strspn(p, " \t\n");
		if (!*p)
			break;
		start = p;
		p += strcspn(p, " \t\n");
		n = (size_t)(p - start);
		if (n >= 2 && (start[0] == '\'' || start[0] == '"') &&
		    start[n - 1] == start[0]) {
			start++;
			n -= 2;
		}
		if (!n || n >= sizeof(word))
			continue;
		memcpy(word, start, n);
		word[n] = '\0';
		if (first && !memchr(word, '/', n)) {
			struct evt_buf path = EVT_BUF_INIT;

			if (evt_find_program(word, &path) == 0 &&
			    stat(path.p, &sb) == 0) {
				h = evt_fnv(h, "", 1);
				h = evt_fnv(h, path.p, path.len + 1);
				h = hash_file(h, path.p, &sb);
			}
			evt_buf_release(&path);
		}
		first = 0;
		if (stat(word, &sb) == 0 && S_ISREG(sb.st_mode)) {
			h = evt_fnv(h, "", 1);
			h = evt_fnv(h, word, n + 1);
			h = hash_file(h, word, &sb);
		}
	}
	snprintf(r->what, sizeof(r->what), "exec:%016llx",
		 (unsigned long long)h);
}

struct evt_reducer *evt_reducer_exec(const char *command, int timeout_ms,
				     void (*note)(const char *msg))
{
	struct execr *x = evt_xmalloc(sizeof(*x));

	memset(x, 0, sizeof(*x));
	x->timeout_ms = timeout_ms;
	x->deadline = -1;
	x->note = note;
	x->base.ops = &exec_ops;
	name_exec(&x->base, command);
	x->command = evt_xstrdup(command);
	x->who = evt_xmalloc(strlen(command) + 12);
	sprintf(x->who, "reducer '%s'", command);
	x->c.pid = -1;
	x->c.in = x->c.out = -1;
	return &x->base;
}
