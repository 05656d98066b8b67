/* follow.c - follow the store: deliver each new record once, in order */
#include <poll.h>
#include <string.h>

#include "follow.h"
#include "proc.h"

#define SAFETY_MS 1000

static volatile sig_atomic_t *stop_flag;
static int out_fd = -1;

void evt_follow_output(int fd)
{
	out_fd = fd;
}

/* Has the reader of out_fd (a pipe, a socket, a terminal) gone?  On a pipe
 * whose reader closed, poll reports POLLERR to the writer. */
static int output_gone(void)
{
	struct pollfd p = { out_fd, 0, 0 };

	return out_fd >= 0 && poll(&p, 1, 0) == 1 &&
	       (p.revents & (POLLERR | POLLHUP)) != 0;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (stop_flag)
		*stop_flag = 1;
	/* Ctrl-C: the terminal signals our process group, which a program
	 * in a group of its own (evt-handle --timeout) is not in */
	if (sig == SIGINT && si && si->si_code == SI_KERNEL)
		evt_child_forward = sig;
}

void evt_follow_signals(volatile sig_atomic_t *flag)
{
	struct sigaction sa;
	sigset_t set;

	stop_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

struct pass {
	struct evt_query *q;
	evt_record_fn fn;
	void *ctx;
	volatile sig_atomic_t *stop;
	size_t got;
	int stopped;
};

static int deliver(void *ctx, const struct evt_record *r)
{
	struct pass *p = ctx;
	int rc = p->fn(p->ctx, r);

	if (rc && rc != EVT_STOP)
		return rc;
	p->q->after = r->position;
	p->got++;
	/* a signal ends a long catch-up too, between two records */
	if (rc == EVT_STOP || evt_follow_stopping(p->stop)) {
		p->stopped = 1;
		return EVT_STOP;
	}
	return 0;
}

int evt_follow_wait(struct evt_store *st, int *recheck, int found,
		    volatile sig_atomic_t *stop, struct evt_err *e)
{
	int64_t deadline;
	int timeout, rc;

	if (found) {
		*recheck = 1;
		return 0;
	}
	if (evt_follow_stopping(stop))
		return 0;
	timeout = *recheck > 0 ? *recheck : SAFETY_MS;
	deadline = evt_mono_ms() + timeout;
	if ((rc = evt_store_wait(st, timeout, e)))
		return rc;
	if (evt_mono_ms() < deadline)
		*recheck = 1;		/* woken: look, then again soon */
	else if (*recheck > 0 && *recheck < 64)
		*recheck *= 2;
	else
		*recheck = 0;
	return 0;
}

int evt_follow_stopping(volatile sig_atomic_t *stop)
{
	sigset_t pending;

	if (*stop)
		return 1;
	if (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 ||
					  sigismember(&pending, SIGTERM) == 1))
		*stop = 1;
	return *stop;
}

int evt_follow(struct evt_store *st, struct evt_query *q, evt_record_fn fn,
	       void *ctx, volatile sig_atomic_t *stop, struct evt_err *e)
{
	struct pass p = { q, fn, ctx, stop, 0, 0 };
	int recheck = 0;
	int rc;

	q->safe = 1;
	for (;;) {
		p.got = 0;
		if ((rc = evt_store_read(st, q, deliver, &p, e)))
			return rc;
		if (p.stopped || evt_follow_stopping(stop))
			return 0;
		if ((rc = evt_follow_wait(st, &recheck, p.got > 0, stop, e)))
			return rc;
		if (*stop || output_gone())
			return 0;
	}
}
