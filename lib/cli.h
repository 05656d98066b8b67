/* cli.h - what every program's main shares: options, messages, exit
 *
 * The one module of libevt that prints: it formats messages for cmd/, and
 * cmd/ alone decides to exit.
 */
#ifndef EVT_CLI_H
#define EVT_CLI_H

#include <getopt.h>
#include "store.h"
#include "util.h"

enum {
	EVT_OPT_EVENTS_TABLE = 0x100,
	EVT_OPT_BOOKMARKS_TABLE,
	EVT_OPT_VERSION,
	EVT_OPT_LOCAL		/* first option number free for a program */
};

#define EVT_COMMON_OPTIONS \
	{ "db", required_argument, NULL, 'd' }, \
	{ "events-table", required_argument, NULL, EVT_OPT_EVENTS_TABLE }, \
	{ "bookmarks-table", required_argument, NULL, EVT_OPT_BOOKMARKS_TABLE }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, EVT_OPT_VERSION }

#define EVT_COMMON_USAGE \
	"  -d, --db URL              the store (default: $EVT_DB, else events.db)\n" \
	"      --events-table NAME   events table (default: events)\n" \
	"      --bookmarks-table NAME  bookmarks table (default: bookmarks)\n" \
	"  -h, --help                show this help\n" \
	"      --version             show the version\n"

extern const char *evt_prog;

/* Handle a common option or a getopt error.  Returns -1 when c is not one
 * of them; else the exit status to leave with at once (0 after --help or
 * --version), or -2 when it was handled and parsing goes on. */
int evt_cli_common(int c, int argc, char **argv, struct evt_store_opts *so,
		   const char *usage);

/* fflush(stdout), and "write error: ..." with EVT_EFAIL if it failed. */
int evt_flush_stdout(void);
/* Split "a,b,c" into stream names (the strings are copied, owned by the
 * list: free each and the list).  Returns NULL, or what is wrong with
 * *bad, the part at fault (owned by the list too). */
const char *evt_split_streams(const char *arg, char ***list, size_t *n,
			      const char **bad);
/* --type TYPE: add it to q (the list in *types is the caller's to free);
 * 0, or EVT_EUSAGE after a message. */
int evt_cli_add_type(struct evt_query *q, const char ***types,
		     const char *type);
/* "PROG: message" on stderr. */
void evt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print e->msg and return e->code. */
int evt_fail(const struct evt_err *e);
/* A usage error: print and return EVT_EUSAGE. */
int evt_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
