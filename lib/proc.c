/* proc.c - child processes: the one module that spawns */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

extern char **environ;

volatile sig_atomic_t evt_child_forward;

/* environ with the "NAME=VALUE" entries of add replacing or added. */
static char **make_env(char *const *add)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	env = evt_xmalloc((n + k + 1) * sizeof(*env));
	j = 0;
	for (i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		size_t a;

		for (a = 0; a < k; a++)
			if (strncmp(add[a], environ[i], len) == 0 &&
			    add[a][len] == '=')
				break;
		if (a == k)
			env[j++] = environ[i];
	}
	for (i = 0; i < k; i++)
		env[j++] = add[i];
	env[j] = NULL;
	return env;
}

int evt_crlf_script(const char *path)
{
	char line[256];
	ssize_t n;
	char *nl;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return 0;
	line[n] = '\0';
	nl = memchr(line, '\n', (size_t)n);
	return nl && nl[-1] == '\r';
}

/* A file that is there but whose exec says ENOENT names an interpreter
 * that is not: with CRLF line ends, "/bin/sh\r". */
static int spawn_failed(struct evt_child *c, const char *name, int rc,
			struct evt_buf *path, struct evt_err *e)
{
	int crlf = rc == ENOENT && path->len && evt_crlf_script(path->p);

	evt_buf_release(path);
	c->pid = -1;
	c->err = rc;
	if (crlf)
		return evt_errf(e, EVT_EPROG, "cannot run '%s': its #! line "
				"ends in CR (CRLF line ends)", name);
	return evt_errf(e, EVT_EPROG, "cannot run '%s': %s", name,
			rc == ENOENT ? "not found" :
			rc == EACCES ? "not executable" : strerror(rc));
}

/* 0 if path is a file we may execute, else why not, as execve says it. */
static int runnable(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return errno == ENOTDIR ? ENOENT : errno;
	if (!S_ISREG(sb.st_mode) || access(path, X_OK) < 0)
		return EACCES;
	return 0;
}

/* The file that execvp(3) would run for name, in path: 0, or ENOENT when
 * there is none, EACCES when the only ones are not executable.  Checked
 * here rather than learnt from posix_spawn, whose report of a failed exec
 * goes through memory shared with the child (not kept under valgrind). */
int evt_find_program(const char *name, struct evt_buf *path)
{
	const char *dirs = getenv("PATH"), *p, *end;
	int why = ENOENT, rc;

	evt_buf_reset(path);
	if (strchr(name, '/')) {
		evt_buf_addstr(path, name);
		return runnable(name);
	}
	if (!*name)
		return ENOENT;
	if (!dirs)
		dirs = "/bin:/usr/bin";
	for (p = dirs;; p = end + 1) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		evt_buf_reset(path);
		if (end > p) {
			evt_buf_add(path, p, (size_t)(end - p));
			evt_buf_add(path, "/", 1);
		}
		evt_buf_addstr(path, name);
		rc = runnable(path->p);
		if (rc == 0)
			return 0;
		if (rc == EACCES)
			why = EACCES;
		if (!*end)
			return why;
	}
}

int evt_spawn(const struct evt_spawn *sp, struct evt_child *c,
	      struct evt_err *e)
{
	struct evt_buf path = EVT_BUF_INIT;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 };
	char **env = NULL;
	int rc;

	c->pid = -1;
	c->in = c->out = -1;
	c->name = sp->argv[0];
	c->err = 0;
	c->group = sp->group;
	if ((rc = evt_find_program(sp->argv[0], &path)))
		return spawn_failed(c, sp->argv[0], rc, &path, e);
	if (sp->pipe_in && pipe2(inp, O_CLOEXEC) < 0)
		return evt_errf(e, EVT_EFAIL, "cannot make a pipe: %s",
				strerror(errno));
	if (sp->pipe_out && pipe2(outp, O_CLOEXEC) < 0) {
		rc = errno;
		if (inp[0] >= 0) {
			close(inp[0]);
			close(inp[1]);
		}
		return evt_errf(e, EVT_EFAIL, "cannot make a pipe: %s",
				strerror(rc));
	}
	posix_spawn_file_actions_init(&fa);
	if (inp[0] >= 0)
		posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
	if (outp[1] >= 0)
		posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	/* The child starts with no signals blocked and default SIGPIPE,
	 * SIGINT and SIGTERM, whatever evt does with them. */
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGCHLD);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
				      POSIX_SPAWN_SETSIGDEF |
				      (sp->group ? POSIX_SPAWN_SETPGROUP : 0));
	if (sp->group) {
		posix_spawnattr_setpgroup(&at, 0);
		evt_child_forward = 0;
	}
	if (sp->env_add)
		env = make_env(sp->env_add);
	rc = posix_spawn(&c->pid, path.p, &fa, &at, sp->argv,
			 env ? env : environ);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (inp[0] >= 0)
		close(inp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (rc) {
		if (inp[1] >= 0)
			close(inp[1]);
		if (outp[0] >= 0)
			close(outp[0]);
		return spawn_failed(c, sp->argv[0], rc, &path, e);
	}
	evt_buf_release(&path);
	c->in = inp[1];
	c->out = outp[0];
	return 0;
}

int evt_child_write_until(struct evt_child *c, const char *buf, size_t n,
			  int64_t deadline, int *late, struct evt_err *e)
{
	*late = 0;
	if (deadline >= 0)
		fcntl(c->in, F_SETFL, fcntl(c->in, F_GETFL) | O_NONBLOCK);
	while (n > 0) {
		ssize_t w = write(c->in, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				return 0;
			if (errno == EAGAIN && deadline >= 0) {
				struct pollfd p = { c->in, POLLOUT, 0 };
				int64_t left = deadline - evt_mono_ms();

				if (left <= 0) {
					*late = 1;
					return 0;
				}
				poll(&p, 1, left > 60000 ? 60000 : (int)left);
				continue;
			}
			return evt_errf(e, EVT_EFAIL, "cannot write to '%s': %s",
					c->name, strerror(errno));
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int evt_child_write(struct evt_child *c, const char *buf, size_t n,
		    struct evt_err *e)
{
	int late;

	return evt_child_write_until(c, buf, n, -1, &late, e);
}

void evt_child_close_in(struct evt_child *c)
{
	if (c->in >= 0) {
		close(c->in);
		c->in = -1;
	}
}

int evt_ms_until(int64_t deadline)
{
	int64_t left = deadline - evt_mono_ms();

	if (deadline < 0)
		return -1;
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* One write of what is left of in to the child's stdin, which is then
 * closed when all of in is written or when the child no longer reads. */
static void pipe_write(struct evt_child *c, const char *in, size_t inlen,
		       size_t *off)
{
	ssize_t w = write(c->in, in + *off, inlen - *off);

	if (w > 0)
		*off += (size_t)w;
	if ((w < 0 && errno != EAGAIN && errno != EINTR) || *off == inlen)
		evt_child_close_in(c);	/* EPIPE: it quit */
}

/* One read of the child's stdout into out; its end closes c->out. */
static int pipe_read(struct evt_child *c, struct evt_buf *out,
		     struct evt_err *e)
{
	ssize_t n;

	evt_buf_grow(out, 65536);
	n = read(c->out, out->p + out->len, out->cap - out->len - 1);
	if (n < 0 && errno != EINTR && errno != EAGAIN)
		return evt_errf(e, EVT_EFAIL, "cannot read from '%s': %s",
				c->name, strerror(errno));
	if (n == 0) {
		close(c->out);
		c->out = -1;
	} else if (n > 0) {
		out->len += (size_t)n;
		out->p[out->len] = '\0';
	}
	return 0;
}

int evt_child_pipe(struct evt_child *c, const char *in, size_t inlen,
		   struct evt_buf *out, int64_t deadline,
		   void (*note)(const char *msg), int *late,
		   struct evt_err *e)
{
	int64_t note_at = evt_mono_ms() + EVT_NOTE_MS;
	size_t off = 0;
	int rc = 0;

	*late = 0;
	if (c->in >= 0 && inlen == 0)
		evt_child_close_in(c);
	if (c->in >= 0)
		fcntl(c->in, F_SETFL, fcntl(c->in, F_GETFL) | O_NONBLOCK);
	while (c->out >= 0 && !rc) {
		struct pollfd p[2] = { { c->out, POLLIN, 0 },
				       { c->in, POLLOUT, 0 } };
		int64_t now = evt_mono_ms(), wait = -1;

		if (deadline >= 0) {
			if (now >= deadline) {
				*late = 1;
				break;
			}
			wait = deadline - now;
		}
		if (note) {
			if (now >= note_at) {
				char msg[300];

				snprintf(msg, sizeof(msg), "waiting for '%s' "
					 "to exit", c->name);
				note(msg);
				note = NULL;
				continue;
			}
			if (wait < 0 || note_at - now < wait)
				wait = note_at - now;
		}
		if (poll(p, c->in >= 0 ? 2 : 1, wait > INT_MAX ? INT_MAX :
			 (int)wait) < 0) {
			if (errno != EINTR)
				rc = evt_errf(e, EVT_EFAIL, "cannot poll: %s",
					      strerror(errno));
			continue;
		}
		if (c->in >= 0 && p[1].revents)
			pipe_write(c, in, inlen, &off);
		if (p[0].revents)
			rc = pipe_read(c, out, e);
	}
	evt_child_close_in(c);
	if (c->out >= 0) {
		close(c->out);
		c->out = -1;
	}
	return rc;
}

/* Sleep until the child ends or ms pass; 1 if it ended (status set), 0 if
 * not, -1 on error.  A pidfd wakes at once; without one (old kernels) the
 * child is polled with growing delays.  A child that leads a group is
 * waited for with SIGINT and SIGTERM let through (the program's handler
 * runs), and is passed evt_child_forward. */
static int reap_within(const struct evt_child *c, int ms, int *status)
{
	pid_t pid = c->pid;
	int64_t end = evt_mono_ms() + ms;
	int delay = 1;
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	sigset_t mask;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGTERM);
	if (fd >= 0) {
		for (;;) {
			struct pollfd p = { fd, POLLIN, 0 };
			int64_t left = end - evt_mono_ms();
			pid_t r = waitpid(pid, status, WNOHANG);
			struct timespec ts;

			if (r == pid || (r < 0 && errno != EINTR) || left <= 0) {
				close(fd);
				return r == pid ? 1 : r < 0 ? -1 : 0;
			}
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			ppoll(&p, 1, &ts, c->group ? &mask : NULL);
			if (c->group && evt_child_forward) {
				kill(-pid, evt_child_forward);
				evt_child_forward = 0;
			}
		}
	}
#endif
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		struct timespec ts;
		int64_t left;

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		left = end - evt_mono_ms();
		if (left <= 0)
			return 0;
		if (delay > left)
			delay = (int)left;
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = (long)(delay % 1000) * 1000000;
		nanosleep(&ts, NULL);
		if (delay < 50)
			delay *= 2;
	}
}

int evt_child_wait(struct evt_child *c, int timeout_ms, int kill_ms,
		   int *status, int *timed_out, struct evt_err *e)
{
	int r;

	*timed_out = 0;
	evt_child_close_in(c);
	if (c->pid < 0)
		return evt_errf(e, EVT_EFAIL, "no child to wait for");
	if (timeout_ms >= 0 || c->group) {
		r = reap_within(c, timeout_ms >= 0 ? timeout_ms : INT_MAX,
				status);
		while (r == 0 && timeout_ms < 0)
			r = reap_within(c, INT_MAX, status);
		if (r == 0) {
			*timed_out = 1;
			kill(c->group ? -c->pid : c->pid, SIGTERM);
			r = reap_within(c, kill_ms, status);
			if (r == 0) {
				kill(c->group ? -c->pid : c->pid, SIGKILL);
				r = -2;
			}
		}
		if (r == 1)
			goto done;
		if (r == -1)
			goto fail;
	}
	while (waitpid(c->pid, status, 0) < 0)
		if (errno != EINTR)
			goto fail;
done:
	c->pid = -1;
	if (c->out >= 0) {
		close(c->out);
		c->out = -1;
	}
	return 0;
fail:
	return evt_errf(e, EVT_EFAIL, "cannot wait for '%s': %s", c->name,
			strerror(errno));
}

const char *evt_status_str(int status, int timed_out, int timeout_ms,
			   char *buf, size_t size)
{
	if (timed_out)
		snprintf(buf, size, "timed out after %g s",
			 timeout_ms / 1000.0);
	else if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "ended with status %d", status);
	return buf;
}

/* 1 if the first word of the shell command names a script (by a path, or
 * found in PATH) whose #! line ends in CR. */
static int crlf_command(const char *command)
{
	struct evt_buf word = EVT_BUF_INIT, path = EVT_BUF_INIT;
	size_t n = strcspn(command, " \t\n;&|<>()");
	int crlf;

	evt_buf_add(&word, command, n);
	evt_buf_addstr(&word, "");
	crlf = n && evt_find_program(word.p, &path) == 0 &&
	       evt_crlf_script(path.p);
	evt_buf_release(&word);
	evt_buf_release(&path);
	return crlf;
}

const char *evt_shell_status_str(int status, int timed_out, int timeout_ms,
				 const char *command, char *buf, size_t size)
{
	size_t n;

	evt_status_str(status, timed_out, timeout_ms, buf, size);
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 127 &&
	    crlf_command(command) && (n = strlen(buf)) < size)
		snprintf(buf + n, size - n, " (its #! line ends in CR: "
			 "CRLF line ends)");
	return buf;
}
