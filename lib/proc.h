/* proc.h - child processes: the one module that spawns
 *
 * Programs are started with posix_spawn (or fork+exec with only
 * async-signal-safe calls in the child), from an argv array: event data
 * never becomes part of a command line.  A COMMAND string given by the user
 * runs as argv {"/bin/sh", "-c", COMMAND}.  Every descriptor evt opens is
 * O_CLOEXEC, so a child inherits only 0, 1 and 2.
 */
#ifndef EVT_PROC_H
#define EVT_PROC_H

#include <signal.h>
#include <sys/types.h>
#include "util.h"

struct evt_child {
	pid_t pid;
	int in;		/* write end of the child's stdin pipe, or -1 */
	int out;	/* read end of the child's stdout pipe, or -1 */
	const char *name;	/* for messages: argv[0] or the COMMAND */
	int err;		/* why evt_spawn failed (errno), or 0 */
	int group;		/* it leads a process group of its own */
};

struct evt_spawn {
	char *const *argv;	/* argv[0] is looked up in PATH when it has
				   no '/' */
	char *const *env_add;	/* "NAME=VALUE" entries set in the child's
				   environment on top of ours, or NULL */
	int pipe_in;		/* give the child a pipe as stdin (else it
				   inherits ours) */
	int pipe_out;		/* give it a pipe as stdout (else it
				   inherits ours) */
	int group;		/* start it in a process group of its own,
				   so that a timeout reaches what it
				   started too (as timeout(1)) */
};

/* A signal the terminal sent to our process group (SIGINT from Ctrl-C),
 * set by the signal handler of the program: a child that leads a group of
 * its own would not get it, so evt_child_wait passes it on. */
extern volatile sig_atomic_t evt_child_forward;

/* The file that execvp(3) would run for name into path: 0, or ENOENT when
 * there is none, EACCES when the only ones are not executable. */
int evt_find_program(const char *name, struct evt_buf *path);

/* 1 if the file at path is a script whose #! line ends in CR. */
int evt_crlf_script(const char *path);

/* Start a child.  A program that is not found or not executable is
 * EVT_EPROG with "cannot run 'x': not found" / "...: Permission denied". */
int evt_spawn(const struct evt_spawn *sp, struct evt_child *c,
	      struct evt_err *e);

/* Write all of buf to the child's stdin; EPIPE (the child stopped reading)
 * is not an error here: the exit status tells.  This, like
 * evt_child_pipe, counts on SIGPIPE being ignored, as every program does
 * from its start (evt_cli_sigpipe). */
int evt_child_write(struct evt_child *c, const char *buf, size_t n,
		    struct evt_err *e);
/* The same, giving up when evt_mono_ms() reaches deadline (< 0: never):
 * then *late is set and the rest of buf is not written. */
int evt_child_write_until(struct evt_child *c, const char *buf, size_t n,
			  int64_t deadline, int *late, struct evt_err *e);
void evt_child_close_in(struct evt_child *c);

/* Write in (inlen bytes) to the child's stdin while reading its stdout
 * into out, both at once (as git's pipe_command): a child may print before
 * it has read all of its input, and neither side blocks the other however
 * much either says.  Its stdin is closed when all of in is written or when
 * the child stops reading (EPIPE: its exit status tells).  Returns at the
 * end of its stdout, or when evt_mono_ms() reaches deadline (< 0: never):
 * then *late is set.  Both pipes are closed on return; evt_child_wait
 * next.  note, when given, is told once "waiting for 'NAME' to exit" when
 * the child takes EVT_NOTE_MS. */
int evt_child_pipe(struct evt_child *c, const char *in, size_t inlen,
		   struct evt_buf *out, int64_t deadline,
		   void (*note)(const char *msg), int *late,
		   struct evt_err *e);

/* The milliseconds from now to deadline, as evt_child_wait takes them:
 * -1 when deadline < 0 (none), 0 when it has passed. */
int evt_ms_until(int64_t deadline);

/* Wait for the child to end.  timeout_ms < 0: no limit; when it passes the
 * child gets SIGTERM, then SIGKILL after kill_ms more (its whole process
 * group when it leads one).  *status is the waitpid status; *timed_out
 * says whether the timeout struck.  Retries on EINTR.  A child leading a
 * group is waited for with SIGINT and SIGTERM let through, and is passed
 * evt_child_forward. */
int evt_child_wait(struct evt_child *c, int timeout_ms, int kill_ms,
		   int *status, int *timed_out, struct evt_err *e);

/* "exited with status 3", "was killed by signal 9 (Killed)", or
 * "timed out after 5 s" into buf; returns buf. */
const char *evt_status_str(int status, int timed_out, int timeout_ms,
			   char *buf, size_t size);

/* The same for a shell command (sh -c): a script it names whose #! line
 * ends in CR, which sh reports as not found (127), is said so. */
const char *evt_shell_status_str(int status, int timed_out, int timeout_ms,
				 const char *command, char *buf, size_t size);

/* A program past its --timeout gets SIGTERM, and SIGKILL this much later. */
#define EVT_KILL_MS 5000
/* On a terminal, a program silent this long is noted on stderr. */
#define EVT_NOTE_MS 3000

#endif
