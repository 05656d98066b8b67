/* cli.c - what every program's main shares: options, messages, exit */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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

int evt_cli_common(int c, int argc, char **argv, struct evt_store_opts *so,
		   const char *usage)
{
	const char *opt = optind > 0 && optind <= argc ? argv[optind - 1] : "";

	switch (c) {
	case 'd':
		so->url = optarg;
		return -2;
	case EVT_OPT_EVENTS_TABLE:
		so->events_table = optarg;
		return -2;
	case EVT_OPT_BOOKMARKS_TABLE:
		so->bookmarks_table = optarg;
		return -2;
	case 'h':
		fputs(usage, stdout);
		return fflush(stdout) ? EVT_EFAIL : 0;
	case EVT_OPT_VERSION:
		printf("%s (evt) %s\n", evt_prog, EVT_VERSION);
		return fflush(stdout) ? EVT_EFAIL : 0;
	case ':':
		if (optopt && optopt < 0x100)
			return evt_usage_error("option '-%c' needs a value",
					       optopt);
		return evt_usage_error("option '%s' needs a value", opt);
	case '?':
		if (optopt && optopt < 0x100)
			return evt_usage_error("unknown option '-%c'", optopt);
		if (strncmp(opt, "--", 2) == 0) {
			const char *eq = strchr(opt, '=');
			int n = eq ? (int)(eq - opt) : (int)strlen(opt);
			return evt_usage_error("unknown option '%.*s'", n, opt);
		}
		return evt_usage_error("unknown option '%s'", opt);
	}
	return -1;
}
