/* cli.h - what every program's main shares: options and their messages
 *
 * With msg.c, the modules of libevt that print: they format messages for
 * cmd/, and cmd/ alone decides to exit.
 */
#ifndef EVT_CLI_H
#define EVT_CLI_H

#include <getopt.h>
#include "msg.h"
#include "store.h"
#include "util.h"

enum {
	EVT_OPT_EVENTS_TABLE = 0x100,
	EVT_OPT_BOOKMARKS_TABLE,
	EVT_OPT_VERSION,
	EVT_OPT_JQ,		/* the fold options */
	EVT_OPT_JQ_FILE,
	EVT_OPT_EXEC,
	EVT_OPT_INIT,
	EVT_OPT_PERSIST,
	EVT_OPT_TIMEOUT,
	EVT_OPT_LOCAL		/* first option number free for a program */
};

#define EVT_COMMON_OPTIONS \
	{ "db", required_argument, NULL, 'd' }, \
	{ "events-table", required_argument, NULL, EVT_OPT_EVENTS_TABLE }, \
	{ "bookmarks-table", required_argument, NULL, EVT_OPT_BOOKMARKS_TABLE }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, EVT_OPT_VERSION }

/* The common options in --help: EVT_COMMON_USAGE for the programs that
 * use the bookmarks table, EVT_STORE_USAGE for the others (which accept
 * --bookmarks-table and ignore it, and say so); then each program's exit
 * statuses (EVT_EXIT_*, as in its man page). */
#define EVT_DB_USAGE \
	"  -d, --db URL              the store (default: $EVT_DB, else events.db)\n" \
	"      --events-table NAME   events table (default: events)\n"
#define EVT_DASHDASH_USAGE \
	"      --                    end of the options: the words after it are\n" \
	"                            names, even when they begin with '-'\n"
#define EVT_HELP_USAGE \
	"  -h, --help                show this help\n" \
	"      --version             show the version\n"
#define EVT_STORE_USAGE EVT_DB_USAGE \
	"      --bookmarks-table NAME  accepted, not used: reads no bookmarks\n" \
	EVT_HELP_USAGE
#define EVT_COMMON_USAGE EVT_DB_USAGE \
	"      --bookmarks-table NAME  bookmarks table (default: bookmarks)\n" \
	EVT_HELP_USAGE
#define EVT_EXIT_USAGE \
	"\nexit status:\n" \
	"  0  success\n" \
	"  1  failure of the store, the system or I/O (a write error on stdout;\n" \
	"     a closed stdout is no failure)\n" \
	"  2  usage error\n"
#define EVT_EXIT_CONFLICT "  3  version conflict\n"
#define EVT_EXIT_INPUT    "  4  invalid input\n"

/* The fold options of evt-fold and evt-command. */
#define EVT_FOLD_OPTIONS \
	{ "jq", required_argument, NULL, EVT_OPT_JQ }, \
	{ "jq-file", required_argument, NULL, EVT_OPT_JQ_FILE }, \
	{ "exec", required_argument, NULL, EVT_OPT_EXEC }, \
	{ "init", required_argument, NULL, EVT_OPT_INIT }, \
	{ "persist", required_argument, NULL, EVT_OPT_PERSIST }, \
	{ "timeout", required_argument, NULL, EVT_OPT_TIMEOUT }

struct evt_fold_opts {
	const char *jq, *jq_file, *exec, *init, *persist;
	int reducers;		/* how many of --jq, --jq-file, --exec */
	int timeout_ms;		/* --timeout; 0: not given */
};

struct evt_reducer;

/* What a number option takes, after "invalid limit '-1'". */
#define EVT_WHOLE_0 ": expected a whole number from 0 to 9223372036854775807"
#define EVT_WHOLE_1 ": expected a whole number from 1 to 9223372036854775807"
#define EVT_INT_0 ": expected a whole number from 0 to 2147483647"
#define EVT_INT_1 ": expected a whole number from 1 to 2147483647"
#define EVT_SECONDS ": expected seconds above 0 and at most 2147483, such as 2.5"

/* Take option c with its value arg into fo: 1 if it is a fold option, 0
 * if not, EVT_EUSAGE after a message for a bad value. */
int evt_cli_fold_opt(struct evt_fold_opts *fo, int c, const char *arg);
/* SECONDS ("5", "0.5", more than 0) as milliseconds; -1 if it is not. */
int evt_parse_seconds(const char *s, int *ms);
/* The note a program that keeps silent on a terminal gets (evt_warn), or
 * NULL when stderr is not a terminal. */
void (*evt_cli_note(void))(const char *msg);
/* The reducer fo names (merge when none): 0, or the exit status after a
 * message (a --jq-file that cannot be read, a jq program that does not
 * compile). */
int evt_cli_reducer(const struct evt_fold_opts *fo, struct evt_reducer **red);

/* Handle a common option or a getopt error.  Returns EVT_CLI_OTHER when c
 * is not one of them; else the exit status to leave with at once (0 after
 * --help or --version), or EVT_CLI_NEXT when it was handled. */
int evt_cli_common(int c, int argc, char **argv, struct evt_store_opts *so,
		   const char *usage);

/* The arguments of evt-handle and evt-command, whose PROGRAM [ARG...]
 * follows a "--".  A "--" after an operand starts PROGRAM.  A "--" before
 * every operand ends the options: the arguments after it are operands,
 * even those that begin with '-', up to a second "--" that starts PROGRAM
 * (where one may follow); the operands that are always there (NAME
 * STREAM) are taken first, so that even "--" is a name.  Use:
 * evt_cli_split_begin, getopt_long over the argc it returns,
 * evt_cli_split_end. */
struct evt_cli_split {
	char **args;		/* the operands */
	int nargs;
	char **program;		/* PROGRAM [ARG...], NULL-terminated; NULL
				   when none was given */
	int dd;			/* the first "--" that is no option's value,
				   or argc */
	int lead;		/* an operand comes before it */
};
/* Find the first "--" (reading options and their values as getopt_long
 * does with optstring and longopts); returns the argc for getopt_long. */
int evt_cli_split_begin(struct evt_cli_split *s, int argc, char **argv,
			const char *optstring,
			const struct option *longopts);
/* After getopt_long: the operands and PROGRAM.  fixed: how many operands
 * a PROGRAM always follows, or -1 when none may follow (every argument
 * after a leading "--" is an operand).  0, or EVT_EUSAGE after a message
 * ("--" with nothing after it). */
int evt_cli_split_end(struct evt_cli_split *s, int argc, char **argv,
		      int fixed);

/* Split "a,b,c" into stream names (the strings are copied, owned by the
 * list: free each and the list).  Returns NULL, or what is wrong with
 * *bad, the part at fault (owned by the list too). */
const char *evt_split_streams(const char *arg, char ***list, size_t *n,
			      const char **bad);
/* --stream NAME: add a copy of it, exactly, to the list; 0, or EVT_EUSAGE
 * after a message. */
int evt_cli_add_stream(char ***list, size_t *n, const char *name);
/* STREAM, a stream to append to: 0, or the exit status after a message (a
 * name that is no name is a usage error; one with ',' invalid input). */
int evt_cli_write_stream(const char *name);
/* --key KEY (evt-append, evt-command): 1 to 255 bytes; 0, or EVT_EUSAGE
 * after a message. */
int evt_cli_key(const char *arg, const char **key);
/* --type TYPE: add it to q (the list in *types is the caller's to free);
 * 0, or EVT_EUSAGE after a message. */
int evt_cli_add_type(struct evt_query *q, const char ***types,
		     const char *type);

#endif
