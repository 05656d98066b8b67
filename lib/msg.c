/* msg.c - the program's name, its messages on stderr, the end of stdout */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

const char *evt_prog = "evt";

static void vwarn(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", evt_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void evt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void evt_warn_msg(const char *msg)
{
	evt_warn("%s", msg);
}

int evt_fail(const struct evt_err *e)
{
	evt_warn("%s", e->msg);
	return e->code ? e->code : EVT_EFAIL;
}

int evt_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	return EVT_EUSAGE;
}

void evt_cli_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

int evt_flush_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	if (errno == EPIPE)
		return 0;	/* the reader has gone: not a failure */
	evt_warn("write error: %s", strerror(errno));
	return EVT_EFAIL;
}
