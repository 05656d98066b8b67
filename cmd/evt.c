/* evt - the front: "evt append ..." runs "evt-append ..." */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evt.h"

static const char usage[] =
	"usage: evt COMMAND [ARG...]\n"
	"       evt --help | --version\n"
	"\n"
	"Event sourcing from the shell.  'evt COMMAND ...' runs 'evt-COMMAND ...'.\n"
	"\n"
	"commands:\n"
	"  append    append events to an aggregate, atomically\n"
	"  read      print stored events as NDJSON\n"
	"  fold      fold an aggregate's events into its current state\n"
	"  tail      follow the store, printing new events as they commit\n"
	"  handle    run a program per event, with a durable bookmark\n"
	"  command   run a command program and append the events it decides\n"
	"\n"
	"'evt COMMAND --help' shows the options of a command; see also evt(7).\n";

static int valid_command(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 64], prog[64];
	ssize_t n;
	char *slash;

	evt_prog = "evt";
	if (argc < 2) {
		fputs(usage, stderr);
		return EVT_EUSAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		evt_cli_sigpipe();
		fputs(usage, stdout);
		return evt_flush_stdout();
	}
	if (strcmp(argv[1], "--version") == 0) {
		evt_cli_sigpipe();
		printf("evt (evt) %s\n", EVT_VERSION);
		return evt_flush_stdout();
	}
	if (argv[1][0] == '-')
		return evt_usage_error("unknown option '%s'", argv[1]);
	if (!valid_command(argv[1]) || strlen(argv[1]) > 40)
		return evt_usage_error("'%s' is not an evt command (see evt "
				       "--help)", argv[1]);
	snprintf(prog, sizeof(prog), "evt-%s", argv[1]);
	argv[1] = prog;
	/* The programs installed beside this one come first, then PATH. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, prog);
			execv(path, argv + 1);
		}
	}
	execvp(prog, argv + 1);
	if (errno == ENOENT)
		return evt_usage_error("'%s' is not an evt command (see evt "
				       "--help)", prog + 4);
	evt_warn("cannot run '%s': %s", prog, strerror(errno));
	return EVT_EFAIL;
}
