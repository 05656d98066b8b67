/* evt - the front: "evt append ..." runs "evt-append ..." */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

static const char usage[] =
	"usage: evt [-d URL] COMMAND [ARG...]\n"
	"       evt help COMMAND\n"
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
	"  -d, --db URL              the store, passed on to the command as -d URL\n"
	"\n"
	"'evt help COMMAND' (or 'evt COMMAND --help') shows the options of a\n"
	"command; see also evt(7).\n"
	"\n"
	"exit status: the command's; 2 when COMMAND is missing or unknown\n";

static int valid_command(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
			return 0;
	return 1;
}

/* The front's own options, before COMMAND, from argv[*i] on:
 * EVT_CLI_NEXT to go on with COMMAND at argv[*i], else the exit status to
 * leave with. */
static int front_options(int argc, char **argv, int *i, const char **db)
{
	for (; *i < argc && argv[*i][0] == '-'; ++*i) {
		const char *a = argv[*i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			evt_cli_sigpipe();
			fputs(usage, stdout);
			return evt_flush_stdout();
		}
		if (strcmp(a, "--version") == 0) {
			evt_cli_sigpipe();
			printf("evt (evt) %s\n", EVT_VERSION);
			return evt_flush_stdout();
		}
		if (strcmp(a, "-d") == 0 || strcmp(a, "--db") == 0) {
			if (++*i == argc)
				return evt_usage_error("option '%s' needs a "
						       "value", a);
			*db = argv[*i];
		} else if (strncmp(a, "--db=", 5) == 0) {
			*db = a + 5;
		} else if (strncmp(a, "-d", 2) == 0) {
			return evt_usage_error("ambiguous '%s': write '-d %s' "
					       "for a store", a, a + 2);
		} else {
			return evt_usage_error("unknown option '%s'", a);
		}
	}
	return EVT_CLI_NEXT;
}

/* Run prog (evt-VERB) with args: the one installed beside this program
 * first, then the one PATH finds.  Returns only when neither ran. */
static int run(const char *prog, char **args)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	char *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, prog);
			execv(path, args);
		}
	}
	execvp(prog, args);
	if (errno == ENOENT)
		return evt_usage_error("'%s' is not an evt command (see evt "
				       "--help)", prog + 4);
	evt_warn("cannot run '%s': %s", prog, strerror(errno));
	return EVT_EFAIL;
}

int main(int argc, char **argv)
{
	char prog[64];
	const char *db = NULL, *verb;
	char **args;
	int i = 1, k = 0, help = 0, rc;

	evt_prog = "evt";
	if ((rc = front_options(argc, argv, &i, &db)) != EVT_CLI_NEXT)
		return rc;
	if (i == argc) {
		fputs(usage, stderr);
		return EVT_EUSAGE;
	}
	verb = argv[i++];
	if (strcmp(verb, "help") == 0) {
		if (i == argc) {
			evt_cli_sigpipe();
			fputs(usage, stdout);
			return evt_flush_stdout();
		}
		if (i + 1 < argc)
			return evt_usage_error("help takes one command (see evt "
					       "--help)");
		verb = argv[i++];
		help = 1;
	}
	if (!valid_command(verb) || strlen(verb) > 40)
		return evt_usage_error("'%s' is not an evt command (see evt "
				       "--help)", verb);
	snprintf(prog, sizeof(prog), "evt-%s", verb);
	/* evt-VERB [-d URL] ARG... or evt-VERB --help */
	args = evt_xmalloc((size_t)(argc - i + 4) * sizeof(*args));
	args[k++] = prog;
	if (help) {
		args[k++] = "--help";
	} else if (db) {
		args[k++] = "-d";
		args[k++] = (char *)db;
	}
	while (!help && i < argc)
		args[k++] = argv[i++];
	args[k] = NULL;
	rc = run(prog, args);
	free(args);
	return rc;
}
